// Non-causal ragged attention against the per-sequence definition.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "ops/ops.h"

namespace deepfuse::ops {
namespace {

Tensor randn(Shape s, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> v(static_cast<size_t>(s.numel()));
  for (float& x : v) x = nd(rng);
  return Tensor::from_vector(v, s);
}

TEST(AttentionBidirectional, RaggedMatchesPerSequenceDefinition) {
  const std::vector<int32_t> begin = {0, 5, 6, 13};  // lengths 5, 1, 7
  const int64_t n = 13, nh = 3, hd = 8;
  const Tensor q = randn({n, nh, hd}, 1), k = randn({n, nh, hd}, 2), v = randn({n, nh, hd}, 3);
  Tensor out = Tensor::empty(DType::F32, {n, nh, hd});
  attention_bidirectional(q, k, v, begin, 0.f, out);
  const auto Q = q.to_f32_vector(), K = k.to_f32_vector(), V = v.to_f32_vector();
  const auto O = out.to_f32_vector();
  double worst = 0;
  for (size_t s = 0; s + 1 < begin.size(); ++s)
    for (int64_t i = begin[s]; i < begin[s + 1]; ++i)
      for (int64_t h = 0; h < nh; ++h) {
        std::vector<double> w;
        for (int64_t j = begin[s]; j < begin[s + 1]; ++j) {
          double d = 0;
          for (int64_t c = 0; c < hd; ++c) d += Q[(i * nh + h) * hd + c] * K[(j * nh + h) * hd + c];
          w.push_back(d / std::sqrt(static_cast<double>(hd)));
        }
        const double mx = *std::max_element(w.begin(), w.end());
        double sum = 0;
        for (double& x : w) sum += (x = std::exp(x - mx));
        for (int64_t c = 0; c < hd; ++c) {
          double o = 0;
          for (int64_t j = begin[s]; j < begin[s + 1]; ++j)
            o += w[static_cast<size_t>(j - begin[s])] / sum * V[(j * nh + h) * hd + c];
          worst = std::max(worst, std::fabs(o - O[(i * nh + h) * hd + c]));
        }
      }
  // f32 dot products of 8 unit-normal terms and sums of <= 7 weights, against double.
  EXPECT_LT(worst, 1e-5);
}

TEST(AttentionBidirectional, RejectsBadOffsets) {
  const Tensor q = randn({4, 1, 2}, 1);
  Tensor out = Tensor::empty(DType::F32, {4, 1, 2});
  EXPECT_THROW(attention_bidirectional(q, q, q, {0, 3}, 0.f, out), InvalidArgument);
  EXPECT_THROW(attention_bidirectional(q, q, q, {0, 3, 2, 4}, 0.f, out), InvalidArgument);
  EXPECT_THROW(attention_bidirectional(q, q, q, {}, 0.f, out), InvalidArgument);
  attention_bidirectional(q, q, q, {0, 0, 4}, 0.f, out);  // an empty sequence is fine
}

}  // namespace
}  // namespace deepfuse::ops
