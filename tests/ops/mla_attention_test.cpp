// MLA attention ops (absorbed and expanded) against the plain definition on random inputs,
// the device-readable block tables, and the dispatch step's device errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/ops.h"

namespace deepfuse::ops {
namespace {

std::vector<float> randv(size_t n, std::mt19937& rng, float scale = 1.f) {
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

struct MlaCase {
  int64_t H = 3, dn = 8, dr = 4, dv = 6, r = 16;
  std::vector<int32_t> ctx = {5, 0};  // cached tokens per sequence before the step
  std::vector<int32_t> add = {3, 7};  // new tokens per sequence
};

// Plain definition (what transformers computes): per head, k = [W_UK c, k_pe], v = W_UV c,
// causal softmax(scale q·k) v over the sequence's latents.
std::vector<float> reference(const MlaCase& c, const std::vector<float>& q,
                             const std::vector<float>& kvb,
                             const std::vector<std::vector<float>>& lat_per_seq, float scale,
                             int64_t n) {
  const int64_t qk = c.dn + c.dr, width = c.r + c.dr;
  std::vector<float> out(static_cast<size_t>(n * c.H * c.dv), 0.f);
  int64_t tok = 0;
  for (size_t s = 0; s < c.ctx.size(); ++s) {
    const std::vector<float>& lat = lat_per_seq[s];  // [ctx + add, width]
    for (int32_t j = 0; j < c.add[s]; ++j, ++tok) {
      const int64_t keys = c.ctx[s] + j + 1;
      for (int64_t h = 0; h < c.H; ++h) {
        const float* qh = q.data() + (tok * c.H + h) * qk;
        std::vector<double> sc(static_cast<size_t>(keys));
        std::vector<std::vector<double>> vals(static_cast<size_t>(keys));
        for (int64_t p = 0; p < keys; ++p) {
          const float* cp = lat.data() + p * width;
          double dot = 0.0;
          for (int64_t d = 0; d < c.dn; ++d) {
            double k = 0.0;
            for (int64_t i = 0; i < c.r; ++i) k += kvb[((h * (c.dn + c.dv)) + d) * c.r + i] * cp[i];
            dot += qh[d] * k;
          }
          for (int64_t d = 0; d < c.dr; ++d) dot += qh[c.dn + d] * cp[c.r + d];
          sc[p] = dot * scale;
          vals[p].resize(static_cast<size_t>(c.dv));
          for (int64_t d = 0; d < c.dv; ++d) {
            double v = 0.0;
            for (int64_t i = 0; i < c.r; ++i)
              v += kvb[((h * (c.dn + c.dv)) + c.dn + d) * c.r + i] * cp[i];
            vals[p][d] = v;
          }
        }
        const double mx = *std::max_element(sc.begin(), sc.end());
        double sum = 0.0;
        for (double& x : sc) sum += (x = std::exp(x - mx));
        for (int64_t d = 0; d < c.dv; ++d) {
          double o = 0.0;
          for (int64_t p = 0; p < keys; ++p) o += sc[p] / sum * vals[p][d];
          out[(tok * c.H + h) * c.dv + d] = static_cast<float>(o);
        }
      }
    }
  }
  return out;
}

void run_case(DType cache_dtype, double tol) {
  MlaCase c;
  std::mt19937 rng(7);
  const int64_t qk = c.dn + c.dr, width = c.r + c.dr;
  const int32_t block = 4;
  KVCache cache({{width, cache_dtype}}, block, 16);
  // Block tables out of order, so a kernel that ignores them reads the wrong rows.
  ForwardBatch step;
  std::vector<std::vector<float>> lat(c.ctx.size());
  int32_t next_block = 15;
  int32_t begin = 0;
  for (size_t s = 0; s < c.ctx.size(); ++s) {
    SequenceSlice sl;
    sl.token_begin = begin;
    sl.num_tokens = c.add[s];
    sl.context_len = c.ctx[s];
    const int32_t total = c.ctx[s] + c.add[s];
    for (int32_t b = 0; b < (total + block - 1) / block; ++b) sl.block_table.push_back(next_block--);
    lat[s] = randv(static_cast<size_t>(total * width), rng);
    // Cached context: written straight into the slots, rounded as the cache stores it.
    for (int32_t p = 0; p < total; ++p) {
      float* row = lat[s].data() + p * width;
      convert(row, DType::F32, cache.slot(0, sl.block_table, p), cache_dtype,
              static_cast<size_t>(width));
      convert(cache.slot(0, sl.block_table, p), cache_dtype, row, DType::F32,
              static_cast<size_t>(width));
    }
    begin += c.add[s];
    step.seqs.push_back(sl);
  }
  const int64_t n = begin;
  step.tokens.assign(static_cast<size_t>(n), 0);
  step.positions.assign(static_cast<size_t>(n), 0);
  const BlockTables t = step.block_tables();

  const std::vector<float> qv = randv(static_cast<size_t>(n * c.H * qk), rng);
  const std::vector<float> kvb = randv(static_cast<size_t>(c.H * (c.dn + c.dv) * c.r), rng, 0.3f);
  // The load-time split of kv_b_proj into W_UK [H, dn, r] / W_UV [H, dv, r].
  std::vector<float> uk, uv;
  for (int64_t h = 0; h < c.H; ++h) {
    const float* head = kvb.data() + h * (c.dn + c.dv) * c.r;
    uk.insert(uk.end(), head, head + c.dn * c.r);
    uv.insert(uv.end(), head + c.dn * c.r, head + (c.dn + c.dv) * c.r);
  }
  const Tensor q = Tensor::from_vector(qv, {n, c.H, qk});
  const Tensor w_kvb = Tensor::from_vector(kvb, {c.H * (c.dn + c.dv), c.r});
  const Tensor w_uk = Tensor::from_vector(uk, {c.H, c.dn, c.r});
  const Tensor w_uv = Tensor::from_vector(uv, {c.H, c.dv, c.r});
  MlaParams p;
  p.kv_lora_rank = c.r;
  p.qk_nope_head_dim = c.dn;
  p.qk_rope_head_dim = c.dr;
  p.v_head_dim = c.dv;
  p.scale = 1.f / std::sqrt(static_cast<float>(qk));
  const std::vector<float> want = reference(c, qv, kvb, lat, p.scale, n);

  for (bool absorbed : {true, false}) {
    Tensor out = Tensor::zeros(DType::F32, {n, c.H * c.dv});
    const std::vector<int32_t> seqs = {0, 1};
    if (absorbed)
      mla_attention_absorbed(q, w_uk, w_uv, t, seqs, cache, 0, p, out);
    else
      mla_attention_expanded(q, w_kvb, t, seqs, cache, 0, p, out);
    const std::vector<float> got = out.to_f32_vector();
    double worst = 0.0;
    for (size_t i = 0; i < got.size(); ++i)
      worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    EXPECT_LT(worst, tol) << (absorbed ? "absorbed" : "expanded") << " cache "
                          << dtype_name(cache_dtype);
  }
}

// Tolerances: f32 accumulation over r = 16 products of unit-scale values, against a double
// reference on the same (already rounded) latents: float rounding only.
TEST(MlaAttention, BothFormsMatchDefinitionF32Cache) {
  run_case(DType::F32, 1e-4);
}
TEST(MlaAttention, BothFormsMatchDefinitionBF16Cache) {
  run_case(DType::BF16, 1e-4);
}

TEST(MlaAttention, RejectsBadSequenceIndexAndCacheWidth) {
  KVCache cache({{20, DType::F32}}, 4, 4);
  ForwardBatch b = ForwardBatch::single({1, 2}, 0, {0}, false);
  const BlockTables t = b.block_tables();
  MlaParams p{16, 8, 4, 6, 0.5f};
  Tensor q = Tensor::zeros(DType::F32, {2, 2, 12});
  Tensor out = Tensor::zeros(DType::F32, {2, 12});
  Tensor kvb = Tensor::zeros(DType::F32, {2 * 14, 16});
  EXPECT_THROW(mla_attention_expanded(q, kvb, t, {3}, cache, 0, p, out), InvalidArgument);
  KVCache wrong({{24, DType::F32}}, 4, 4);
  EXPECT_THROW(mla_attention_expanded(q, kvb, t, {0}, wrong, 0, p, out), InvalidArgument);
  mla_attention_expanded(q, kvb, t, {0}, cache, 0, p, out);  // valid: no throw
}

TEST(BlockTables, FlatRowsPaddedWithMinusOne) {
  ForwardBatch b;
  b.tokens = {1, 2, 3};
  b.positions = {4, 0, 1};
  b.seqs.push_back({0, 1, 4, {7, 3}});
  b.seqs.push_back({1, 2, 0, {5}});
  const BlockTables t = b.block_tables();
  EXPECT_EQ(t.n_seqs, 2);
  EXPECT_EQ(t.max_blocks, 2);
  EXPECT_EQ(t.blocks, (std::vector<int32_t>{7, 3, 5, -1}));
  EXPECT_EQ(t.token_begin, (std::vector<int32_t>{0, 1}));
  EXPECT_EQ(t.num_tokens, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(t.context_len, (std::vector<int32_t>{4, 0}));
  EXPECT_EQ(t.num_tokens_total(), 3);
}

// A CUDA-tagged tensor (borrowed, never dereferenced) reaches the dispatch step, which names
// the op; mixing devices is an argument error.
TEST(Dispatch, CudaTensorIsUnsupportedNamingTheOp) {
  std::vector<float> host(8, 1.f);
  Tensor x = Tensor::borrow(host.data(), DType::F32, {2, 4}, Device::CUDA);
  Tensor w = Tensor::borrow(host.data(), DType::F32, {4}, Device::CUDA);
  try {
    rms_norm(x, w, 1e-6f, x);
    FAIL() << "no throw";
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("rms_norm: no CUDA kernel in this build"),
              std::string::npos)
        << e.what();
  }
  Tensor wc = Tensor::from_vector(std::vector<float>(4, 1.f), {4});
  EXPECT_THROW(rms_norm(x, wc, 1e-6f, x), InvalidArgument);
  Tensor y = Tensor::borrow(host.data(), DType::F32, {2, 4}, Device::CUDA);
  EXPECT_THROW(add_inplace(x, y), Unsupported);
}

}  // namespace
}  // namespace deepfuse::ops
