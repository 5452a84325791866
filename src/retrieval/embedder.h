// Embedders the knowledge base builds itself. The interface and the spec factory are public
// (include/deepfuse/embedder.h); retrieval/ code names them through these aliases.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepfuse/embedder.h"

namespace deepfuse::retrieval {

using ::deepfuse::Embedder;
using ::deepfuse::make_embedder;

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

}  // namespace deepfuse::retrieval
