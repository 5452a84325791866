#include "models/deepseek_moe.h"

#include "core/error.h"
#include "ops/ops.h"

namespace deepfuse {

ops::MoeRouteParams moe_router(const DeepseekConfig& cfg) {
  ops::MoeRouteParams r;
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
  r.top_k = cfg.num_experts_per_tok;
  r.n_group = cfg.n_group > 0 ? cfg.n_group : 1;
  r.topk_group = cfg.topk_group > 0 ? cfg.topk_group : r.n_group;
  r.norm_topk_prob = r.method == MoeTopk::NoauxTc && cfg.norm_topk_prob;
  r.routed_scaling_factor = static_cast<float>(cfg.routed_scaling_factor);
  return r;
}

void mlp_forward(const MlpWeights& w, const Tensor& x, Tensor& out) {
  Tensor g = ops::linear(x, w.gate_proj);  // [n, inter]
  Tensor u = ops::linear(x, w.up_proj);    // [n, inter]
  ops::act_mul(g, u, Activation::SiLU, g);
  out = ops::linear(g, w.down_proj);  // [n, hidden]
}

MoeRouting moe_route(const DeepseekConfig& /*cfg*/, const MoeWeights& w, const Tensor& x) {
  const int64_t n = x.dim(0), k = w.router.top_k;
  // transformers computes the router in f32 whatever the model dtype (gate is f32 here).
  const Tensor logits = ops::linear(x, w.gate);  // [n, E]
  Tensor ids = Tensor::empty(DType::I32, Shape{n, k});
  Tensor wts = Tensor::empty(DType::F32, Shape{n, k});
  const Tensor* bias = w.e_score_correction_bias.defined() ? &w.e_score_correction_bias : nullptr;
  ops::moe_route(logits, bias, w.router, ids, wts);
  MoeRouting r;
  r.k = k;
  r.ids.assign(ids.data<int32_t>(), ids.data<int32_t>() + n * k);
  r.weights.assign(wts.data<float>(), wts.data<float>() + n * k);
  return r;
}

void moe_forward(const DeepseekConfig& /*cfg*/, const MoeWeights& w, const Tensor& x, Tensor& out,
                 int64_t* counts) {
  const int64_t n = x.dim(0), hidden = x.dim(1), k = w.router.top_k;
  const Tensor logits = ops::linear(x, w.gate);  // [n, E] (router in f32, as transformers)
  Tensor ids = Tensor::empty(DType::I32, Shape{n, k});
  Tensor wts = Tensor::empty(DType::F32, Shape{n, k});
  const Tensor* bias = w.e_score_correction_bias.defined() ? &w.e_score_correction_bias : nullptr;
  ops::moe_route(logits, bias, w.router, ids, wts);
  std::vector<ops::MoeExpert> experts(w.experts.size());
  for (size_t e = 0; e < experts.size(); ++e)
    experts[e] = {&w.experts[e].gate_proj, &w.experts[e].up_proj, &w.experts[e].down_proj};
  out = Tensor::empty(DType::F32, Shape{n, hidden});
  ops::moe_experts(x, ids, wts, experts, Activation::SiLU, out, counts);
  if (w.has_shared) {
    Tensor ys;
    mlp_forward(w.shared, x, ys);
    ops::add_inplace(out, ys);
  }
}

}  // namespace deepfuse
