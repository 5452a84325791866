// config.json of DeepseekV2ForCausalLM / DeepseekV3ForCausalLM folders -> DeepseekConfig.
//
// One struct covers V2, V2-Lite, V2.5, V3 and R1: the families differ only in switches
// (q_lora_rank null or set, softmax or sigmoid gates, greedy / group_limited_greedy / noaux_tc
// expert choice, FP8 block-quantised weights). Both config dialects load (Hub `rope_scaling` +
// `torch_dtype`, transformers 5 `rope_parameters` + `dtype`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "formats/hf_config.h"

namespace deepfuse {

// quantization_config of FP8 checkpoints (DeepSeek-V3/R1): e4m3 weights, one f32
// `weight_scale_inv` per weight_block_size block.
struct Fp8QuantConfig {
  bool enabled = false;
  int64_t block_rows = 128;
  int64_t block_cols = 128;
};

struct DeepseekConfig {
  bool is_v3 = false;  // DeepseekV3ForCausalLM (sigmoid + noaux_tc router as transformers runs it)
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;      // dense MLP layers
  int64_t moe_intermediate_size = 0;  // each routed expert; shared = this x n_shared_experts
  int64_t num_layers = 0;             // num_hidden_layers (MTP layers come after these)
  int64_t num_heads = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  std::string hidden_act = "silu";
  bool tie_word_embeddings = false;
  bool attention_bias = false;

  // Multi-head latent attention.
  int64_t q_lora_rank = 0;  // 0: q_proj directly (V2-Lite); else q_a_proj -> norm -> q_b_proj
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  // Values per token per layer in the latent KV cache (576 for V2-Lite / V3).
  int64_t kv_cache_width() const { return kv_lora_rank + qk_rope_head_dim; }

  // DeepSeekMoE.
  int64_t n_routed_experts = 0;  // 0: every layer is dense
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  std::string scoring_func = "softmax";  // softmax | sigmoid
  std::string topk_method = "greedy";    // greedy | group_limited_greedy | noaux_tc
  int64_t n_group = 1;
  int64_t topk_group = 1;
  bool norm_topk_prob = false;
  double routed_scaling_factor = 1.0;

  RopeParams rope;
  bool rope_interleave = true;  // V3 flag; the pair layout is the same math either way
  Fp8QuantConfig fp8;
  int64_t num_nextn_predict_layers = 0;  // MTP layers stored after the decoder layers (skipped)

  // True when decoder layer `i` uses DeepSeekMoE rather than a dense MLP.
  bool is_moe_layer(int64_t i) const;
  // Softmax scale of MLA: qk_head_dim^-0.5, times mscale(factor, mscale_all_dim)^2 under YaRN.
  double softmax_scale() const;
  // Lines for `deepfuse inspect` (MTP layers skipped, FP8 handling, KV layout).
  std::vector<std::string> notes() const;
};

// FormatError naming the field for missing / inconsistent values; Unsupported for switches
// transformers does not run either (e.g. an unknown topk_method).
DeepseekConfig parse_deepseek_config(const HFConfig& cfg);

// YaRN attention magnitude correction as DeepSeek defines it: 0.1 * mscale * ln(scale) + 1
// for scale > 1, else 1.
double deepseek_yarn_mscale(double scale, double mscale);

}  // namespace deepfuse
