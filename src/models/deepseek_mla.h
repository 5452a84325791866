// Multi-head latent attention (DeepSeek-V2/V3) over a latent paged KV cache.
//
// Per token the cache keeps only c = kv_a_layernorm(kv_a_proj_with_mqa(x)[:kv_lora_rank])
// and the rotated shared rope key k_pe: width kv_lora_rank + qk_rope_head_dim (576 for
// V2-Lite/V3) instead of 2 x heads x head_dim.
//
// Two exact-in-real-arithmetic ways to attend (transformers runs the first):
// - expanded: k_nope, v = kv_b_proj(c) for every cached token, then ordinary attention;
// - absorbed: kv_b_proj = [W_UK; W_UV] per head is folded into the query and output sides at
//   load time: q_lat = W_UK^T q_nope (a kv_lora_rank-dim query), scores = q_lat·c + q_pe·k_pe,
//   o_lat = sum p c, out = W_UV o_lat. Nothing per cached token is expanded.
// The absorbed form costs O(new tokens x heads x (dn+dv) x rank) extra instead of
// O(context x heads x (dn+dv) x rank), so decode always uses it; a step picks the cheaper of
// the two from the shapes (MlaMode::Auto) unless forced (tests run both against HF).
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "formats/deepseek_config.h"
#include "models/causal_lm.h"  // ForwardStats
#include "core/forward_batch.h"
#include "core/kv_cache.h"
#include "ops/ops.h"

namespace deepfuse {

enum class MlaMode { Auto, Expanded, Absorbed };

struct MlaWeights {
  Tensor q_proj;                       // [H * qk_head_dim, hidden] when q_lora_rank == 0
  Tensor q_a_proj;                     // [q_lora_rank, hidden]
  Tensor q_a_layernorm;                // [q_lora_rank]
  Tensor q_b_proj;                     // [H * qk_head_dim, q_lora_rank]
  Tensor kv_a_proj_with_mqa;           // [kv_lora_rank + rope, hidden]
  Tensor kv_a_layernorm;               // [kv_lora_rank]
  Tensor kv_b_proj;                    // [H * (nope + v), kv_lora_rank]
  Tensor o_proj;                       // [hidden, H * v]
  Tensor q_a_bias, kv_a_bias, o_bias;  // attention_bias only (undefined otherwise)
  // Absorbed forms of kv_b_proj, built at load (f32).
  Tensor w_uk;  // [H, nope, kv_lora_rank]
  Tensor w_uv;  // [H, v, kv_lora_rank]
};

// Splits kv_b_proj into the per-head W_UK / W_UV the absorbed path uses.
void mla_build_absorbed(const DeepseekConfig& cfg, MlaWeights& w);

// out [n_tokens, hidden] = MLA(x [n_tokens, hidden]) for layer `layer`; writes the new tokens'
// latents into `cache` first (ops::mla_cache_write), then attends per sequence through
// ops::mla_attention_absorbed / _expanded. `angles` are the step's rope angles
// (ops::rope_angles); `stats` (may be null) counts the form chosen per sequence.
void mla_forward(const DeepseekConfig& cfg, const MlaWeights& w, const Tensor& x,
                 const ops::RopeAngles& angles, const BlockTables& tables, KVCache& cache,
                 int32_t layer, MlaMode mode, Tensor& out, ForwardStats* stats = nullptr);

// Inverse frequencies over qk_rope_head_dim and the cos/sin scale (layers/rope.h computes them,
// as transformers' rope init functions do: YaRN for V2/V3 checkpoints), plus the pair layout.
struct DeepseekRope {
  std::vector<float> inv_freq;
  float attention_scaling = 1.f;
  bool interleaved = true;  // pairs (2i, 2i+1); false: rotate_half pairs (i, i + d/2)
};
DeepseekRope deepseek_rope(const DeepseekConfig& cfg);

}  // namespace deepfuse
