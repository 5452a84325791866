// The interface every causal language model family implements (models/<family>.cpp).
// engine/ (generation, continuous batching) talks only to this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "deepfuse/model_info.h"  // ModelInfo
#include "models/forward.h"

namespace deepfuse {

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
