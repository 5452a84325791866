// The interface every causal language model family implements (models/<family>.cpp).
// engine/ (generation, continuous batching) talks only to this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "models/forward.h"

namespace deepfuse {

// Facts about a loaded model that the engine and CLI need, independent of family.
struct ModelInfo {
  std::string architecture;    // config.json "architectures"[0], e.g. "LlamaForCausalLM"
  std::string model_type;      // config.json "model_type"
  int64_t vocab_size = 0;      // rows of the logits
  int64_t max_positions = 0;   // max_position_embeddings
  int64_t num_parameters = 0;  // tied embeddings counted once
  DType weight_dtype = DType::F32;
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const ModelInfo& info() const = 0;
  // Per-layer KV cache layout; the engine sizes a KVCache from it.
  virtual std::vector<KVLayerSpec> kv_layout() const = 0;
  // Runs one step. Writes the new tokens' KV into `cache` at the slots given by each
  // sequence's block table and returns f32 logits [batch.logit_rows.size(), vocab_size].
  virtual Tensor forward(const ForwardBatch& batch, KVCache& cache) = 0;
};

}  // namespace deepfuse
