// The interface every causal language model family implements (models/<family>.cpp).
// engine/ (generation, continuous batching) talks only to this.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "core/forward_batch.h"
#include "core/kv_cache.h"
#include "deepfuse/model_info.h"  // ModelInfo

namespace deepfuse {

// Per-step statistics a forward reports into a caller-owned struct (models keep no per-call
// state, so one model object serves several threads). Values accumulate: pass the same struct
// to many steps to sum them; fields a family does not produce stay untouched.
struct ForwardStats {
  // MLA (DeepSeek): sequences attended in the absorbed / expanded form.
  int64_t mla_absorbed_seqs = 0;
  int64_t mla_expanded_seqs = 0;
  // MoE: [layer][expert] (token, expert) picks; the model sizes it on first use (empty rows
  // for dense layers). Each MoE layer's row grows by tokens x experts_per_token per step.
  std::vector<std::vector<int64_t>> expert_counts;
  // Seconds in each decoder layer's attention and MLP/MoE, summed over steps (filled only
  // when `time_layers`: the clock reads cost a little per layer).
  bool time_layers = false;
  std::vector<double> attention_seconds;
  std::vector<double> mlp_seconds;
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const ModelInfo& info() const = 0;
  // Per-layer KV cache layout; the engine sizes a KVCache from it.
  virtual std::vector<KVLayerSpec> kv_layout() const = 0;
  // Runs one step. Writes the new tokens' KV into `cache` at the slots given by each
  // sequence's block table and returns f32 logits [batch.logit_rows.size(), vocab_size].
  // const: writes no member, so two threads may run steps on one model with their own caches.
  // `stats` (may be null) receives this step's statistics.
  virtual Tensor forward(const ForwardBatch& batch, KVCache& cache,
                         ForwardStats* stats = nullptr) const = 0;
};

}  // namespace deepfuse
