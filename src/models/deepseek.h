// DeepseekV2ForCausalLM / DeepseekV3ForCausalLM (DeepSeek-V2, V2-Lite, V2.5, V3, R1), with the
// numbers transformers 5.17 computes: MLA over a latent KV cache (models/deepseek_mla.h),
// DeepSeekMoE (models/deepseek_moe.h), YaRN RoPE, FP8 block-quantised checkpoints
// (formats/fp8_block.h, dequantised once at load), MTP layers skipped.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "formats/deepseek_config.h"
#include "formats/model_folder.h"
#include "formats/weight_store.h"
#include "models/causal_lm.h"
#include "models/deepseek_mla.h"
#include "models/deepseek_moe.h"
#include "models/registry.h"

namespace deepfuse {

class DeepseekForCausalLM : public CausalLM {
 public:
  // FormatError naming the tensor (and its expected shape) when the checkpoint does not match
  // the config. FP8 weights become f32 when options.dtype is F32, else bf16.
  DeepseekForCausalLM(const HFConfig& hf, const WeightStore& weights, const LoadOptions& options);
  // Convenience: open a model folder.
  static std::unique_ptr<DeepseekForCausalLM> load(const std::string& dir,
                                                   const LoadOptions& options = {});

  const ModelInfo& info() const override { return info_; }
  std::vector<KVLayerSpec> kv_layout() const override;
  // Auto picks the cheaper MLA form per sequence and step. Statistics (MLA forms chosen,
  // per-expert picks, per-layer seconds) go to `stats` (ForwardStats, caller-owned).
  Tensor forward(const ForwardBatch& batch, KVCache& cache,
                 ForwardStats* stats = nullptr) const override;
  // Same with the MLA form forced (tests run both against HF; benchmarks compare them).
  Tensor forward(const ForwardBatch& batch, KVCache& cache, ForwardStats* stats,
                 MlaMode mode) const;

  const DeepseekConfig& config() const { return cfg_; }

 private:
  struct Layer {
    Tensor input_layernorm, post_attention_layernorm;
    MlaWeights attn;
    bool moe = false;
    MlpWeights mlp;
    MoeWeights experts;
  };
  DeepseekConfig cfg_;
  ModelInfo info_;
  DType kv_dtype_ = DType::F32;
  DeepseekRope rope_;
  Tensor embed_, norm_, lm_head_;
  std::vector<Layer> layers_;
};

// Tensors a checkpoint of this config holds (FP8 scale tensors listed as optional; MTP layers
// are not expected and are ignored when present).
std::vector<TensorSpec> deepseek_expected_tensors(const HFConfig& hf);
// Latent KV layout: num_hidden_layers x {kv_lora_rank + qk_rope_head_dim, dtype}.
std::vector<KVLayerSpec> deepseek_kv_layout(const HFConfig& hf, DType dtype);
// Lines `deepfuse inspect` prints for a DeepSeek folder (MTP layers skipped, FP8, KV layout);
// `weights` (may be null) lets it count the skipped MTP tensors.
std::vector<std::string> deepseek_inspect_notes(const HFConfig& hf, const WeightStore* weights);

void register_deepseek_models(ModelRegistry& r);

}  // namespace deepfuse
