#include "models/deepseek_mla.h"

#include "layers/rope.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/vec_kernels.h"
#include "ops/profiler.h"

namespace deepfuse {

namespace {

// RMSNorm eps of q_a_layernorm / kv_a_layernorm: transformers builds them with the class
// default (1e-6), not config.rms_norm_eps.
constexpr float kLatentNormEps = 1e-6f;

Tensor linear_opt_bias(const Tensor& x, const Tensor& w, const Tensor& bias) {
  return ops::linear(x, w, bias.defined() ? &bias : nullptr);
}

// Splits heads into chunks so a single decode token still spreads over the pool's threads;
// each chunk reads the sequence's latents once for all of its heads.
int64_t head_chunk(int64_t heads, int64_t tasks_without_split) {
  const int64_t threads = ThreadPool::current().num_threads();
  if (tasks_without_split >= threads) return heads;
  const int64_t want = std::max<int64_t>(1, threads / std::max<int64_t>(1, tasks_without_split));
  return std::max<int64_t>(1, (heads + want - 1) / want);
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
                 const ops::RopeAngles& angles, const ForwardBatch& batch, KVCache& cache,
                 int32_t layer, MlaMode mode, Tensor& out, MlaStepStats* stats) {
  const int64_t n = x.dim(0);
  const int64_t H = cfg.num_heads, dn = cfg.qk_nope_head_dim, dr = cfg.qk_rope_head_dim;
  const int64_t dv = cfg.v_head_dim, r = cfg.kv_lora_rank, qk = dn + dr, width = r + dr;
  const bool interleaved = !cfg.is_v3 || cfg.rope_interleave;
  const float scale = static_cast<float>(cfg.softmax_scale());
  const cpu::VecKernels& vk = cpu::vec_kernels(best_isa());

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

  // ---- latent cache write: [c (r), k_pe (dr)] per token ----------------------------------
  const KVLayerSpec& spec = cache.spec(layer);
  {
    DF_PROFILE_OP("mla_cache_write");
    std::vector<float> row(static_cast<size_t>(width));
    for (const SequenceSlice& s : batch.seqs) {
      for (int32_t j = 0; j < s.num_tokens; ++j) {
        const int64_t t = s.token_begin + j;
        std::memcpy(row.data(), lat.data<float>() + t * r, static_cast<size_t>(r) * sizeof(float));
        std::memcpy(row.data() + r, kpe.data<float>() + t * dr,
                    static_cast<size_t>(dr) * sizeof(float));
        convert(row.data(), DType::F32, cache.slot(layer, s.block_table, s.context_len + j),
                spec.dtype, static_cast<size_t>(width));
      }
    }
  }

  Tensor attn = Tensor::empty(DType::F32, Shape{n, H * dv});  // [n, H * dv]
  const Tensor& pool = cache.pool(layer);

  for (const SequenceSlice& s : batch.seqs) {
    if (s.num_tokens == 0) continue;
    const int64_t m = s.num_tokens;
    const int64_t L = s.context_len + m;  // keys this sequence attends over (at most)
    // Multiply-adds of each form (attention core + the kv_b_proj work it needs).
    const double expanded_cost =
        static_cast<double>(L) * H * (dn + dv) * r + static_cast<double>(m) * L * H * (qk + dv);
    const double absorbed_cost =
        static_cast<double>(m) * H * (dn + dv) * r + static_cast<double>(m) * L * H * (width + r);
    const bool absorbed =
        mode == MlaMode::Absorbed || (mode == MlaMode::Auto && absorbed_cost <= expanded_cost);
    if (stats) ++(absorbed ? stats->absorbed_seqs : stats->expanded_seqs);

    if (absorbed) {
      DF_PROFILE_OP("mla_attention_absorbed");
      // q_abs [m, H, r + dr] = [W_UK^T q_nope, q_pe]: queries in the latent space.
      Tensor q_abs = Tensor::empty(DType::F32, Shape{m, H, width});
      Tensor o_lat = Tensor::empty(DType::F32, Shape{m, H, r});
      ThreadPool::current().parallel_for(m * H, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t j = i / H, h = i % H;
          const float* qh = q.data<float>() + ((s.token_begin + j) * H + h) * qk;
          float* dst = q_abs.data<float>() + (j * H + h) * width;
          std::fill(dst, dst + r, 0.f);
          const float* uk = w.w_uk.data<float>() + h * dn * r;
          for (int64_t d = 0; d < dn; ++d) {
            const float a = qh[d];
            const float* row = uk + d * r;
            for (int64_t c = 0; c < r; ++c) dst[c] += a * row[c];
          }
          std::memcpy(dst + r, qh + dn, static_cast<size_t>(dr) * sizeof(float));
        }
      });
      const int64_t chunk = head_chunk(H, m);
      const int64_t chunks = (H + chunk - 1) / chunk;
      cpu::PagedKV kv;
      kv.base = static_cast<const char*>(pool.raw());
      kv.token_bytes = width * static_cast<int64_t>(dtype_size(spec.dtype));
      kv.block_size = cache.block_size();
      kv.block_table = s.block_table.data();
      kv.dtype = spec.dtype;
      kv.k_offset = 0;  // key = the whole slot [c, k_pe]
      kv.v_offset = 0;  // value = c
      ThreadPool::current().parallel_for(m * chunks, 1, [&](int64_t b, int64_t e) {
        std::vector<float> scratch;
        for (int64_t i = b; i < e; ++i) {
          const int64_t j = i / chunks, h0 = (i % chunks) * chunk;
          const int64_t g = std::min(chunk, H - h0);
          const int32_t key_end = s.context_len + static_cast<int32_t>(j) + 1;
          scratch.resize(static_cast<size_t>(g * key_end + width + r));
          cpu::AttendArgs a;
          a.q = q_abs.data<float>() + (j * H + h0) * width;
          a.q_stride = width;
          a.group = static_cast<int32_t>(g);
          a.head_dim = width;
          a.v_head_dim = r;
          a.key_begin = 0;
          a.key_end = key_end;
          a.scale = scale;
          a.out = o_lat.data<float>() + (j * H + h0) * r;
          a.out_stride = r;
          a.scratch = scratch.data();
          vk.attend(a, kv);
        }
      });
      // out[t, h, :] = W_UV[h] o_lat[t, h, :]
      ThreadPool::current().parallel_for(m * H, 1, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
          const int64_t j = i / H, h = i % H;
          const float* ol = o_lat.data<float>() + (j * H + h) * r;
          const float* uv = w.w_uv.data<float>() + h * dv * r;
          float* dst = attn.data<float>() + (s.token_begin + j) * H * dv + h * dv;
          for (int64_t d = 0; d < dv; ++d) dst[d] = vk.dot(uv + d * r, ol, r);
        }
      });
    } else {
      DF_PROFILE_OP("mla_attention_expanded");
      // Gather the sequence's latents, expand them with kv_b_proj (what transformers does).
      Tensor clat = Tensor::empty(DType::F32, Shape{L, r});   // [L, r]
      Tensor ckpe = Tensor::empty(DType::F32, Shape{L, dr});  // [L, dr]
      std::vector<float> row(static_cast<size_t>(width));
      for (int64_t p = 0; p < L; ++p) {
        convert(cache.slot(layer, s.block_table, static_cast<int32_t>(p)), spec.dtype, row.data(),
                DType::F32, static_cast<size_t>(width));
        std::memcpy(clat.data<float>() + p * r, row.data(), static_cast<size_t>(r) * sizeof(float));
        std::memcpy(ckpe.data<float>() + p * dr, row.data() + r,
                    static_cast<size_t>(dr) * sizeof(float));
      }
      Tensor kvx = ops::linear(clat, w.kv_b_proj);  // [L, H * (dn + dv)]
      // Per token: K of all heads [H, qk] then V of all heads [H, dv], one "block" of L tokens.
      const int64_t tok = H * qk + H * dv;
      Tensor kvbuf = Tensor::empty(DType::F32, Shape{L, tok});
      ThreadPool::current().parallel_for(L, 16, [&](int64_t b, int64_t e) {
        for (int64_t p = b; p < e; ++p) {
          const float* src = kvx.data<float>() + p * H * (dn + dv);
          float* dst = kvbuf.data<float>() + p * tok;
          for (int64_t h = 0; h < H; ++h) {
            std::memcpy(dst + h * qk, src + h * (dn + dv), static_cast<size_t>(dn) * sizeof(float));
            std::memcpy(dst + h * qk + dn, ckpe.data<float>() + p * dr,
                        static_cast<size_t>(dr) * sizeof(float));
            std::memcpy(dst + H * qk + h * dv, src + h * (dn + dv) + dn,
                        static_cast<size_t>(dv) * sizeof(float));
          }
        }
      });
      const int32_t one_block[1] = {0};
      ThreadPool::current().parallel_for(m * H, 1, [&](int64_t b, int64_t e) {
        std::vector<float> scratch;
        for (int64_t i = b; i < e; ++i) {
          const int64_t j = i / H, h = i % H;
          const int32_t key_end = s.context_len + static_cast<int32_t>(j) + 1;
          scratch.resize(static_cast<size_t>(key_end + qk + dv));
          cpu::PagedKV kv;
          kv.base = static_cast<const char*>(kvbuf.raw());
          kv.token_bytes = tok * 4;
          kv.block_size = static_cast<int32_t>(L);
          kv.block_table = one_block;
          kv.dtype = DType::F32;
          kv.k_offset = h * qk;
          kv.v_offset = H * qk + h * dv;
          cpu::AttendArgs a;
          a.q = q.data<float>() + ((s.token_begin + j) * H + h) * qk;
          a.q_stride = qk;
          a.group = 1;
          a.head_dim = qk;
          a.v_head_dim = dv;
          a.key_begin = 0;
          a.key_end = key_end;
          a.scale = scale;
          a.out = attn.data<float>() + (s.token_begin + j) * H * dv + h * dv;
          a.out_stride = dv;
          a.scratch = scratch.data();
          vk.attend(a, kv);
        }
      });
    }
  }
  out = linear_opt_bias(attn, w.o_proj, w.o_bias);  // [n, hidden]
}

}  // namespace deepfuse
