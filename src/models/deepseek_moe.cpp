#include "models/deepseek_moe.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "core/error.h"
#include "ops/ops.h"
#include "ops/profiler.h"

namespace deepfuse {

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

}  // namespace

void mlp_forward(const MlpWeights& w, const Tensor& x, Tensor& out) {
  Tensor g = ops::linear(x, w.gate_proj);  // [n, inter]
  Tensor u = ops::linear(x, w.up_proj);    // [n, inter]
  ops::act_mul(g, u, Activation::SiLU, g);
  out = ops::linear(g, w.down_proj);  // [n, hidden]
}

MoeRouter moe_router(const DeepseekConfig& cfg) {
  MoeRouter r;
  if (cfg.is_v3 || cfg.topk_method == "noaux_tc") {
    // A V2 folder that asks for noaux_tc gets the V3 rule (the DeepSeek reference code).
    r.method = MoeTopk::NoauxTc;
  } else if (cfg.topk_method == "group_limited_greedy") {
    r.method = MoeTopk::GroupLimitedGreedy;
  } else if (cfg.topk_method == "greedy") {
    r.method = MoeTopk::Greedy;
  } else {
    throw FormatError("DeepSeek config.json: topk_method \"" + cfg.topk_method +
                      "\" is not one of greedy, group_limited_greedy, noaux_tc");
  }
  if (cfg.is_v3 || cfg.scoring_func == "sigmoid") {
    r.scoring = MoeScoring::Sigmoid;
  } else if (cfg.scoring_func == "softmax") {
    r.scoring = MoeScoring::Softmax;
  } else {
    throw FormatError("DeepSeek config.json: scoring_func \"" + cfg.scoring_func +
                      "\" is not one of softmax, sigmoid");
  }
  return r;
}

MoeRouting moe_route(const DeepseekConfig& cfg, const MoeWeights& w, const Tensor& x) {
  DF_PROFILE_OP("moe_route");
  const int64_t n = x.dim(0);
  const int64_t E = cfg.n_routed_experts, k = cfg.num_experts_per_tok;
  // transformers computes the router in f32 whatever the model dtype (gate is f32 here).
  Tensor logits = ops::linear(x, w.gate);  // [n, E]
  const bool v3_rule = w.router.method == MoeTopk::NoauxTc;
  const bool sigmoid = w.router.scoring == MoeScoring::Sigmoid;
  MoeRouting r;
  r.k = k;
  r.ids.resize(static_cast<size_t>(n * k));
  r.weights.resize(static_cast<size_t>(n * k));
  const int64_t groups = cfg.n_group > 0 ? cfg.n_group : 1;
  const int64_t per_group = E / groups;
  std::vector<float> scores(static_cast<size_t>(E)), choice(static_cast<size_t>(E));
  std::vector<float> group_scores(static_cast<size_t>(groups));
  std::vector<int32_t> idx, gidx;
  const float* bias =
      w.e_score_correction_bias.defined() ? w.e_score_correction_bias.data<float>() : nullptr;
  for (int64_t t = 0; t < n; ++t) {
    const float* l = logits.data<float>() + t * E;
    if (sigmoid) {
      for (int64_t e = 0; e < E; ++e) scores[e] = 1.0f / (1.0f + std::exp(-l[e]));
    } else {
      float mx = -std::numeric_limits<float>::infinity();
      for (int64_t e = 0; e < E; ++e) mx = std::max(mx, l[e]);
      float sum = 0.f;
      for (int64_t e = 0; e < E; ++e) sum += (scores[e] = std::exp(l[e] - mx));
      for (int64_t e = 0; e < E; ++e) scores[e] /= sum;
    }
    int32_t* ids = r.ids.data() + t * k;
    float* wts = r.weights.data() + t * k;
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
      top_k(group_scores.data(), groups, cfg.topk_group, gidx);
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
      if (cfg.norm_topk_prob)
        for (int64_t i = 0; i < k; ++i) wts[i] /= (sum + 1e-20f);
    } else {
      if (w.router.method == MoeTopk::GroupLimitedGreedy) {
        for (int64_t g = 0; g < groups; ++g) {
          const float* c = scores.data() + g * per_group;
          group_scores[g] = *std::max_element(c, c + per_group);
        }
        top_k(group_scores.data(), groups, cfg.topk_group, gidx);
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
    for (int64_t i = 0; i < k; ++i) wts[i] *= static_cast<float>(cfg.routed_scaling_factor);
  }
  return r;
}

void moe_forward(const DeepseekConfig& cfg, const MoeWeights& w, const Tensor& x, Tensor& out,
                 int64_t* counts) {
  const int64_t n = x.dim(0), hidden = x.dim(1), E = cfg.n_routed_experts;
  const MoeRouting r = moe_route(cfg, w, x);
  // Group the (token, weight) pairs by expert.
  std::vector<std::vector<std::pair<int32_t, float>>> by_expert(static_cast<size_t>(E));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t i = 0; i < r.k; ++i)
      by_expert[r.ids[t * r.k + i]].push_back({static_cast<int32_t>(t), r.weights[t * r.k + i]});

  out = Tensor::zeros(DType::F32, Shape{n, hidden});
  float* o = out.data<float>();
  for (int64_t e = 0; e < E; ++e) {
    const auto& toks = by_expert[static_cast<size_t>(e)];
    if (toks.empty()) continue;
    if (counts) counts[e] += static_cast<int64_t>(toks.size());
    DF_PROFILE_OP("moe_expert");
    const int64_t m = static_cast<int64_t>(toks.size());
    Tensor xe = Tensor::empty(DType::F32, Shape{m, hidden});  // [m, hidden] gathered rows
    for (int64_t i = 0; i < m; ++i)
      std::memcpy(xe.data<float>() + i * hidden, x.data<float>() + toks[i].first * hidden,
                  static_cast<size_t>(hidden) * sizeof(float));
    Tensor ye;
    mlp_forward(w.experts[static_cast<size_t>(e)], xe, ye);  // [m, hidden]
    for (int64_t i = 0; i < m; ++i) {
      const float wt = toks[i].second;
      const float* src = ye.data<float>() + i * hidden;
      float* dst = o + toks[i].first * hidden;
      for (int64_t d = 0; d < hidden; ++d) dst[d] += src[d] * wt;
    }
  }
  if (w.has_shared) {
    Tensor ys;
    mlp_forward(w.shared, x, ys);
    ops::add_inplace(out, ys);
  }
}

}  // namespace deepfuse
