// KV-cache write and paged causal attention front-ends.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

namespace {

// Checks that every sequence slice lies inside the batch and that its block table covers its
// tokens with valid block ids.
void validate_batch(const char* op, const BlockTables& t, const KVCache& cache, int64_t n_tokens) {
  const size_t ns = static_cast<size_t>(std::max(t.n_seqs, 0));
  DF_CHECK(t.n_seqs >= 0 && t.max_blocks >= 0 && t.token_begin.size() == ns &&
               t.num_tokens.size() == ns && t.context_len.size() == ns &&
               t.blocks.size() == ns * static_cast<size_t>(t.max_blocks),
           InvalidArgument,
           op << ": block tables are inconsistent (" << t.n_seqs << " sequences, "
              << t.max_blocks << " blocks per row, " << t.blocks.size() << " entries)");
  DF_CHECK(t.num_tokens_total() == n_tokens, InvalidArgument,
           op << ": batch has " << t.num_tokens_total() << " tokens but the tensor has "
              << n_tokens);
  for (int32_t s = 0; s < t.n_seqs; ++s) {
    const int32_t begin = t.token_begin[static_cast<size_t>(s)];
    const int32_t num = t.num_tokens[static_cast<size_t>(s)];
    const int32_t ctx = t.context_len[static_cast<size_t>(s)];
    DF_CHECK(begin >= 0 && num >= 0 && ctx >= 0 && static_cast<int64_t>(begin) + num <= n_tokens,
             InvalidArgument,
             op << ": sequence " << s << " spans tokens [" << begin << ", " << begin + num
                << ") with context " << ctx << ", outside the batch of " << n_tokens
                << " tokens");
    const int64_t total = static_cast<int64_t>(ctx) + num;
    const int64_t blocks_needed = (total + cache.block_size() - 1) / cache.block_size();
    int64_t have = 0;
    while (have < t.max_blocks && t.row(s)[have] >= 0) ++have;
    DF_CHECK(have >= blocks_needed, InvalidArgument,
             op << ": sequence " << s << " needs " << blocks_needed << " KV blocks for " << total
                << " tokens, its block table has " << have);
    for (int64_t b = 0; b < blocks_needed; ++b) {
      const int32_t id = t.row(s)[b];
      DF_CHECK(id >= 0 && id < cache.num_blocks(), InvalidArgument,
               op << ": sequence " << s << " block table entry " << b << " = " << id
                  << " is outside the cache's " << cache.num_blocks() << " blocks");
    }
  }
}

void validate_layer(const char* op, const KVCache& cache, int32_t layer, int64_t width) {
  DF_CHECK(
      layer >= 0 && layer < cache.num_layers(), InvalidArgument,
      op << ": layer " << layer << " is outside the cache's " << cache.num_layers() << " layers");
  const KVLayerSpec& sp = cache.spec(layer);
  DF_CHECK(sp.width == width, InvalidArgument,
           op << ": KV cache layer " << layer << " stores " << sp.width
              << " values per token, expected n_kv_heads * (head_dim + v_head_dim) = " << width);
  DF_CHECK(sp.dtype == DType::F32 || sp.dtype == DType::BF16 || sp.dtype == DType::F16, Unsupported,
           op << ": KV cache dtype " << dtype_name(sp.dtype)
              << " (expected float32, bfloat16 or float16)");
}

char* slot_ptr(const KVCache& cache, int32_t layer, const int32_t* bt, int64_t pos) {
  const KVLayerSpec& sp = cache.spec(layer);
  const int64_t bs = cache.block_size();
  const int64_t index = static_cast<int64_t>(bt[pos / bs]) * bs + pos % bs;
  return static_cast<char*>(cache.pool(layer).raw()) +
         index * sp.width * static_cast<int64_t>(dtype_size(sp.dtype));
}

thread_local std::vector<float> tls_scratch;

void attention_cpu(const Tensor& q, const BlockTables& batch, const KVCache& cache, int32_t layer,
                   const AttentionParams& params, Tensor& out);

}  // namespace

void kv_write(const Tensor& k, const Tensor& v, const ForwardBatch& batch, KVCache& cache,
              int32_t layer) {
  kv_write(k, v, batch.block_tables(), cache, layer);
}

void kv_write(const Tensor& k, const Tensor& v, const BlockTables& batch, KVCache& cache,
              int32_t layer) {
  DF_PROFILE_OP("kv_write");
  require_f32("kv_write", "k", k);
  require_f32("kv_write", "v", v);
  DF_CHECK(k.ndim() == 3, InvalidArgument,
           "kv_write: 'k' must be 3-D [n_tokens, n_kv_heads, head_dim], got " << k.shape().str());
  DF_CHECK(v.ndim() == 3 && v.dim(0) == k.dim(0) && v.dim(1) == k.dim(1), InvalidArgument,
           "kv_write: 'v' must be [n_tokens, n_kv_heads, v_head_dim] = ["
               << k.dim(0) << ", " << k.dim(1) << ", *], got " << v.shape().str());
  const int64_t n = k.dim(0);
  const int64_t kw = k.dim(1) * k.dim(2);
  const int64_t vw = v.dim(1) * v.dim(2);
  validate_layer("kv_write", cache, layer, kw + vw);
  validate_batch("kv_write", batch, cache, n);
  dispatch("kv_write", {&k, &v, &cache.pool(layer)}, [&] {
    const DType dt = cache.spec(layer).dtype;
    const size_t es = dtype_size(dt);
    const float* kp = k.data<float>();
    const float* vp = v.data<float>();
    for (int32_t s = 0; s < batch.n_seqs; ++s) {
      const int32_t begin = batch.token_begin[static_cast<size_t>(s)];
      const int32_t ctx = batch.context_len[static_cast<size_t>(s)];
      for (int32_t i = 0; i < batch.num_tokens[static_cast<size_t>(s)]; ++i) {
        const int64_t t = begin + i;
        char* slot = slot_ptr(cache, layer, batch.row(s), static_cast<int64_t>(ctx) + i);
        convert(kp + t * kw, DType::F32, slot, dt, static_cast<size_t>(kw));
        convert(vp + t * vw, DType::F32, slot + static_cast<size_t>(kw) * es, dt,
                static_cast<size_t>(vw));
      }
    }
  });
}

void attention(const Tensor& q, const ForwardBatch& batch, const KVCache& cache, int32_t layer,
               const AttentionParams& params, Tensor& out) {
  attention(q, batch.block_tables(), cache, layer, params, out);
}

void attention(const Tensor& q, const BlockTables& batch, const KVCache& cache, int32_t layer,
               const AttentionParams& params, Tensor& out) {
  DF_PROFILE_OP("attention");
  require_f32("attention", "q", q);
  require_f32("attention", "out", out);
  DF_CHECK(q.ndim() == 3, InvalidArgument,
           "attention: 'q' must be 3-D [n_tokens, n_heads, head_dim], got " << q.shape().str());
  const int64_t n = q.dim(0);
  const int64_t heads = q.dim(1);
  const int64_t hd = params.head_dim;
  const int64_t vhd = params.v_head_dim > 0 ? params.v_head_dim : hd;
  const int64_t kv_heads = params.n_kv_heads;
  DF_CHECK(hd > 0 && q.dim(2) == hd, InvalidArgument,
           "attention: 'q' head_dim " << q.dim(2) << " must equal params.head_dim " << hd);
  DF_CHECK(
      kv_heads > 0 && heads % kv_heads == 0, InvalidArgument,
      "attention: n_heads " << heads << " must be a positive multiple of n_kv_heads " << kv_heads);
  require_shape("attention", "out", out, {n, heads, vhd});
  DF_CHECK(params.sliding_window >= 0, InvalidArgument,
           "attention: sliding_window must be >= 0, got " << params.sliding_window);
  validate_layer("attention", cache, layer, kv_heads * (hd + vhd));
  validate_batch("attention", batch, cache, n);
  dispatch("attention", {&q, &out, &cache.pool(layer)},
           [&] { attention_cpu(q, batch, cache, layer, params, out); });
}

namespace {

// CPU kernel driver: splits the step into work items for kernels/cpu attend / attend_block.
void attention_cpu(const Tensor& q, const BlockTables& batch, const KVCache& cache, int32_t layer,
                   const AttentionParams& params, Tensor& out) {
  const int64_t n = q.dim(0);
  const int64_t heads = q.dim(1);
  const int64_t hd = params.head_dim;
  const int64_t vhd = params.v_head_dim > 0 ? params.v_head_dim : hd;
  const int64_t kv_heads = params.n_kv_heads;

  const int32_t group = static_cast<int32_t>(heads / kv_heads);
  const float scale = params.scale > 0.f ? params.scale : 1.f / std::sqrt(static_cast<float>(hd));
  // Work items: one per (new token, kv head) for sequences with few new tokens (decode: the
  // group of query heads sharing a KV head reads each key and value row once), and one per
  // (block of up to kBlockTokens new tokens, kv head) for prefill-sized runs, which gather the
  // block's keys once and compute its scores as small matrix products. A decode token's result
  // never depends on the other sequences of the batch.
  constexpr int32_t kBlockMinTokens = 8;
  constexpr int32_t kBlockTokens = 16;
  struct Item {
    int32_t token;   // first query token
    int32_t tokens;  // 0: one token through `attend`; else a block through `attend_block`
    int32_t seq;
    int32_t key_end;  // key_end of the first token (its index in its sequence + 1)
  };
  std::vector<Item> items;
  items.reserve(static_cast<size_t>(n));
  for (int32_t s = 0; s < batch.n_seqs; ++s) {
    const int32_t begin = batch.token_begin[static_cast<size_t>(s)];
    const int32_t num = batch.num_tokens[static_cast<size_t>(s)];
    const int32_t ctx = batch.context_len[static_cast<size_t>(s)];
    if (num >= kBlockMinTokens) {
      for (int32_t i = 0; i < num; i += kBlockTokens)
        items.push_back({begin + i, std::min(kBlockTokens, num - i), s, ctx + i + 1});
    } else {
      for (int32_t i = 0; i < num; ++i) items.push_back({begin + i, 0, s, ctx + i + 1});
    }
  }
  const cpu::VecKernels& k = cpu::vec_kernels(best_isa());
  const KVLayerSpec& sp = cache.spec(layer);
  const float* qp = q.data<float>();
  float* op = out.data<float>();
  const int64_t work = static_cast<int64_t>(items.size()) * kv_heads;
  ThreadPool& pool = ThreadPool::current();
  pool.parallel_for(work, 1, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      const Item& it = items[static_cast<size_t>(w / kv_heads)];
      const int64_t h = w % kv_heads;
      cpu::PagedKV kv;
      kv.base = static_cast<const char*>(cache.pool(layer).raw());
      kv.token_bytes = sp.width * static_cast<int64_t>(dtype_size(sp.dtype));
      kv.block_size = cache.block_size();
      kv.block_table = batch.row(it.seq);
      kv.dtype = sp.dtype;
      kv.k_offset = h * hd;
      kv.v_offset = kv_heads * hd + h * vhd;
      const float* q0 = qp + (static_cast<int64_t>(it.token) * heads + h * group) * hd;
      float* o0 = op + (static_cast<int64_t>(it.token) * heads + h * group) * vhd;
      if (it.tokens > 0) {
        cpu::AttendBlockArgs a;
        a.q = q0;
        a.q_token_stride = heads * hd;
        a.q_stride = hd;
        a.tokens = it.tokens;
        a.group = group;
        a.head_dim = hd;
        a.v_head_dim = vhd;
        a.first_key_end = it.key_end;
        a.sliding_window = params.sliding_window;
        a.scale = scale;
        a.softcap = params.softcap;
        a.out = o0;
        a.out_token_stride = heads * vhd;
        a.out_stride = vhd;
        const size_t need = static_cast<size_t>(cpu::attend_block_scratch_floats(a));
        if (tls_scratch.size() < need) tls_scratch.resize(need);
        a.scratch = tls_scratch.data();
        k.attend_block(a, kv);
        continue;
      }
      cpu::AttendArgs a;
      a.key_end = it.key_end;
      a.key_begin = 0;
      if (params.sliding_window > 0) a.key_begin = std::max(0, it.key_end - params.sliding_window);
      const int64_t len = a.key_end - a.key_begin;
      const size_t need = static_cast<size_t>(group * len + hd + vhd);
      if (tls_scratch.size() < need) tls_scratch.resize(need);
      a.q = q0;
      a.q_stride = hd;
      a.group = group;
      a.head_dim = hd;
      a.v_head_dim = vhd;
      a.scale = scale;
      a.softcap = params.softcap;
      a.out = o0;
      a.out_stride = vhd;
      a.scratch = tls_scratch.data();
      k.attend(a, kv);
    }
  });
}

}  // namespace

}  // namespace deepfuse::ops
