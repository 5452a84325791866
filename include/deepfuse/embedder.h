// Text -> dense vector, for the knowledge base's dense index (deepfuse/knowledge_base.h).
// Implement Embedder to plug in any model; the knowledge base adds the configured query /
// passage prefixes before calling embed(), so implementations see plain texts.
//
//   struct MyEmbedder : deepfuse::Embedder {
//     int dim() const override { return 384; }
//     std::vector<float> embed(const std::vector<std::string>& texts) override;  // n * 384
//     std::string spec() const override { return "my-embedder-v1"; }
//   };
//   auto kb = deepfuse::KnowledgeBase::open("kb_dir", {}, std::make_shared<MyEmbedder>());
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace deepfuse {

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual int dim() const = 0;
  // L2-normalised embeddings of `texts`, row-major: size texts.size() * dim().
  virtual std::vector<float> embed(const std::vector<std::string>& texts) = 0;
  // How to recreate this embedder (stored in the knowledge base's config).
  virtual std::string spec() const = 0;
};

// The built-in embedders by spec: "hash:DIM" (deterministic feature hashing of analyzed terms,
// model-free) or the path of an encoder model folder (pooled as its modules.json says).
// InvalidArgument for a malformed spec, NotFound for a missing folder.
std::shared_ptr<Embedder> make_embedder(const std::string& spec);

namespace retrieval {
using ::deepfuse::Embedder;  // the name knowledge_base.h and retrieval/ have always used
}

}  // namespace deepfuse
