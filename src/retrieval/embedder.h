// Text -> dense vector, for the dense index. The knowledge base adds the configured query /
// passage prefixes before calling embed(); implementations see plain texts.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace deepfuse::retrieval {

class Embedder {
 public:
  virtual ~Embedder() = default;
  virtual int dim() const = 0;
  // L2-normalised embeddings of `texts`, row-major: size texts.size() * dim().
  virtual std::vector<float> embed(const std::vector<std::string>& texts) = 0;
  // How to recreate this embedder (stored in the knowledge base's config).
  virtual std::string spec() const = 0;
};

// Deterministic feature-hashing embedder ("hash:DIM"): each standard-analyzer term adds +-1 to
// one of DIM buckets (FNV-1a hash; the sign from another bit), then L2 normalisation. Texts that
// share terms get similar vectors, so it is a real (if weak) lexical dense model: used by tests,
// benchmarks and as a model-free fallback.
class HashEmbedder : public Embedder {
 public:
  explicit HashEmbedder(int dim);
  int dim() const override { return dim_; }
  std::vector<float> embed(const std::vector<std::string>& texts) override;
  std::string spec() const override { return "hash:" + std::to_string(dim_); }

 private:
  int dim_;
};

// "hash:DIM" or an encoder model folder (through the models module). InvalidArgument for a
// malformed spec, NotFound for a missing folder.
std::shared_ptr<Embedder> make_embedder(const std::string& spec);

}  // namespace deepfuse::retrieval
