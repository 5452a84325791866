#include "models/deepseek_mla.h"

#include "layers/rope.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "ops/profiler.h"

namespace deepfuse {

namespace {

// RMSNorm eps of q_a_layernorm / kv_a_layernorm: transformers builds them with the class
// default (1e-6), not config.rms_norm_eps.
constexpr float kLatentNormEps = 1e-6f;

Tensor linear_opt_bias(const Tensor& x, const Tensor& w, const Tensor& bias) {
  return ops::linear(x, w, bias.defined() ? &bias : nullptr);
}

}  // namespace

DeepseekRope deepseek_rope(const DeepseekConfig& cfg) {
  DeepseekRope r;
  r.interleaved = !cfg.is_v3 || cfg.rope_interleave;
  RopeFrequencies f = rope_frequencies(rope_config_from_params(
      cfg.rope, cfg.qk_rope_head_dim, cfg.max_position_embeddings, "DeepSeek config.json"));
  r.inv_freq = std::move(f.inv_freq);
  r.attention_scaling = f.attention_scaling;
  return r;
}

void mla_build_absorbed(const DeepseekConfig& cfg, MlaWeights& w) {
  const int64_t H = cfg.num_heads, dn = cfg.qk_nope_head_dim, dv = cfg.v_head_dim;
  const int64_t r = cfg.kv_lora_rank;
  // kv_b_proj rows of head h: [h*(dn+dv), h*(dn+dv)+dn) -> k_nope, then dv rows -> v.
  const std::vector<float> kvb = w.kv_b_proj.to_f32_vector();
  w.w_uk = Tensor::empty(DType::F32, Shape{H, dn, r});
  w.w_uv = Tensor::empty(DType::F32, Shape{H, dv, r});
  float* uk = w.w_uk.data<float>();
  float* uv = w.w_uv.data<float>();
  for (int64_t h = 0; h < H; ++h) {
    const float* head = kvb.data() + h * (dn + dv) * r;
    std::memcpy(uk + h * dn * r, head, static_cast<size_t>(dn * r) * sizeof(float));
    std::memcpy(uv + h * dv * r, head + dn * r, static_cast<size_t>(dv * r) * sizeof(float));
  }
}

void mla_forward(const DeepseekConfig& cfg, const MlaWeights& w, const Tensor& x,
                 const ops::RopeAngles& angles, const BlockTables& tables, KVCache& cache,
                 int32_t layer, MlaMode mode, Tensor& out, ForwardStats* stats) {
  const int64_t n = x.dim(0);
  const int64_t H = cfg.num_heads, dn = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim;
  const int64_t dv = cfg.v_head_dim, r = cfg.kv_lora_rank, qk = dn + dr, width = r + dr;
  const bool interleaved = !cfg.is_v3 || cfg.rope_interleave;

  // ---- projections --------------------------------------------------------------------
  Tensor q;
  if (cfg.q_lora_rank > 0) {
    Tensor qa = linear_opt_bias(x, w.q_a_proj, w.q_a_bias);  // [n, q_lora_rank]
    ops::rms_norm(qa, w.q_a_layernorm, kLatentNormEps, qa);
    q = ops::linear(qa, w.q_b_proj);  // [n, H * qk]
  } else {
    q = ops::linear(x, w.q_proj);  // [n, H * qk]
  }
  q = q.reshape({n, H, qk});
  ops::rope_inplace(q, angles, interleaved, dn);  // rope part of every head

  Tensor kva = linear_opt_bias(x, w.kv_a_proj_with_mqa, w.kv_a_bias);  // [n, r + dr]
  Tensor lat = Tensor::empty(DType::F32, Shape{n, r});                 // [n, r]
  Tensor kpe = Tensor::empty(DType::F32, Shape{n, 1, dr});             // [n, 1, dr]
  for (int64_t t = 0; t < n; ++t) {
    const float* src = kva.data<float>() + t * width;
    std::memcpy(lat.data<float>() + t * r, src, static_cast<size_t>(r) * sizeof(float));
    std::memcpy(kpe.data<float>() + t * dr, src + r, static_cast<size_t>(dr) * sizeof(float));
  }
  ops::rms_norm(lat, w.kv_a_layernorm, kLatentNormEps, lat);
  ops::rope_inplace(kpe, angles, interleaved, 0);
  ops::mla_cache_write(lat, kpe, tables, cache, layer);  // [c (r), k_pe (dr)] per token

  // ---- attention: each sequence in the cheaper form (or the forced one) ------------------
  std::vector<int32_t> absorbed, expanded;
  for (int32_t s = 0; s < tables.n_seqs; ++s) {
    const int64_t m = tables.num_tokens[static_cast<size_t>(s)];
    if (m == 0) continue;
    const int64_t L = tables.context_len[static_cast<size_t>(s)] + m;  // keys attended (at most)
    // Multiply-adds of each form (attention core + the kv_b_proj work it needs).
    const double expanded_cost =
        static_cast<double>(L) * H * (dn + dv) * r + static_cast<double>(m) * L * H * (qk + dv);
    const double absorbed_cost =
        static_cast<double>(m) * H * (dn + dv) * r + static_cast<double>(m) * L * H * (width + r);
    const bool use_absorbed =
        mode == MlaMode::Absorbed || (mode == MlaMode::Auto && absorbed_cost <= expanded_cost);
    (use_absorbed ? absorbed : expanded).push_back(s);
  }
  if (stats) {
    stats->mla_absorbed_seqs += static_cast<int64_t>(absorbed.size());
    stats->mla_expanded_seqs += static_cast<int64_t>(expanded.size());
  }
  ops::MlaParams p;
  p.kv_lora_rank = r;
  p.qk_nope_head_dim = dn;
  p.qk_rope_head_dim = dr;
  p.v_head_dim = dv;
  p.scale = static_cast<float>(cfg.softmax_scale());
  Tensor attn = Tensor::empty(DType::F32, Shape{n, H * dv});  // [n, H * dv]
  if (!absorbed.empty())
    ops::mla_attention_absorbed(q, w.w_uk, w.w_uv, tables, absorbed, cache, layer, p, attn);
  if (!expanded.empty())
    ops::mla_attention_expanded(q, w.kv_b_proj, tables, expanded, cache, layer, p, attn);
  out = linear_opt_bias(attn, w.o_proj, w.o_bias);  // [n, hidden]
}

}  // namespace deepfuse
