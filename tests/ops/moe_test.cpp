// MoE routing (every scoring/top-k rule) and grouped expert execution against plain
// definitions on random inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/error.h"
#include "ops/ops.h"

namespace deepfuse::ops {
namespace {

std::vector<float> randv(size_t n, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, scale);
  std::vector<float> v(n);
  for (float& x : v) x = nd(rng);
  return v;
}

// The definition, in double, by full sorts: chosen experts (sorted) and their weights.
void reference_route(const float* l, int64_t E, const MoeRouteParams& p, const float* bias,
                     std::vector<int32_t>& ids, std::vector<double>& wts) {
  std::vector<double> sc(static_cast<size_t>(E));
  if (p.scoring == MoeScoring::Sigmoid) {
    for (int64_t e = 0; e < E; ++e) sc[e] = 1.0 / (1.0 + std::exp(-static_cast<double>(l[e])));
  } else {
    double mx = *std::max_element(l, l + E), sum = 0.0;
    for (int64_t e = 0; e < E; ++e) sum += (sc[e] = std::exp(l[e] - mx));
    for (double& v : sc) v /= sum;
  }
  std::vector<double> choice = sc;
  const int64_t G = p.n_group, per = E / G;
  if (p.method == MoeTopk::NoauxTc)
    for (int64_t e = 0; e < E; ++e) choice[e] += bias ? bias[e] : 0.0;
  if (p.method != MoeTopk::Greedy) {
    std::vector<std::pair<double, int64_t>> gs;
    for (int64_t g = 0; g < G; ++g) {
      std::vector<double> in(choice.begin() + g * per, choice.begin() + (g + 1) * per);
      std::sort(in.rbegin(), in.rend());
      gs.push_back({p.method == MoeTopk::NoauxTc ? in[0] + (per > 1 ? in[1] : 0.0) : in[0], g});
    }
    std::sort(gs.begin(), gs.end(), [](auto a, auto b) { return a.first > b.first; });
    std::vector<bool> keep(static_cast<size_t>(G), false);
    for (int64_t i = 0; i < p.topk_group; ++i) keep[gs[i].second] = true;
    for (int64_t e = 0; e < E; ++e)
      if (!keep[e / per]) choice[e] = p.method == MoeTopk::NoauxTc ? -1e30 : 0.0;
  }
  std::vector<int32_t> order(static_cast<size_t>(E));
  for (int32_t e = 0; e < E; ++e) order[e] = e;
  std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return choice[a] > choice[b]; });
  ids.assign(order.begin(), order.begin() + p.top_k);
  std::sort(ids.begin(), ids.end());
  wts.clear();
  double sum = 0.0;
  for (int32_t e : ids) {
    wts.push_back(p.method == MoeTopk::NoauxTc ? sc[e] : choice[e]);
    sum += wts.back();
  }
  for (double& w : wts) {
    if (p.method == MoeTopk::NoauxTc && p.norm_topk_prob) w /= sum;
    w *= p.routed_scaling_factor;
  }
}

void check_route(MoeScoring scoring, MoeTopk method, bool norm) {
  const int64_t n = 40, E = 16;
  MoeRouteParams p;
  p.scoring = scoring;
  p.method = method;
  p.top_k = 4;
  p.n_group = 4;
  p.topk_group = 2;
  p.norm_topk_prob = norm;
  p.routed_scaling_factor = 2.5f;
  const std::vector<float> lv = randv(static_cast<size_t>(n * E), 11, 2.f);
  const std::vector<float> bv = randv(static_cast<size_t>(E), 12, 0.1f);
  const Tensor logits = Tensor::from_vector(lv, {n, E});
  const Tensor bias = Tensor::from_vector(bv, {E});
  Tensor ids = Tensor::empty(DType::I32, {n, p.top_k});
  Tensor wts = Tensor::empty(DType::F32, {n, p.top_k});
  moe_route(logits, method == MoeTopk::NoauxTc ? &bias : nullptr, p, ids, wts);
  for (int64_t t = 0; t < n; ++t) {
    std::vector<int32_t> want_ids;
    std::vector<double> want_w;
    reference_route(lv.data() + t * E, E, p, method == MoeTopk::NoauxTc ? bv.data() : nullptr,
                    want_ids, want_w);
    std::vector<std::pair<int32_t, float>> got;
    for (int64_t i = 0; i < p.top_k; ++i)
      got.push_back({ids.data<int32_t>()[t * p.top_k + i], wts.data<float>()[t * p.top_k + i]});
    std::sort(got.begin(), got.end());
    for (int64_t i = 0; i < p.top_k; ++i) {
      EXPECT_EQ(got[i].first, want_ids[i]) << "token " << t;
      // f32 softmax/sigmoid vs double: a few ulps of values <= routed_scaling_factor.
      EXPECT_NEAR(got[i].second, want_w[i], 1e-5) << "token " << t;
    }
  }
}

TEST(MoeRoute, SoftmaxGreedy) {
  check_route(MoeScoring::Softmax, MoeTopk::Greedy, false);
}
TEST(MoeRoute, SoftmaxGroupLimitedGreedy) {
  check_route(MoeScoring::Softmax, MoeTopk::GroupLimitedGreedy, false);
}
TEST(MoeRoute, SigmoidNoauxTcNormalised) {
  check_route(MoeScoring::Sigmoid, MoeTopk::NoauxTc, true);
}
TEST(MoeRoute, SigmoidNoauxTcUnnormalised) {
  check_route(MoeScoring::Sigmoid, MoeTopk::NoauxTc, false);
}

TEST(MoeRoute, RejectsBadParams) {
  const Tensor logits = Tensor::from_vector(randv(30, 1), {3, 10});
  Tensor ids = Tensor::empty(DType::I32, {3, 2});
  Tensor wts = Tensor::empty(DType::F32, {3, 2});
  MoeRouteParams p;
  p.top_k = 11;
  EXPECT_THROW(moe_route(logits, nullptr, p, ids, wts), InvalidArgument);
  p.top_k = 2;
  p.method = MoeTopk::GroupLimitedGreedy;
  p.n_group = 3;  // 10 experts do not split into 3 groups
  EXPECT_THROW(moe_route(logits, nullptr, p, ids, wts), InvalidArgument);
  p.method = MoeTopk::Greedy;
  Tensor ids_f = Tensor::empty(DType::F32, {3, 2});
  EXPECT_THROW(moe_route(logits, nullptr, p, ids_f, wts), InvalidArgument);
}

TEST(MoeExperts, GroupedMatchesPerTokenDefinition) {
  const int64_t n = 9, hidden = 12, inter = 20, E = 5, k = 2;
  std::vector<Tensor> w;
  std::vector<MoeExpert> experts(static_cast<size_t>(E));
  w.reserve(static_cast<size_t>(3 * E));
  for (int64_t e = 0; e < E; ++e) {
    w.push_back(Tensor::from_vector(randv(inter * hidden, 100 + e, 0.3f), {inter, hidden}));
    w.push_back(Tensor::from_vector(randv(inter * hidden, 200 + e, 0.3f), {inter, hidden}));
    w.push_back(Tensor::from_vector(randv(hidden * inter, 300 + e, 0.3f), {hidden, inter}));
    experts[e] = {&w[3 * e], &w[3 * e + 1], &w[3 * e + 2]};
  }
  const std::vector<float> xv = randv(n * hidden, 5);
  const Tensor x = Tensor::from_vector(xv, {n, hidden});
  std::vector<int32_t> idv;
  std::vector<float> wv;
  for (int64_t t = 0; t < n; ++t) {
    idv.push_back(static_cast<int32_t>(t % E));
    idv.push_back(static_cast<int32_t>((t * 3 + 1) % E));
    wv.push_back(0.25f + 0.1f * t);
    wv.push_back(-0.5f);
  }
  const Tensor ids = Tensor::from_vector(idv, {n, k});
  const Tensor wts = Tensor::from_vector(wv, {n, k});
  Tensor out = Tensor::empty(DType::F32, {n, hidden});
  std::vector<int64_t> counts(static_cast<size_t>(E), 0);
  moe_experts(x, ids, wts, experts, Activation::SiLU, out, counts.data());
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  EXPECT_EQ(total, n * k);
  double worst = 0.0;
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> o(static_cast<size_t>(hidden), 0.0);
    for (int64_t i = 0; i < k; ++i) {
      const int32_t e = idv[t * k + i];
      const auto g = w[3 * e].to_f32_vector(), u = w[3 * e + 1].to_f32_vector(),
                 d = w[3 * e + 2].to_f32_vector();
      std::vector<double> h(static_cast<size_t>(inter));
      for (int64_t j = 0; j < inter; ++j) {
        double gs = 0.0, us = 0.0;
        for (int64_t c = 0; c < hidden; ++c) {
          gs += g[j * hidden + c] * xv[t * hidden + c];
          us += u[j * hidden + c] * xv[t * hidden + c];
        }
        h[j] = gs / (1.0 + std::exp(-gs)) * us;
      }
      for (int64_t c = 0; c < hidden; ++c) {
        double y = 0.0;
        for (int64_t j = 0; j < inter; ++j) y += d[c * inter + j] * h[j];
        o[c] += wv[t * k + i] * y;
      }
    }
    for (int64_t c = 0; c < hidden; ++c)
      worst = std::max(worst, std::abs(o[c] - out.data<float>()[t * hidden + c]));
  }
  // f32 products of length <= 20 of O(1) values against double.
  EXPECT_LT(worst, 1e-4);
  Tensor bad = Tensor::from_vector(std::vector<int32_t>(n * k, 7), {n, k});
  EXPECT_THROW(moe_experts(x, bad, wts, experts, Activation::SiLU, out), InvalidArgument);
}

}  // namespace
}  // namespace deepfuse::ops
