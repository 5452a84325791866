// Every GEMM path against the reference on random inputs of odd sizes.
// Tolerance: the paths differ only in the order of f32 sums (bf16 activations are rounded the
// same way on every path), so |y - ref| <= 2e-6 * sum_k |x_k w_k| + 1e-6.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "core/dtype.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"

namespace deepfuse::cpu {
namespace {

struct Problem {
  int64_t n, k, m;
  DType dt;
  std::vector<float> x;
  std::vector<uint8_t> w;  // raw weight bytes of dtype dt
  std::vector<float> wf;   // the same weights as f32
};

Problem make(int64_t n, int64_t k, int64_t m, DType dt, uint32_t seed) {
  Problem p{n, k, m, dt, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  p.x.resize(static_cast<size_t>(n * k));
  for (float& v : p.x) v = nd(rng);
  std::vector<float> w(static_cast<size_t>(m * k));
  for (float& v : w) v = nd(rng) * 0.1f;
  p.w.resize(w.size() * dtype_size(dt));
  convert(w.data(), DType::F32, p.w.data(), dt, w.size());
  p.wf.resize(w.size());
  convert(p.w.data(), dt, p.wf.data(), DType::F32, w.size());
  return p;
}

std::vector<float> run(const Problem& p, GemmPath path, ThreadPool* pool = nullptr) {
  std::vector<float> y(static_cast<size_t>(p.n * p.m), -7.f);
  linear_path(path, p.x.data(), p.n, p.k, p.w.data(), p.dt, p.m, y.data(), pool);
  return y;
}

// sum_k |x_k w_k| for output (i, j), with the activation rounding the dtype implies.
double magnitude(const Problem& p, int64_t i, int64_t j) {
  double s = 0;
  for (int64_t kk = 0; kk < p.k; ++kk) {
    float xv = p.x[static_cast<size_t>(i * p.k + kk)];
    if (p.dt == DType::BF16) xv = bf16_to_f32(f32_to_bf16(xv));
    s += std::fabs(static_cast<double>(xv) * p.wf[static_cast<size_t>(j * p.k + kk)]);
  }
  return s;
}

const std::vector<std::tuple<int64_t, int64_t, int64_t>> kSizes = {
    {1, 1, 1},     {1, 17, 5},    {3, 33, 7},     {5, 100, 13}, {4, 64, 8},
    {9, 1000, 37}, {1, 4864, 11}, {130, 1030, 9}, {2, 2049, 6}, {7, 31, 3}};

class GemmPathTest : public ::testing::TestWithParam<std::tuple<GemmPath, DType>> {};

TEST_P(GemmPathTest, MatchesReferenceOnRandomInputs) {
  const auto [path, dt] = GetParam();
  if (!gemm_path_supported(path)) GTEST_SKIP() << gemm_path_name(path) << " not supported here";
  uint32_t seed = 1;
  for (const auto& [n, k, m] : kSizes) {
    const Problem p = make(n, k, m, dt, seed++);
    const std::vector<float> ref = run(p, GemmPath::Reference);
    const std::vector<float> got = run(p, path);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        const size_t idx = static_cast<size_t>(i * m + j);
        const double tol = 2e-6 * magnitude(p, i, j) + 1e-6;
        ASSERT_NEAR(got[idx], ref[idx], tol)
            << gemm_path_name(path) << " " << dtype_name(dt) << " n=" << n << " k=" << k
            << " m=" << m << " at (" << i << ", " << j << ")";
      }
  }
}

TEST_P(GemmPathTest, BatchAndThreadInvariant) {
  // A row's result must not depend on the other rows in the batch nor on the thread count
  // (greedy output must not change with batch composition).
  const auto [path, dt] = GetParam();
  if (!gemm_path_supported(path)) GTEST_SKIP();
  const Problem p = make(11, 2100, 23, dt, 99);
  ThreadPool one(1), three(3);
  const std::vector<float> all1 = run(p, path, &one);
  const std::vector<float> all3 = run(p, path, &three);
  ASSERT_EQ(all1, all3);
  for (int64_t i = 0; i < p.n; ++i) {
    Problem single = p;
    single.n = 1;
    single.x.assign(p.x.begin() + i * p.k, p.x.begin() + (i + 1) * p.k);
    const std::vector<float> y = run(single, path, &three);
    for (int64_t j = 0; j < p.m; ++j)
      ASSERT_EQ(y[static_cast<size_t>(j)], all1[static_cast<size_t>(i * p.m + j)]) << "row " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(AllPaths, GemmPathTest,
                         ::testing::Combine(::testing::Values(GemmPath::Avx2, GemmPath::Avx512,
                                                              GemmPath::Avx512Bf16),
                                            ::testing::Values(DType::F32, DType::F16, DType::BF16)),
                         [](const auto& info) {
                           return std::string(gemm_path_name(std::get<0>(info.param))) + "_" +
                                  dtype_name(std::get<1>(info.param));
                         });

TEST(GemmOneDnn, MatchesReferenceOnRandomInputs) {
  if (!gemm_path_supported(GemmPath::OneDnn)) GTEST_SKIP() << "no oneDNN or no AVX512_BF16 here";
  uint32_t seed = 500;
  const std::tuple<int64_t, int64_t, int64_t> sizes[] = {
      {16, 64, 48}, {17, 33, 7}, {130, 1030, 9}, {1, 17, 5}, {64, 896, 129}, {40, 4864, 24}};
  for (const auto& [n, k, m] : sizes) {
    const Problem p = make(n, k, m, DType::BF16, seed++);
    const std::vector<float> ref = run(p, GemmPath::Reference);
    const std::vector<float> got = run(p, GemmPath::OneDnn);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        const size_t idx = static_cast<size_t>(i * m + j);
        ASSERT_NEAR(got[idx], ref[idx], 2e-6 * magnitude(p, i, j) + 1e-6)
            << "n=" << n << " k=" << k << " m=" << m << " at (" << i << ", " << j << ")";
      }
  }
}

TEST(GemmOneDnn, RoutingAndErrors) {
  // Decode-sized steps stay on the built-in kernels; f32 and f16 weights never go to oneDNN.
  EXPECT_NE(gemm_path_for(DType::BF16, kOneDnnMinRows - 1), GemmPath::OneDnn);
  EXPECT_NE(gemm_path_for(DType::F32, 512), GemmPath::OneDnn);
  EXPECT_NE(gemm_path_for(DType::F16, 512), GemmPath::OneDnn);
  if (!gemm_path_supported(GemmPath::OneDnn)) GTEST_SKIP() << "no oneDNN or no AVX512_BF16 here";
  const Problem p = make(20, 8, 4, DType::F32, 3);
  EXPECT_THROW(run(p, GemmPath::OneDnn), Unsupported);
}

TEST(GemmReference, MatchesDoublePrecisionDefinition) {
  for (DType dt : {DType::F32, DType::F16, DType::BF16}) {
    const Problem p = make(3, 777, 5, dt, 7);
    const std::vector<float> ref = run(p, GemmPath::Reference);
    for (int64_t i = 0; i < p.n; ++i)
      for (int64_t j = 0; j < p.m; ++j) {
        double s = 0;
        for (int64_t kk = 0; kk < p.k; ++kk) {
          float xv = p.x[static_cast<size_t>(i * p.k + kk)];
          if (dt == DType::BF16) xv = bf16_to_f32(f32_to_bf16(xv));  // documented rounding
          s += static_cast<double>(xv) * p.wf[static_cast<size_t>(j * p.k + kk)];
        }
        EXPECT_NEAR(ref[static_cast<size_t>(i * p.m + j)], s, 2e-6 * magnitude(p, i, j) + 1e-6);
      }
  }
}

TEST(Gemm, ZeroKGivesZeros) {
  std::vector<float> y(6, 3.f);
  std::vector<float> x, w;
  linear(x.data(), 2, 0, w.data(), DType::F32, 3, y.data());
  for (float v : y) EXPECT_EQ(v, 0.f);
}

TEST(Gemm, RejectsUnsupportedWeightDtype) {
  std::vector<float> x(4, 1.f), y(2);
  std::vector<int32_t> w(8, 1);
  EXPECT_THROW(linear(x.data(), 1, 4, w.data(), DType::I32, 2, y.data()), Unsupported);
}

TEST(Gemm, BestPathIsSupported) {
  for (DType dt : {DType::F32, DType::F16, DType::BF16})
    EXPECT_TRUE(gemm_path_supported(best_gemm_path(dt)));
}

}  // namespace
}  // namespace deepfuse::cpu
