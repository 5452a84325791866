// Multi-head latent attention (DeepSeek-V2/V3) front-ends over the latent paged KV cache, and
// their CPU drivers (kernels/cpu attend on the latent rows). Shapes in ops/ops.h.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

namespace {

// Splits heads into chunks so a single decode token still spreads over the pool's threads;
// each chunk reads the sequence's latents once for all of its heads.
int64_t head_chunk(int64_t heads, int64_t tasks_without_split) {
  const int64_t threads = ThreadPool::current().num_threads();
  if (tasks_without_split >= threads) return heads;
  const int64_t want = std::max<int64_t>(1, threads / std::max<int64_t>(1, tasks_without_split));
  return std::max<int64_t>(1, (heads + want - 1) / want);
}

char* latent_slot(const KVCache& cache, int32_t layer, const int32_t* row, int64_t pos) {
  const KVLayerSpec& sp = cache.spec(layer);
  const int64_t bs = cache.block_size();
  const int64_t index = static_cast<int64_t>(row[pos / bs]) * bs + pos % bs;
  return static_cast<char*>(cache.pool(layer).raw()) +
         index * sp.width * static_cast<int64_t>(dtype_size(sp.dtype));
}

void validate_mla(const char* op, const Tensor& q, const BlockTables& t,
                  const std::vector<int32_t>& seqs, const KVCache& cache, int32_t layer,
                  const MlaParams& p, const Tensor& out) {
  require_f32(op, "q", q);
  require_f32(op, "out", out);
  DF_CHECK(p.kv_lora_rank > 0 && p.qk_nope_head_dim > 0 && p.qk_rope_head_dim > 0 &&
               p.v_head_dim > 0 && p.scale > 0.f,
           InvalidArgument, op << ": MLA dimensions and scale must be > 0");
  const int64_t qk = p.qk_nope_head_dim + p.qk_rope_head_dim;
  DF_CHECK(q.ndim() == 3 && q.dim(2) == qk, InvalidArgument,
           op << ": 'q' must be [n_tokens, n_heads, " << qk << "], got " << q.shape().str());
  const int64_t n = q.dim(0), H = q.dim(1);
  require_shape(op, "out", out, {n, H * p.v_head_dim});
  DF_CHECK(layer >= 0 && layer < cache.num_layers(), InvalidArgument,
           op << ": layer " << layer << " is outside the cache's " << cache.num_layers()
              << " layers");
  const KVLayerSpec& sp = cache.spec(layer);
  DF_CHECK(sp.width == p.kv_lora_rank + p.qk_rope_head_dim, InvalidArgument,
           op << ": KV cache layer " << layer << " stores " << sp.width
              << " values per token, MLA needs kv_lora_rank + qk_rope_head_dim = "
              << p.kv_lora_rank + p.qk_rope_head_dim);
  DF_CHECK(sp.dtype == DType::F32 || sp.dtype == DType::BF16 || sp.dtype == DType::F16,
           Unsupported, op << ": KV cache dtype " << dtype_name(sp.dtype));
  for (int32_t s : seqs) {
    DF_CHECK(s >= 0 && s < t.n_seqs, InvalidArgument,
             op << ": sequence index " << s << " outside the step's " << t.n_seqs);
    const int32_t b = t.token_begin[static_cast<size_t>(s)];
    const int32_t m = t.num_tokens[static_cast<size_t>(s)];
    const int64_t total = static_cast<int64_t>(t.context_len[static_cast<size_t>(s)]) + m;
    DF_CHECK(b >= 0 && m >= 0 && b + m <= n, InvalidArgument,
             op << ": sequence " << s << " tokens [" << b << ", " << b + m
                << ") outside the batch of " << n);
    const int64_t need = (total + cache.block_size() - 1) / cache.block_size();
    DF_CHECK(need <= t.max_blocks, InvalidArgument,
             op << ": sequence " << s << " needs " << need << " KV blocks, rows hold "
                << t.max_blocks);
    for (int64_t i = 0; i < need; ++i)
      DF_CHECK(t.row(s)[i] >= 0 && t.row(s)[i] < cache.num_blocks(), InvalidArgument,
               op << ": sequence " << s << " block " << i << " = " << t.row(s)[i]
                  << " outside the cache's " << cache.num_blocks() << " blocks");
  }
}

void absorbed_cpu(const Tensor& q, const Tensor& w_uk, const Tensor& w_uv, const BlockTables& t,
                  int32_t s, const KVCache& cache, int32_t layer, const MlaParams& p,
                  Tensor& attn) {
  const int64_t H = q.dim(1), dn = p.qk_nope_head_dim, dr = p.qk_rope_head_dim;
  const int64_t dv = p.v_head_dim, r = p.kv_lora_rank, qk = dn + dr, width = r + dr;
  const int64_t m = t.num_tokens[static_cast<size_t>(s)];
  const int32_t token_begin = t.token_begin[static_cast<size_t>(s)];
  const int32_t context_len = t.context_len[static_cast<size_t>(s)];
  const float scale = p.scale;
  const KVLayerSpec& spec = cache.spec(layer);
  const Tensor& pool = cache.pool(layer);
  const cpu::VecKernels& vk = cpu::vec_kernels(best_isa());
  // q_nope [H, m, dn]: this sequence's no-rope query parts, head-major for the per-head product.
  Tensor q_nope = Tensor::empty(DType::F32, Shape{H, m, dn});
  for (int64_t j = 0; j < m; ++j)
    for (int64_t h = 0; h < H; ++h)
      std::memcpy(q_nope.data<float>() + (h * m + j) * dn,
                  q.data<float>() + ((token_begin + j) * H + h) * qk,
                  static_cast<size_t>(dn) * sizeof(float));
  // q_lat [H, m, r] = q_nope[h] · W_UK[h]: the queries moved into the latent space.
  const Tensor q_lat = bmm(q_nope, w_uk, BmmLayout::KN);
  // q_abs [m, H, r + dr] = [q_lat, q_pe]: what the latent attention scores against [c, k_pe].
  Tensor q_abs = Tensor::empty(DType::F32, Shape{m, H, width});
  for (int64_t j = 0; j < m; ++j)
    for (int64_t h = 0; h < H; ++h) {
      float* dst = q_abs.data<float>() + (j * H + h) * width;
      std::memcpy(dst, q_lat.data<float>() + (h * m + j) * r,
                  static_cast<size_t>(r) * sizeof(float));
      std::memcpy(dst + r, q.data<float>() + ((token_begin + j) * H + h) * qk + dn,
                  static_cast<size_t>(dr) * sizeof(float));
    }
  // o_lat [H, m, r]: attention output in the latent space, head-major for the W_UV product.
  Tensor o_lat = Tensor::empty(DType::F32, Shape{H, m, r});
  const int64_t chunk = head_chunk(H, m);
  const int64_t chunks = (H + chunk - 1) / chunk;
  cpu::PagedKV kv;
  kv.base = static_cast<const char*>(pool.raw());
  kv.token_bytes = width * static_cast<int64_t>(dtype_size(spec.dtype));
  kv.block_size = cache.block_size();
  kv.block_table = t.row(s);
  kv.dtype = spec.dtype;
  kv.k_offset = 0;  // key = the whole slot [c, k_pe]
  kv.v_offset = 0;  // value = c
  ThreadPool::current().parallel_for(m * chunks, 1, [&](int64_t b, int64_t e) {
    std::vector<float> scratch;
    for (int64_t i = b; i < e; ++i) {
      const int64_t j = i / chunks, h0 = (i % chunks) * chunk;
      const int64_t g = std::min(chunk, H - h0);
      const int32_t key_end = context_len + static_cast<int32_t>(j) + 1;
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
      a.out = o_lat.data<float>() + (h0 * m + j) * r;
      a.out_stride = m * r;  // next head of the group
      a.scratch = scratch.data();
      vk.attend(a, kv);
    }
  });
  // o [H, m, dv] = o_lat[h] · W_UV[h]^T, scattered into the step's rows [n, H * dv].
  const Tensor o = bmm(o_lat, w_uv, BmmLayout::NK);
  for (int64_t j = 0; j < m; ++j)
    for (int64_t h = 0; h < H; ++h)
      std::memcpy(attn.data<float>() + (token_begin + j) * H * dv + h * dv,
                  o.data<float>() + (h * m + j) * dv, static_cast<size_t>(dv) * sizeof(float));
}

void expanded_cpu(const Tensor& q, const Tensor& kv_b_proj, const BlockTables& t, int32_t s,
                  const KVCache& cache, int32_t layer, const MlaParams& p, Tensor& attn) {
  const int64_t H = q.dim(1), dn = p.qk_nope_head_dim, dr = p.qk_rope_head_dim;
  const int64_t dv = p.v_head_dim, r = p.kv_lora_rank, qk = dn + dr, width = r + dr;
  const int64_t m = t.num_tokens[static_cast<size_t>(s)];
  const int32_t token_begin = t.token_begin[static_cast<size_t>(s)];
  const int32_t context_len = t.context_len[static_cast<size_t>(s)];
  const int64_t L = context_len + m;  // keys this sequence attends over (at most)
  const float scale = p.scale;
  const KVLayerSpec& spec = cache.spec(layer);
  const cpu::VecKernels& vk = cpu::vec_kernels(best_isa());
  // Gather the sequence's latents, expand them with kv_b_proj (what transformers does).
  Tensor clat = Tensor::empty(DType::F32, Shape{L, r});   // [L, r]
  Tensor ckpe = Tensor::empty(DType::F32, Shape{L, dr});  // [L, dr]
  std::vector<float> row(static_cast<size_t>(width));
  for (int64_t pos = 0; pos < L; ++pos) {
    convert(latent_slot(cache, layer, t.row(s), pos), spec.dtype, row.data(), DType::F32,
            static_cast<size_t>(width));
    std::memcpy(clat.data<float>() + pos * r, row.data(), static_cast<size_t>(r) * sizeof(float));
    std::memcpy(ckpe.data<float>() + pos * dr, row.data() + r,
                static_cast<size_t>(dr) * sizeof(float));
  }
  Tensor kvx = linear(clat, kv_b_proj);  // [L, H * (dn + dv)]
  // Per token: K of all heads [H, qk] then V of all heads [H, dv], one "block" of L tokens.
  const int64_t tok = H * qk + H * dv;
  Tensor kvbuf = Tensor::empty(DType::F32, Shape{L, tok});
  ThreadPool::current().parallel_for(L, 16, [&](int64_t b, int64_t e) {
    for (int64_t pos = b; pos < e; ++pos) {
      const float* src = kvx.data<float>() + pos * H * (dn + dv);
      float* dst = kvbuf.data<float>() + pos * tok;
      for (int64_t h = 0; h < H; ++h) {
        std::memcpy(dst + h * qk, src + h * (dn + dv), static_cast<size_t>(dn) * sizeof(float));
        std::memcpy(dst + h * qk + dn, ckpe.data<float>() + pos * dr,
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
      const int32_t key_end = context_len + static_cast<int32_t>(j) + 1;
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
      a.q = q.data<float>() + ((token_begin + j) * H + h) * qk;
      a.q_stride = qk;
      a.group = 1;
      a.head_dim = qk;
      a.v_head_dim = dv;
      a.key_begin = 0;
      a.key_end = key_end;
      a.scale = scale;
      a.out = attn.data<float>() + (token_begin + j) * H * dv + h * dv;
      a.out_stride = dv;
      a.scratch = scratch.data();
      vk.attend(a, kv);
    }
  });
}

}  // namespace

void mla_cache_write(const Tensor& latent, const Tensor& k_pe, const BlockTables& t,
                     KVCache& cache, int32_t layer) {
  DF_PROFILE_OP("mla_cache_write");
  require_f32("mla_cache_write", "latent", latent);
  require_f32("mla_cache_write", "k_pe", k_pe);
  DF_CHECK(latent.ndim() == 2 && k_pe.ndim() >= 2 && k_pe.dim(0) == latent.dim(0),
           InvalidArgument,
           "mla_cache_write: 'latent' must be [n, kv_lora_rank] and 'k_pe' [n, ..., rope_dim], got "
               << latent.shape().str() << " and " << k_pe.shape().str());
  const int64_t n = latent.dim(0), r = latent.dim(1), dr = k_pe.numel() / std::max<int64_t>(1, n);
  DF_CHECK(layer >= 0 && layer < cache.num_layers(), InvalidArgument,
           "mla_cache_write: layer " << layer << " outside the cache's " << cache.num_layers());
  const KVLayerSpec& spec = cache.spec(layer);
  DF_CHECK(spec.width == r + dr, InvalidArgument,
           "mla_cache_write: KV cache layer " << layer << " stores " << spec.width
                                              << " values per token, latent + rope key = "
                                              << r + dr);
  DF_CHECK(t.num_tokens_total() == n, InvalidArgument,
           "mla_cache_write: batch has " << t.num_tokens_total() << " tokens, 'latent' " << n);
  for (int32_t s = 0; s < t.n_seqs; ++s) {
    const int64_t total = static_cast<int64_t>(t.context_len[static_cast<size_t>(s)]) +
                          t.num_tokens[static_cast<size_t>(s)];
    const int64_t need = (total + cache.block_size() - 1) / cache.block_size();
    DF_CHECK(need <= t.max_blocks, InvalidArgument,
             "mla_cache_write: sequence " << s << " needs " << need << " KV blocks");
    for (int64_t i = 0; i < need; ++i)
      DF_CHECK(t.row(s)[i] >= 0 && t.row(s)[i] < cache.num_blocks(), InvalidArgument,
               "mla_cache_write: sequence " << s << " block " << i << " = " << t.row(s)[i]
                                            << " outside the cache");
  }
  dispatch("mla_cache_write", {&latent, &k_pe, &cache.pool(layer)}, [&] {
    std::vector<float> row(static_cast<size_t>(r + dr));
    for (int32_t s = 0; s < t.n_seqs; ++s) {
      const int32_t b = t.token_begin[static_cast<size_t>(s)];
      const int32_t ctx = t.context_len[static_cast<size_t>(s)];
      for (int32_t j = 0; j < t.num_tokens[static_cast<size_t>(s)]; ++j) {
        const int64_t tk = b + j;
        std::memcpy(row.data(), latent.data<float>() + tk * r,
                    static_cast<size_t>(r) * sizeof(float));
        std::memcpy(row.data() + r, k_pe.data<float>() + tk * dr,
                    static_cast<size_t>(dr) * sizeof(float));
        convert(row.data(), DType::F32, latent_slot(cache, layer, t.row(s), ctx + j), spec.dtype,
                static_cast<size_t>(r + dr));
      }
    }
  });
}

void mla_attention_absorbed(const Tensor& q, const Tensor& w_uk, const Tensor& w_uv,
                            const BlockTables& t, const std::vector<int32_t>& seqs,
                            const KVCache& cache, int32_t layer, const MlaParams& p, Tensor& out) {
  DF_PROFILE_OP("mla_attention_absorbed");
  validate_mla("mla_attention_absorbed", q, t, seqs, cache, layer, p, out);
  const int64_t H = q.dim(1);
  require_f32("mla_attention_absorbed", "w_uk", w_uk);
  require_f32("mla_attention_absorbed", "w_uv", w_uv);
  require_shape("mla_attention_absorbed", "w_uk", w_uk, {H, p.qk_nope_head_dim, p.kv_lora_rank});
  require_shape("mla_attention_absorbed", "w_uv", w_uv, {H, p.v_head_dim, p.kv_lora_rank});
  dispatch("mla_attention_absorbed", {&q, &w_uk, &w_uv, &out, &cache.pool(layer)}, [&] {
    for (int32_t s : seqs)
      if (t.num_tokens[static_cast<size_t>(s)] > 0)
        absorbed_cpu(q, w_uk, w_uv, t, s, cache, layer, p, out);
  });
}

void mla_attention_expanded(const Tensor& q, const Tensor& kv_b_proj, const BlockTables& t,
                            const std::vector<int32_t>& seqs, const KVCache& cache, int32_t layer,
                            const MlaParams& p, Tensor& out) {
  DF_PROFILE_OP("mla_attention_expanded");
  validate_mla("mla_attention_expanded", q, t, seqs, cache, layer, p, out);
  const int64_t H = q.dim(1);
  require_float("mla_attention_expanded", "kv_b_proj", kv_b_proj);
  require_shape("mla_attention_expanded", "kv_b_proj", kv_b_proj,
                {H * (p.qk_nope_head_dim + p.v_head_dim), p.kv_lora_rank});
  dispatch("mla_attention_expanded", {&q, &kv_b_proj, &out, &cache.pool(layer)}, [&] {
    for (int32_t s : seqs)
      if (t.num_tokens[static_cast<size_t>(s)] > 0)
        expanded_cpu(q, kv_b_proj, t, s, cache, layer, p, out);
  });
}

}  // namespace deepfuse::ops
