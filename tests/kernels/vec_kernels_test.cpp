// The per-ISA row kernels against double-precision definitions, for every ISA this CPU has.
// Tolerances: norms and softmax 2e-6 relative to the row scale; activations 4e-6 relative
// (+1.5e-7 * |x| absolute); exp_approx 3e-7 relative.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/cpu_features.h"
#include "kernels/cpu/vec_kernels.h"

namespace deepfuse::cpu {
namespace {

std::vector<Isa> isas() {
  std::vector<Isa> v = {Isa::Scalar};
  const CpuFeatures& f = cpu_features();
  if (f.avx2 && f.fma && f.f16c) v.push_back(Isa::Avx2);
  if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq) v.push_back(Isa::Avx512);
  return v;
}

std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

double act_ref(double x, Activation a) {
  switch (a) {
    case Activation::SiLU:
      return x / (1 + std::exp(-x));
    case Activation::GELU:
      return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0)));
    case Activation::GELUTanh:
      return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    case Activation::ReLU:
      return x > 0 ? x : 0;
    case Activation::GELUQuick:
      return x / (1 + std::exp(-1.702 * x));
  }
  return 0;
}

TEST(ExpApprox, AccurateOverSoftmaxRange) {
  for (float x = -87.f; x <= 88.f; x += 0.01237f) {
    const double want = std::exp(static_cast<double>(x));
    EXPECT_NEAR(exp_approx(x), want, 3e-7 * want) << x;
  }
  EXPECT_EQ(exp_approx(-INFINITY), 0.f);
  EXPECT_EQ(exp_approx(-100.f), 0.f);
  EXPECT_EQ(exp_approx(0.f), 1.f);
}

TEST(VecKernels, NormsMatchDefinition) {
  for (Isa isa : isas()) {
    const VecKernels& k = vec_kernels(isa);
    for (int64_t d : {1, 7, 64, 896, 1001}) {
      const int64_t rows = 3;
      const auto x = randn(static_cast<size_t>(rows * d), 1 + static_cast<uint32_t>(d), 2.f);
      const auto w = randn(static_cast<size_t>(d), 2, 1.f);
      const auto b = randn(static_cast<size_t>(d), 3, 1.f);
      std::vector<float> y(x.size()), z(x.size());
      k.rms_norm(x.data(), y.data(), rows, d, w.data(), 1e-6f, 0.f);
      k.layer_norm(x.data(), z.data(), rows, d, w.data(), b.data(), 1e-5f);
      for (int64_t r = 0; r < rows; ++r) {
        double ss = 0, s = 0;
        for (int64_t i = 0; i < d; ++i) {
          ss += double(x[r * d + i]) * x[r * d + i];
          s += x[r * d + i];
        }
        const double inv = 1 / std::sqrt(ss / d + 1e-6);
        const double mean = s / d;
        double var = 0;
        for (int64_t i = 0; i < d; ++i) var += (x[r * d + i] - mean) * (x[r * d + i] - mean);
        const double linv = 1 / std::sqrt(var / d + 1e-5);
        for (int64_t i = 0; i < d; ++i) {
          const double want = x[r * d + i] * inv * w[i];
          ASSERT_NEAR(y[r * d + i], want, 2e-6 * (std::fabs(w[i]) * inv * 3 + 1e-3))
              << isa_name(isa);
          const double lwant = (x[r * d + i] - mean) * linv * w[i] + b[i];
          ASSERT_NEAR(z[r * d + i], lwant, 2e-5 * (std::fabs(w[i]) * 3 + 1)) << isa_name(isa);
        }
      }
      // In place, with a Gemma-style +1 offset.
      std::vector<float> xi = x;
      k.rms_norm(xi.data(), xi.data(), rows, d, w.data(), 1e-6f, 1.f);
      std::vector<float> wp(w);
      for (float& v : wp) v += 1.f;
      k.rms_norm(x.data(), y.data(), rows, d, wp.data(), 1e-6f, 0.f);
      EXPECT_EQ(xi, y);
    }
  }
}

TEST(VecKernels, ActivationsMatchDefinition) {
  const auto x = randn(1037, 5, 3.f);
  for (Isa isa : isas()) {
    const VecKernels& k = vec_kernels(isa);
    for (Activation a : {Activation::SiLU, Activation::GELU, Activation::GELUTanh, Activation::ReLU,
                         Activation::GELUQuick}) {
      std::vector<float> y = x;
      k.act(y.data(), static_cast<int64_t>(y.size()), a);
      const auto up = randn(x.size(), 6);
      std::vector<float> m(x.size());
      k.act_mul(x.data(), up.data(), m.data(), static_cast<int64_t>(x.size()), a);
      for (size_t i = 0; i < x.size(); ++i) {
        const double want = act_ref(x[i], a);
        // The absolute term covers f32 cancellation in 1 + erf(x) for x << 0, which torch's
        // f32 GELU has too.
        const double tol = 4e-6 * std::fabs(want) + 1.5e-7 * std::fabs(x[i]) + 1e-7;
        ASSERT_NEAR(y[i], want, tol)
            << isa_name(isa) << " act " << static_cast<int>(a) << " x=" << x[i];
        ASSERT_NEAR(m[i], want * up[i], tol * std::fabs(up[i]) + 1e-7);
      }
    }
  }
}

TEST(VecKernels, SoftmaxAddScaleDot) {
  for (Isa isa : isas()) {
    const VecKernels& k = vec_kernels(isa);
    for (int64_t n : {1, 5, 16, 300}) {
      auto x = randn(static_cast<size_t>(n), 9, 4.f);
      if (n > 3) x[2] = -INFINITY;  // masked entry
      std::vector<float> s = x;
      k.softmax(s.data(), n);
      double mx = -INFINITY, sum = 0;
      for (float v : x) mx = std::max<double>(mx, v);
      for (float v : x) sum += std::exp(v - mx);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_NEAR(s[i], std::exp(x[i] - mx) / sum, 2e-6) << isa_name(isa);
      const auto y = randn(static_cast<size_t>(n), 10);
      const auto z = randn(static_cast<size_t>(n), 11);
      double dot = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        dot += double(y[i]) * z[i];
        mag += std::fabs(double(y[i]) * z[i]);
      }
      EXPECT_NEAR(k.dot(y.data(), z.data(), n), dot, 2e-6 * mag + 1e-7);
      std::vector<float> a = y;
      k.add(a.data(), z.data(), n);
      k.scale(a.data(), n, 0.5f);
      for (int64_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(a[i], (y[i] + z[i]) * 0.5f);
    }
    std::vector<float> all_masked(4, -INFINITY);
    k.softmax(all_masked.data(), 4);
    for (float v : all_masked) EXPECT_EQ(v, 0.f);
  }
}

}  // namespace
}  // namespace deepfuse::cpu
