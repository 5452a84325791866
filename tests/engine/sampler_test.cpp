// Sampling statistics (chi-square against the analytic distribution), determinism, greedy.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "engine/logits_processors.h"
#include "engine/sampler.h"

namespace eng = deepfuse::engine;

namespace {

const std::vector<double> kProbs = {0.30, 0.20, 0.15, 0.12, 0.10, 0.07, 0.04, 0.02};

std::vector<float> logits() {
  std::vector<float> l;
  for (double p : kProbs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

// Draws n samples after `warp`, returns the chi-square statistic against `expected` over the
// tokens with non-zero expected probability; any draw of a zero-probability token fails.
double chi_square(const std::function<void(std::span<float>)>& warp,
                  const std::vector<double>& expected, int n, uint64_t seed, int* dof) {
  std::vector<int> counts(expected.size(), 0);
  for (int i = 0; i < n; ++i) {
    auto s = logits();
    warp(s);
    ++counts[static_cast<size_t>(
        eng::sample_index(s, eng::uniform01(seed, static_cast<uint64_t>(i))))];
  }
  double chi = 0;
  *dof = -1;
  for (size_t k = 0; k < expected.size(); ++k) {
    if (expected[k] == 0) {
      EXPECT_EQ(counts[k], 0) << "token " << k << " should be filtered";
      continue;
    }
    const double e = expected[k] * n;
    chi += (counts[k] - e) * (counts[k] - e) / e;
    ++*dof;
  }
  return chi;
}

std::vector<double> normalized(std::vector<double> v) {
  const double s = std::accumulate(v.begin(), v.end(), 0.0);
  for (double& x : v) x /= s;
  return v;
}

// Chi-square critical values at p = 0.001.
double critical(int dof) {
  static const double kTable[] = {0, 10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12};
  return kTable[dof];
}

}  // namespace

TEST(Sampler, PhiloxIsDeterministicAndKeyed) {
  EXPECT_EQ(eng::uniform01(42, 7), eng::uniform01(42, 7));
  EXPECT_NE(eng::uniform01(42, 7), eng::uniform01(43, 7));
  EXPECT_NE(eng::uniform01(42, 7), eng::uniform01(42, 8));
  double mean = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = eng::uniform01(1, static_cast<uint64_t>(i));
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    mean += u;
  }
  EXPECT_NEAR(mean / 100000, 0.5, 0.005);
}

TEST(Sampler, PlainDistribution) {
  int dof;
  const double chi = chi_square([](std::span<float>) {}, kProbs, 20000, 11, &dof);
  EXPECT_LT(chi, critical(dof)) << "dof " << dof;
}

TEST(Sampler, Temperature) {
  const double t = 0.7;
  std::vector<double> e;
  for (double p : kProbs) e.push_back(std::pow(p, 1.0 / t));
  int dof;
  const double chi =
      chi_square([&](std::span<float> s) { eng::temperature(static_cast<float>(t), s); },
                 normalized(e), 20000, 12, &dof);
  EXPECT_LT(chi, critical(dof));
}

TEST(Sampler, TopK) {
  std::vector<double> e = kProbs;
  std::fill(e.begin() + 3, e.end(), 0.0);
  int dof;
  const double chi =
      chi_square([](std::span<float> s) { eng::top_k(3, s); }, normalized(e), 20000, 13, &dof);
  EXPECT_EQ(dof, 2);
  EXPECT_LT(chi, critical(dof));
}

TEST(Sampler, TopP) {
  // 0.30+0.20+0.15 = 0.65 < 0.7 <= 0.77: the 4 best tokens stay.
  std::vector<double> e = kProbs;
  std::fill(e.begin() + 4, e.end(), 0.0);
  int dof;
  const double chi =
      chi_square([](std::span<float> s) { eng::top_p(0.7f, s); }, normalized(e), 20000, 14, &dof);
  EXPECT_EQ(dof, 3);
  EXPECT_LT(chi, critical(dof));
}

TEST(Sampler, MinP) {
  // min_p 0.3 * 0.30 = 0.09: tokens with p >= 0.09 stay (the first 5).
  std::vector<double> e = kProbs;
  std::fill(e.begin() + 5, e.end(), 0.0);
  int dof;
  const double chi =
      chi_square([](std::span<float> s) { eng::min_p(0.3f, s); }, normalized(e), 20000, 15, &dof);
  EXPECT_EQ(dof, 4);
  EXPECT_LT(chi, critical(dof));
}

TEST(Sampler, CombinedWarpers) {
  // temperature 1.5 then top_k 6 then top_p 0.9.
  std::vector<double> e;
  for (double p : kProbs) e.push_back(std::pow(p, 1.0 / 1.5));
  e = normalized(e);
  std::fill(e.begin() + 6, e.end(), 0.0);
  e = normalized(e);
  // Ascending cumulative mass of the 6 survivors; drop while <= 0.1.
  std::vector<double> asc(e.begin(), e.begin() + 6);
  double cum = 0;
  for (int k = 5; k >= 0; --k) {
    cum += asc[static_cast<size_t>(k)];
    if (cum <= 0.1 + 1e-12) e[static_cast<size_t>(k)] = 0;
  }
  e = normalized(e);
  int dof;
  const double chi = chi_square(
      [](std::span<float> s) {
        eng::temperature(1.5f, s);
        eng::top_k(6, s);
        eng::top_p(0.9f, s);
      },
      e, 20000, 16, &dof);
  EXPECT_LT(chi, critical(dof));
}

TEST(Sampler, ArgmaxAndMaskedTokens) {
  std::vector<float> s = {1, 5, 5, -2};
  EXPECT_EQ(eng::argmax(s), 1);  // first maximum, like torch.argmax
  const float ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> m = {ninf, 0.0f, ninf, ninf};
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ(eng::sample_index(m, eng::uniform01(3, static_cast<uint64_t>(i))), 1);
  auto lp = eng::token_logprobs(std::vector<float>{0, 0, ninf, 0}, 1, 2);
  EXPECT_NEAR(lp.logprob, std::log(1.0 / 3), 1e-6);
  ASSERT_EQ(lp.top.size(), 2u);
  EXPECT_EQ(lp.top[0].id, 0);
}

TEST(Sampler, CandidatePathEqualsFullScan) {
  // After a small top-k the engine samples among the surviving ids only; the token must be
  // the one a scan of the whole processed row gives.
  std::vector<float> base(5000);
  for (size_t i = 0; i < base.size(); ++i)
    base[i] =
        static_cast<float>(4.0 * std::sin(static_cast<double>(i) * 12.9898) + eng::uniform01(9, i));
  deepfuse::GenerationConfig cfg;
  cfg.do_sample = true;
  cfg.temperature = 0.8;
  cfg.top_k = 40;
  cfg.top_p = 0.9;
  cfg.min_p = 0.02;
  cfg.typical_p = 0.95;
  const auto rc = eng::resolve_config(cfg, 1, 5000, 0);
  std::vector<int32_t> ids = {1, 2, 3};
  deepfuse::GenerationState st;
  st.ids = ids;
  st.prompt_len = 1;
  int used_candidates = 0;
  for (uint64_t step = 0; step < 300; ++step) {
    std::vector<float> full = base, fast = base;
    std::vector<int32_t> cand, none;
    eng::process_scores(rc, st, {}, full);
    eng::process_scores(rc, st, {}, fast, &cand);
    used_candidates += !cand.empty();
    EXPECT_EQ(full, fast);
    const double u = eng::uniform01(4, step);
    EXPECT_EQ(eng::choose_token(true, full, none, u), eng::choose_token(true, fast, cand, u));
  }
  EXPECT_EQ(used_candidates, 300);
}

TEST(Sampler, CandidatePathAfterTopPWithoutTopK) {
  // top_p without top_k on a peaked (Zipf-like) row leaves a few tokens; the engine then runs
  // min_p / typical_p and the draw on those alone. Same rows and tokens as the full scan.
  const size_t n = 5000;
  std::vector<float> base(n);
  for (size_t i = 0; i < n; ++i)
    base[i] = static_cast<float>(-1.3 * std::log(1.0 + static_cast<double>((i * 7919) % n)) +
                                 0.2 * eng::uniform01(3, i));
  for (double typical : {1.0, 0.9}) {
    deepfuse::GenerationConfig cfg;
    cfg.do_sample = true;
    cfg.temperature = 0.7;
    cfg.top_k = 0;
    cfg.top_p = 0.9;
    cfg.min_p = 0.01;
    cfg.typical_p = typical;
    const auto rc = eng::resolve_config(cfg, 1, static_cast<int64_t>(n), 0);
    std::vector<int32_t> ids = {1, 2, 3};
    deepfuse::GenerationState st;
    st.ids = ids;
    st.prompt_len = 1;
    int used_candidates = 0;
    for (uint64_t step = 0; step < 200; ++step) {
      std::vector<float> full = base, fast = base;
      std::vector<int32_t> cand, none;
      eng::process_scores(rc, st, {}, full);
      eng::process_scores(rc, st, {}, fast, &cand);
      used_candidates += !cand.empty();
      EXPECT_EQ(full, fast);
      // Every finite score is a candidate (min_p / typical_p may mask some candidates).
      size_t finite = 0;
      for (size_t i = 0; i < n; ++i)
        if (std::isfinite(fast[i])) {
          ++finite;
          EXPECT_TRUE(std::binary_search(cand.begin(), cand.end(), static_cast<int32_t>(i))) << i;
        }
      EXPECT_GT(finite, 0u);
      const double u = eng::uniform01(5, step);
      EXPECT_EQ(eng::choose_token(true, full, none, u), eng::choose_token(true, fast, cand, u));
    }
    EXPECT_EQ(used_candidates, 200);
  }
}
