// Paged attention and RoPE against plain definitions computed in double precision.
// (Its own suite: it needs KVCache, implemented in deepfuse_models, so it links all modules.)
// Tolerance: 2e-5 absolute (f32 math; a bf16 cache is compared with bf16-rounded K/V).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "ops/ops.h"

namespace deepfuse::ops {
namespace {

std::vector<float> randv(size_t n, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

struct Case {
  int64_t heads, kv_heads, hd, vhd;
  int32_t window;
  DType cache_dtype;
  float softcap;
};

// Keeps each sequence's full K/V history (as stored: rounded to the cache dtype).
struct History {
  std::vector<std::vector<float>> k, v;  // per sequence: [len, kv_heads, hd] / [.., vhd]
};

void check_step(const Case& c, KVCache& cache, ForwardBatch& b, History& hist, std::mt19937& rng) {
  const int64_t n = b.num_tokens();
  const auto qv = randv(static_cast<size_t>(n * c.heads * c.hd), rng);
  auto kv = randv(static_cast<size_t>(n * c.kv_heads * c.hd), rng);
  auto vv = randv(static_cast<size_t>(n * c.kv_heads * c.vhd), rng);
  const Tensor q = Tensor::from_vector(qv, {n, c.heads, c.hd});
  kv_write(Tensor::from_vector(kv, {n, c.kv_heads, c.hd}),
           Tensor::from_vector(vv, {n, c.kv_heads, c.vhd}), b, cache, 1);
  Tensor out = Tensor::empty(DType::F32, {n, c.heads, c.vhd});
  AttentionParams p;
  p.n_kv_heads = c.kv_heads;
  p.head_dim = c.hd;
  p.v_head_dim = c.vhd;
  p.sliding_window = c.window;
  p.softcap = c.softcap;
  attention(q, b, cache, 1, p, out);
  const auto ov = out.to_f32_vector();
  auto rounded = [&](float x) {
    float y;
    convert(&x, DType::F32, &y, DType::F32, 1);
    if (c.cache_dtype == DType::BF16) return bf16_to_f32(f32_to_bf16(x));
    if (c.cache_dtype == DType::F16) return f16_to_f32(f32_to_f16(x));
    return y;
  };
  const double scale = 1 / std::sqrt(static_cast<double>(c.hd));
  const int64_t group = c.heads / c.kv_heads;
  for (size_t s = 0; s < b.seqs.size(); ++s) {
    const SequenceSlice& sl = b.seqs[s];
    for (int32_t i = 0; i < sl.num_tokens; ++i) {
      const int64_t t = sl.token_begin + i;
      for (int64_t j = 0; j < c.kv_heads * c.hd; ++j)
        hist.k[s].push_back(rounded(kv[t * c.kv_heads * c.hd + j]));
      for (int64_t j = 0; j < c.kv_heads * c.vhd; ++j)
        hist.v[s].push_back(rounded(vv[t * c.kv_heads * c.vhd + j]));
    }
    for (int32_t i = 0; i < sl.num_tokens; ++i) {
      const int64_t t = sl.token_begin + i;
      const int64_t pos = sl.context_len + i;
      const int64_t lo = c.window > 0 ? std::max<int64_t>(0, pos - c.window + 1) : 0;
      for (int64_t h = 0; h < c.heads; ++h) {
        const int64_t kvh = h / group;
        std::vector<double> sc;
        double mx = -INFINITY;
        for (int64_t j = lo; j <= pos; ++j) {
          double d = 0;
          for (int64_t e = 0; e < c.hd; ++e)
            d += double(qv[(t * c.heads + h) * c.hd + e]) *
                 hist.k[s][(j * c.kv_heads + kvh) * c.hd + e];
          d *= scale;
          if (c.softcap > 0) d = c.softcap * std::tanh(d / c.softcap);
          sc.push_back(d);
          mx = std::max(mx, d);
        }
        double sum = 0;
        for (double& d : sc) sum += (d = std::exp(d - mx));
        for (int64_t e = 0; e < c.vhd; ++e) {
          double o = 0;
          for (int64_t j = lo; j <= pos; ++j)
            o += sc[j - lo] / sum * hist.v[s][(j * c.kv_heads + kvh) * c.vhd + e];
          ASSERT_NEAR(ov[(t * c.heads + h) * c.vhd + e], o, 2e-5)
              << "seq " << s << " token " << i << " head " << h << " dim " << e;
        }
      }
    }
  }
}

void run_case(const Case& c) {
  std::mt19937 rng(42);
  const int64_t width = c.kv_heads * (c.hd + c.vhd);
  KVCache cache({{width, c.cache_dtype}, {width, c.cache_dtype}}, 4, 32);
  std::vector<int32_t> bt_a, bt_b;
  History hist;
  hist.k.resize(2);
  hist.v.resize(2);
  // Step 1: two prefills (6 and 3 tokens), blocks interleaved between the sequences.
  cache.reserve(bt_a, 4);
  cache.reserve(bt_b, 3);
  cache.reserve(bt_a, 6);
  ForwardBatch b1;
  b1.tokens.assign(9, 1);
  for (int i = 0; i < 6; ++i) b1.positions.push_back(i);
  for (int i = 0; i < 3; ++i) b1.positions.push_back(i);
  b1.seqs = {{0, 6, 0, bt_a}, {6, 3, 0, bt_b}};
  check_step(c, cache, b1, hist, rng);
  // Step 2: mixed batch: sequence A decodes one token, sequence B prefills 5 more (chunked).
  cache.reserve(bt_a, 7);
  cache.reserve(bt_b, 8);
  ForwardBatch b2;
  b2.tokens.assign(6, 1);
  b2.positions = {6, 3, 4, 5, 6, 7};
  b2.seqs = {{0, 1, 6, bt_a}, {1, 5, 3, bt_b}};
  check_step(c, cache, b2, hist, rng);
  // Step 3: both decode.
  cache.reserve(bt_a, 8);
  cache.reserve(bt_b, 9);
  ForwardBatch b3;
  b3.tokens.assign(2, 1);
  b3.positions = {7, 8};
  b3.seqs = {{0, 1, 7, bt_a}, {1, 1, 8, bt_b}};
  check_step(c, cache, b3, hist, rng);
  // Step 4: prefill-sized runs take the blocked kernel (>= 8 new tokens, blocks of 16): B
  // prefills 37 more tokens after 9 cached ones (blocks of 16, 16, 5), a new sequence C
  // prefills 20, and A decodes one token through the per-token kernel.
  std::vector<int32_t> bt_c;
  cache.reserve(bt_a, 9);
  cache.reserve(bt_b, 46);
  cache.reserve(bt_c, 20);
  hist.k.resize(3);
  hist.v.resize(3);
  ForwardBatch b4;
  b4.tokens.assign(1 + 37 + 20, 1);
  b4.positions.push_back(8);
  for (int i = 0; i < 37; ++i) b4.positions.push_back(9 + i);
  for (int i = 0; i < 20; ++i) b4.positions.push_back(i);
  b4.seqs = {{0, 1, 8, bt_a}, {1, 37, 9, bt_b}, {38, 20, 0, bt_c}};
  check_step(c, cache, b4, hist, rng);
}

TEST(Attention, GqaF32Cache) {
  run_case({6, 2, 8, 8, 0, DType::F32, 0.f});
}
TEST(Attention, MhaBf16Cache) {
  run_case({3, 3, 16, 16, 0, DType::BF16, 0.f});
}
TEST(Attention, MqaF16CacheWithDifferentVDim) {
  run_case({4, 1, 12, 5, 0, DType::F16, 0.f});
}
TEST(Attention, SlidingWindowShorterThanPrompt) {
  run_case({4, 2, 8, 8, 3, DType::F32, 0.f});
}
TEST(Attention, Softcap) {
  run_case({2, 1, 8, 8, 0, DType::F32, 1.5f});
}
TEST(Attention, BlockedPrefillOddDimsSlidingBf16) {
  // head_dim 20 and v_head_dim 18: partial 16-lane chunks in both products.
  run_case({6, 2, 20, 18, 11, DType::BF16, 0.f});
}

TEST(Attention, RejectsBadBatchesAndCaches) {
  KVCache cache({{2 * (4 + 4), DType::F32}}, 4, 2);
  const Tensor k = Tensor::zeros(DType::F32, {5, 2, 4});
  const Tensor v = Tensor::zeros(DType::F32, {5, 2, 4});
  ForwardBatch b = ForwardBatch::single({1, 2, 3, 4, 5}, 0, {0}, false);  // needs 2 blocks
  try {
    kv_write(k, v, b, cache, 0);
    FAIL() << "short block table accepted";
  } catch (const InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("needs 2 KV blocks"), std::string::npos) << e.what();
  }
  b.seqs[0].block_table = {0, 7};
  EXPECT_THROW(kv_write(k, v, b, cache, 0), InvalidArgument);  // block id out of range
  b.seqs[0].block_table = {0, 1};
  EXPECT_THROW(kv_write(k, v, b, cache, 1), InvalidArgument);  // no layer 1
  const Tensor k3 = Tensor::zeros(DType::F32, {5, 2, 3});
  EXPECT_THROW(kv_write(k3, v, b, cache, 0), InvalidArgument);  // width mismatch
  kv_write(k, v, b, cache, 0);
  AttentionParams p;
  p.n_kv_heads = 2;
  p.head_dim = 4;
  Tensor out = Tensor::empty(DType::F32, {5, 3, 4});
  EXPECT_THROW(attention(Tensor::zeros(DType::F32, {5, 3, 4}), b, cache, 0, p, out),
               InvalidArgument);  // 3 heads over 2 kv heads
  Tensor out4 = Tensor::empty(DType::F32, {5, 4, 4});
  attention(Tensor::zeros(DType::F32, {5, 4, 4}), b, cache, 0, p, out4);
  b.seqs[0].num_tokens = 9;
  EXPECT_THROW(attention(Tensor::zeros(DType::F32, {5, 4, 4}), b, cache, 0, p, out4),
               InvalidArgument);
}

TEST(Rope, RotateHalfMatchesHfFormula) {
  std::mt19937 rng(1);
  const int64_t n = 3, heads = 2, hd = 10;
  const std::vector<float> inv = {1.f, 0.1f, 0.01f, 0.001f, 0.0001f};
  const std::vector<int32_t> pos = {0, 5, 17};
  const auto xv = randv(static_cast<size_t>(n * heads * hd), rng);
  Tensor x = Tensor::from_vector(xv, {n, heads, hd});
  const RopeAngles a = rope_angles(pos, inv, 1.25f);
  rope_inplace(x, a, false);
  const auto yv = x.to_f32_vector();
  for (int64_t t = 0; t < n; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd; ++i) {
        const int64_t f = i % 5;
        const double ang = double(float(pos[t]) * inv[f]);
        const double c = std::cos(ang) * 1.25, s = std::sin(ang) * 1.25;
        const float* v = &xv[(t * heads + h) * hd];
        const double rot = i < 5 ? -v[i + 5] : v[i - 5];
        EXPECT_NEAR(yv[(t * heads + h) * hd + i], v[i] * c + rot * s, 1e-5);
      }
}

TEST(Rope, InterleavedEqualsHfDeinterleavedUpToPermutation) {
  // transformers' DeepSeek apply_rotary_pos_emb_interleave: x.view(d/2, 2).transpose -> rotate
  // half. Our interleaved rotation leaves pair i at (2i, 2i+1); HF puts it at (i, i + d/2).
  std::mt19937 rng(2);
  const int64_t hd = 8;
  const auto xv = randv(static_cast<size_t>(2 * hd), rng);
  const std::vector<float> inv = {0.5f, 0.25f, 0.125f, 0.0625f};
  const RopeAngles a = rope_angles({3, 11}, inv);
  Tensor x = Tensor::from_vector(xv, {2, 1, hd});
  rope_inplace(x, a, true);
  std::vector<float> de(xv.size());
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < hd / 2; ++i) {
      de[t * hd + i] = xv[t * hd + 2 * i];
      de[t * hd + i + hd / 2] = xv[t * hd + 2 * i + 1];
    }
  Tensor hf = Tensor::from_vector(de, {2, 1, hd});
  rope_inplace(hf, a, false);
  const auto ours = x.to_f32_vector(), theirs = hf.to_f32_vector();
  for (int t = 0; t < 2; ++t)
    for (int i = 0; i < hd / 2; ++i) {
      EXPECT_FLOAT_EQ(ours[t * hd + 2 * i], theirs[t * hd + i]);
      EXPECT_FLOAT_EQ(ours[t * hd + 2 * i + 1], theirs[t * hd + i + hd / 2]);
    }
}

TEST(Rope, PartialRotaryAndOffsetLeaveOtherDimsAlone) {
  std::mt19937 rng(3);
  const auto xv = randv(12, rng);
  Tensor x = Tensor::from_vector(xv, {1, 1, 12});
  const RopeAngles a = rope_angles({7}, {0.3f, 0.03f});  // rot_dim 4
  rope_inplace(x, a, false, 6);                          // dims [6, 10)
  const auto yv = x.to_f32_vector();
  for (int i : {0, 1, 2, 3, 4, 5, 10, 11}) EXPECT_EQ(yv[i], xv[i]);
  EXPECT_NE(yv[6], xv[6]);
  EXPECT_THROW(rope_inplace(x, a, false, 9), InvalidArgument);
  EXPECT_THROW(rope_inplace(x, rope_angles({1, 2}, {0.3f}), false), InvalidArgument);
  EXPECT_THROW(rope_angles({-1}, {0.3f}), InvalidArgument);
}

}  // namespace
}  // namespace deepfuse::ops
