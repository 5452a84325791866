// MoE routing and grouped expert execution front-ends (DeepSeekMoE rules, transformers 5.17).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <vector>

#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

namespace {

// Indices of the k largest values (ties: lower index first), as a set (order irrelevant:
// the routed sum does not depend on it).
void top_k(const float* v, int64_t n, int64_t k, std::vector<int32_t>& idx) {
  idx.resize(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(),
                    [&](int32_t a, int32_t b) { return v[a] > v[b] || (v[a] == v[b] && a < b); });
  idx.resize(static_cast<size_t>(k));
}

void route_cpu(const Tensor& logits, const float* bias, const MoeRouteParams& p, int32_t* ids_out,
               float* wts_out) {
  const int64_t n = logits.dim(0), E = logits.dim(1), k = p.top_k;
  const int64_t groups = p.n_group > 0 ? p.n_group : 1;
  const int64_t per_group = E / groups;
  const bool v3_rule = p.method == MoeTopk::NoauxTc;
  std::vector<float> scores(static_cast<size_t>(E)), choice(static_cast<size_t>(E));
  std::vector<float> group_scores(static_cast<size_t>(groups));
  std::vector<int32_t> idx, gidx;
  for (int64_t t = 0; t < n; ++t) {
    const float* l = logits.data<float>() + t * E;
    if (p.scoring == MoeScoring::Sigmoid) {
      for (int64_t e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-l[e]));
    } else {
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t e = 0; e < E; ++e) mx = std::max(mx, l[e]);
      float sum = 0.f;
      for (int64_t e = 0; e < E; ++e) sum += (scores[e] = std::exp(l[e] - mx));
      for (int64_t e = 0; e < E; ++e) scores[e] /= sum;
    }
    int32_t* ids = ids_out + t * k;
    float* wts = wts_out + t * k;
    if (v3_rule) {
      for (int64_t e = 0; e < E; ++e) choice[e] = scores[e] + (bias ? bias[e] : 0.f);
      // Group score: sum of the two best corrected scores in the group.
      for (int64_t g = 0; g < groups; ++g) {
        const float* c = choice.data() + g * per_group;
        float a = -std::numeric_limits<float>::infinity(), b = a;
        for (int64_t i = 0; i < per_group; ++i) {
          if (c[i] > a) {
            b = a;
            a = c[i];
          } else if (c[i] > b) {
            b = c[i];
          }
        }
        group_scores[g] = per_group >= 2 ? a + b : a;
      }
      top_k(group_scores.data(), groups, p.topk_group, gidx);
      std::vector<char> keep(static_cast<size_t>(groups), 0);
      for (int32_t g : gidx) keep[g] = 1;
      for (int64_t e = 0; e < E; ++e)
        if (!keep[e / per_group]) choice[e] = -std::numeric_limits<float>::infinity();
      top_k(choice.data(), E, k, idx);
      float sum = 0.f;
      for (int64_t i = 0; i < k; ++i) {
        ids[i] = idx[i];
        wts[i] = scores[idx[i]];
        sum += wts[i];
      }
      if (p.norm_topk_prob)
        for (int64_t i = 0; i < k; ++i) wts[i] /= (sum + 1e-20f);
    } else {
      if (p.method == MoeTopk::GroupLimitedGreedy) {
        for (int64_t g = 0; g < groups; ++g) {
          const float* c = scores.data() + g * per_group;
          group_scores[g] = *std::max_element(c, c + per_group);
        }
        top_k(group_scores.data(), groups, p.topk_group, gidx);
        std::vector<char> keep(static_cast<size_t>(groups), 0);
        for (int32_t g : gidx) keep[g] = 1;
        for (int64_t e = 0; e < E; ++e) choice[e] = keep[e / per_group] ? scores[e] : 0.f;
      } else {
        choice = scores;
      }
      top_k(choice.data(), E, k, idx);
      for (int64_t i = 0; i < k; ++i) {
        ids[i] = idx[i];
        wts[i] = choice[idx[i]];
      }
    }
    for (int64_t i = 0; i < k; ++i) wts[i] *= p.routed_scaling_factor;
  }
}

}  // namespace

void moe_route(const Tensor& logits, const Tensor* correction_bias, const MoeRouteParams& p,
               Tensor& ids, Tensor& weights) {
  DF_PROFILE_OP("moe_route");
  require_f32("moe_route", "logits", logits);
  DF_CHECK(logits.ndim() == 2, InvalidArgument,
           "moe_route: 'logits' must be [n_tokens, n_experts], got " << logits.shape().str());
  const int64_t n = logits.dim(0), E = logits.dim(1);
  const int64_t groups = p.n_group > 0 ? p.n_group : 1;
  DF_CHECK(p.top_k >= 1 && p.top_k <= E, InvalidArgument,
           "moe_route: top_k " << p.top_k << " must be in [1, " << E << "]");
  DF_CHECK(p.method == MoeTopk::Greedy || E % groups == 0, InvalidArgument,
           "moe_route: " << E << " experts do not split into n_group " << groups);
  DF_CHECK(p.method == MoeTopk::Greedy || (p.topk_group >= 1 && p.topk_group <= groups),
           InvalidArgument,
           "moe_route: topk_group " << p.topk_group << " must be in [1, " << groups << "]");
  DF_CHECK(p.method == MoeTopk::Greedy || p.topk_group * (E / groups) >= p.top_k,
           InvalidArgument,
           "moe_route: topk_group " << p.topk_group << " groups of " << E / groups
                                    << " experts cannot hold top_k " << p.top_k);
  if (correction_bias) {
    require_f32("moe_route", "correction_bias", *correction_bias);
    require_shape("moe_route", "correction_bias", *correction_bias, {E});
  }
  DF_CHECK(ids.defined() && ids.dtype() == DType::I32, InvalidArgument,
           "moe_route: 'ids' must be int32, got " << (ids.defined() ? ids.describe() : "undefined"));
  require_shape("moe_route", "ids", ids, {n, p.top_k});
  require_f32("moe_route", "weights", weights);
  require_shape("moe_route", "weights", weights, {n, p.top_k});
  dispatch("moe_route", {&logits, correction_bias, &ids, &weights}, [&] {
    route_cpu(logits, correction_bias ? correction_bias->data<float>() : nullptr, p,
              ids.data<int32_t>(), weights.data<float>());
  });
}

void moe_experts(const Tensor& x, const Tensor& ids, const Tensor& weights,
                 const std::vector<MoeExpert>& experts, Activation act, Tensor& out,
                 int64_t* counts) {
  DF_PROFILE_OP("moe_experts");
  require_f32("moe_experts", "x", x);
  DF_CHECK(x.ndim() == 2, InvalidArgument,
           "moe_experts: 'x' must be [n_tokens, hidden], got " << x.shape().str());
  const int64_t n = x.dim(0), hidden = x.dim(1);
  DF_CHECK(ids.defined() && ids.dtype() == DType::I32 && ids.ndim() == 2 && ids.dim(0) == n,
           InvalidArgument,
           "moe_experts: 'ids' must be int32 [" << n << ", k], got "
                                                << (ids.defined() ? ids.describe() : "undefined"));
  const int64_t k = ids.dim(1);
  require_f32("moe_experts", "weights", weights);
  require_shape("moe_experts", "weights", weights, {n, k});
  require_f32("moe_experts", "out", out);
  require_shape("moe_experts", "out", out, {n, hidden});
  const int64_t E = static_cast<int64_t>(experts.size());
  for (int64_t i = 0; i < n * k; ++i) {
    const int32_t e = ids.data<int32_t>()[i];
    DF_CHECK(e >= 0 && e < E, InvalidArgument,
             "moe_experts: expert id " << e << " at " << i << " outside [0, " << E << ")");
  }
  dispatch("moe_experts", {&x, &ids, &weights, &out}, [&] {
    // Group the (token, weight) pairs by expert: each chosen expert's weights are read once
    // per step however many tokens picked it.
    std::vector<std::vector<std::pair<int32_t, float>>> by_expert(static_cast<size_t>(E));
    const int32_t* id = ids.data<int32_t>();
    const float* wt = weights.data<float>();
    for (int64_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < k; ++i)
        by_expert[static_cast<size_t>(id[t * k + i])].push_back(
            {static_cast<int32_t>(t), wt[t * k + i]});
    float* o = out.data<float>();
    std::fill(o, o + n * hidden, 0.f);
    for (int64_t e = 0; e < E; ++e) {
      const auto& toks = by_expert[static_cast<size_t>(e)];
      if (toks.empty()) continue;
      if (counts) counts[e] += static_cast<int64_t>(toks.size());
      const MoeExpert& ex = experts[static_cast<size_t>(e)];
      const int64_t m = static_cast<int64_t>(toks.size());
      Tensor xe = Tensor::empty(DType::F32, Shape{m, hidden});  // [m, hidden] gathered rows
      for (int64_t i = 0; i < m; ++i)
        std::memcpy(xe.data<float>() + i * hidden, x.data<float>() + toks[i].first * hidden,
                    static_cast<size_t>(hidden) * sizeof(float));
      Tensor g = linear(xe, *ex.gate_proj);  // [m, inter]
      Tensor u = linear(xe, *ex.up_proj);    // [m, inter]
      act_mul(g, u, act, g);
      Tensor ye = linear(g, *ex.down_proj);  // [m, hidden]
      for (int64_t i = 0; i < m; ++i) {
        const float w = toks[i].second;
        const float* src = ye.data<float>() + i * hidden;
        float* dst = o + toks[i].first * hidden;
        for (int64_t d = 0; d < hidden; ++d) dst[d] += src[d] * w;
      }
    }
  });
}

}  // namespace deepfuse::ops
