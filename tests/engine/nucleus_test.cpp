// The sort-free top_p / typical_p against their plain full-sort definitions on random and
// adversarial rows (ties, flat, very peaked, bounds near 0 and 1, masked entries): the
// processed rows must be identical, bit for bit.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>

#include "engine/logits_processors.h"
#include "engine/nucleus.h"

namespace eng = deepfuse::engine;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Row shapes the warpers meet: Gaussian bulk, Zipf-like LM rows, flat, heavy ties, a single
// spike, quantised scores (many exact ties), and rows with masked (-inf) entries.
std::vector<float> make_row(int kind, size_t n, std::mt19937_64& rng) {
  std::vector<float> v(n);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  switch (kind % 9) {
    case 0:  // Gaussian bulk
      for (auto& x : v) x = 2.5f * g(rng);
      break;
    case 1: {  // Zipf-like: logit = -alpha * log(rank), ids shuffled
      std::vector<size_t> perm(n);
      std::iota(perm.begin(), perm.end(), 0);
      std::shuffle(perm.begin(), perm.end(), rng);
      const float alpha = 0.8f + 1.5f * u(rng);
      for (size_t r = 0; r < n; ++r)
        v[perm[r]] = -alpha * std::log(static_cast<float>(r + 1)) + 0.1f * g(rng);
      break;
    }
    case 2:  // flat
      std::fill(v.begin(), v.end(), 0.5f);
      break;
    case 3:  // few distinct values: ties everywhere
      for (auto& x : v) x = static_cast<float>(static_cast<int>(u(rng) * 4));
      break;
    case 4:  // one dominant token
      for (auto& x : v) x = g(rng);
      v[static_cast<size_t>(u(rng) * static_cast<float>(n - 1))] = 40.0f;
      break;
    case 5:  // quantised bf16-like scores
      for (auto& x : v) x = std::round(3.0f * g(rng) * 8.0f) / 8.0f;
      break;
    case 6:  // masked entries (after top-k / bad words)
      for (auto& x : v) x = u(rng) < 0.7f ? kNegInf : 3.0f * g(rng);
      break;
    case 7:  // two exact-tie spikes over a bulk
      for (auto& x : v) x = g(rng);
      v[n / 3] = v[n - 1 - n / 3] = 12.0f;
      break;
    default:  // very wide range: tiny probabilities and underflow to 0
      for (auto& x : v) x = 60.0f * g(rng);
      break;
  }
  return v;
}

void expect_same(const std::vector<float>& fast, const std::vector<float>& ref,
                 const std::string& what) {
  ASSERT_EQ(fast.size(), ref.size());
  size_t diff = 0, first = 0;
  for (size_t i = 0; i < fast.size(); ++i)
    if (std::memcmp(&fast[i], &ref[i], sizeof(float)) != 0 && diff++ == 0) first = i;
  EXPECT_EQ(diff, 0u) << what << ": first difference at " << first << " fast " << fast[first]
                      << " sorted " << ref[first];
}

size_t finite(const std::vector<float>& v) {
  return static_cast<size_t>(
      std::count_if(v.begin(), v.end(), [](float x) { return x != kNegInf; }));
}

}  // namespace

TEST(ExactSum, OrderIndependentAndExact) {
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> v;
  for (int i = 0; i < 5000; ++i) v.push_back(std::ldexp(u(rng), -static_cast<int>(u(rng) * 140)));
  v.push_back(std::numeric_limits<float>::denorm_min());
  eng::ExactSum a, b;
  for (float x : v) a.add(x);
  std::shuffle(v.begin(), v.end(), rng);
  for (float x : v) b.add(x);
  EXPECT_EQ(a.value(), b.value());
  // Small exact cases.
  eng::ExactSum c;
  c.add(0.5f);
  c.add(0.25f);
  c.add(std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(c.value(), 0.75 + std::ldexp(1.0, -149));
  EXPECT_EQ(c.to_float(), 0.75f);
  eng::ExactSum ones;
  for (int i = 0; i < 100000; ++i) ones.add(1.0f);
  EXPECT_EQ(ones.value(), 100000.0);
  // 1e-8 added 1e8 times: double accumulation drifts, the exact sum does not.
  eng::ExactSum tiny;
  for (int i = 0; i < 1 << 20; ++i) tiny.add(std::ldexp(1.0f, -30));
  EXPECT_EQ(tiny.value(), std::ldexp(1.0, -10));
}

TEST(ExactSum, MonotoneRounding) {
  std::mt19937_64 rng(9);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  eng::ExactSum s;
  double prev = 0;
  for (int i = 0; i < 20000; ++i) {
    s.add(std::ldexp(u(rng), -static_cast<int>(u(rng) * 60)));
    const double v = s.value();
    ASSERT_GE(v, prev);
    prev = v;
  }
}

TEST(Nucleus, TopPFastEqualsFullSort) {
  std::mt19937_64 rng(1234);
  const std::vector<float> ps = {1e-6f, 0.01f, 0.3f,   0.5f,     0.8f,
                                 0.9f,  0.95f, 0.999f, 0.99999f, 1.0f};
  const std::vector<size_t> sizes = {1, 2, 7, 100, 3000, 20000};
  int cases = 0;
  for (size_t n : sizes)
    for (int kind = 0; kind < 9; ++kind)
      for (float p : ps)
        for (int64_t mk : {int64_t{1}, int64_t{0}, int64_t{3}}) {
          const auto row = make_row(kind, n, rng);
          auto fast = row, ref = row;
          eng::top_p_fast(p, fast, mk);
          eng::top_p_sorted(p, ref, mk);
          expect_same(fast, ref,
                      "top_p " + std::to_string(p) + " kind " + std::to_string(kind) + " n " +
                          std::to_string(n) + " min_keep " + std::to_string(mk));
          if (p < 1.0f && mk >= 1) EXPECT_GE(finite(fast), std::min<size_t>(mk, finite(row)));
          ++cases;
        }
  EXPECT_EQ(cases, 6 * 9 * 10 * 3);
}

TEST(Nucleus, TypicalPFastEqualsFullSort) {
  std::mt19937_64 rng(77);
  const std::vector<float> masses = {1e-6f, 0.05f, 0.2f, 0.5f, 0.9f, 0.95f, 0.99999f, 1.0f};
  for (size_t n : {size_t{1}, size_t{3}, size_t{100}, size_t{5000}, size_t{20000}})
    for (int kind = 0; kind < 9; ++kind)
      for (float m : masses) {
        const auto row = make_row(kind, n, rng);
        auto fast = row, ref = row;
        eng::typical_p_fast(m, fast);
        eng::typical_p_sorted(m, ref);
        expect_same(fast, ref,
                    "typical_p " + std::to_string(m) + " kind " + std::to_string(kind) + " n " +
                        std::to_string(n));
        if (finite(row) > 0) EXPECT_GE(finite(fast), 1u);
      }
}

TEST(Nucleus, DegenerateRows) {
  // All masked: nothing to do. A single finite entry survives any bound.
  std::vector<float> all(50, kNegInf);
  auto a = all;
  eng::top_p(0.5f, a);
  expect_same(a, all, "all masked");
  eng::typical_p(0.5f, a);
  expect_same(a, all, "all masked typical");
  std::vector<float> one(50, kNegInf);
  one[17] = 2.0f;
  auto b = one;
  eng::top_p(1e-6f, b);
  eng::typical_p(1e-6f, b);
  expect_same(b, one, "single finite");
  // Exact ties at the boundary: transformers' ascending sort puts the lower id first, so the
  // lower id is removed first. p = 0.5 over four equal tokens keeps the two highest ids.
  std::vector<float> tie = {1, 1, 1, 1};
  eng::top_p(0.5f, tie);
  EXPECT_EQ(tie, (std::vector<float>{kNegInf, kNegInf, 1, 1}));
}

TEST(Nucleus, ExpApproxWithinTwoUlp) {
  auto ulps = [](float a, float b) {
    const int32_t ia = std::bit_cast<int32_t>(a), ib = std::bit_cast<int32_t>(b);
    return std::abs(static_cast<int64_t>(ia) - static_cast<int64_t>(ib));
  };
  int64_t worst = 0;
  float worst_x = 0;
  for (int i = 0; i <= 2000000; ++i) {
    const float x = -87.0f + 175.0f * static_cast<float>(i) / 2000000.0f;
    const float want = static_cast<float>(std::exp(static_cast<double>(x)));
    const int64_t u = ulps(eng::exp_approx(x), want);
    if (u > worst) worst = u, worst_x = x;
  }
  EXPECT_LE(worst, 2) << "at x = " << worst_x;
  EXPECT_EQ(eng::exp_approx(0.0f), 1.0f);
  EXPECT_EQ(eng::exp_approx(kNegInf), 0.0f);
  EXPECT_EQ(eng::exp_approx(-100.0f), 0.0f);
}
