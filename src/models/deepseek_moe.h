// DeepSeekMoE: shared experts plus top-k routed experts chosen by a gate.
//
// Routing reproduces transformers 5.17 exactly:
// - DeepseekV2: softmax scores; `greedy` top-k, or `group_limited_greedy` (group score = max
//   expert score; experts outside the best topk_group groups are masked to 0); weights =
//   scores x routed_scaling_factor (transformers' V2 never renormalises: norm_topk_prob is
//   ignored, as in the DeepSeek-V2 configs, which all set it false).
// - DeepseekV3 (noaux_tc): sigmoid scores; choice on scores + e_score_correction_bias with
//   group score = sum of the group's two best; others masked to -inf; weights = the chosen
//   experts' *uncorrected* scores, divided by their sum (+1e-20) when norm_topk_prob, times
//   routed_scaling_factor.
// A V2 folder that asks for sigmoid / noaux_tc gets the V3 rule (the DeepSeek reference code).
//
// Routing and the grouped expert execution are ops (ops::moe_route, ops::moe_experts): tokens
// are grouped by expert, so each selected expert's weights are read once per step however
// many tokens picked it, and every (token, expert) pick is counted.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "formats/deepseek_config.h"
#include "ops/ops.h"

namespace deepfuse {

struct MlpWeights {
  Tensor gate_proj;  // [inter, hidden]
  Tensor up_proj;    // [inter, hidden]
  Tensor down_proj;  // [hidden, inter]
};

using ops::MoeScoring;
using ops::MoeTopk;
// The routing rule of `cfg`, parsed once at load (not compared as strings per call).
// FormatError naming the value when scoring_func / topk_method is unknown.
ops::MoeRouteParams moe_router(const DeepseekConfig& cfg);

struct MoeWeights {
  ops::MoeRouteParams router;
  Tensor gate;                     // router [n_routed_experts, hidden], f32
  Tensor e_score_correction_bias;  // [n_routed_experts] f32 (noaux_tc only)
  std::vector<MlpWeights> experts;
  MlpWeights shared;  // defined when n_shared_experts > 0
  bool has_shared = false;
};

// out [n, hidden] = down(silu(gate(x)) * up(x)).
void mlp_forward(const MlpWeights& w, const Tensor& x, Tensor& out);

// Routing decision for n tokens: ids/weights [n, k] row-major.
struct MoeRouting {
  int64_t k = 0;
  std::vector<int32_t> ids;
  std::vector<float> weights;
};
MoeRouting moe_route(const DeepseekConfig& cfg, const MoeWeights& w, const Tensor& x);

// out [n, hidden] = shared(x) + sum_k weight_k * expert_k(x). Adds each expert's number of
// tokens to `counts` (n_routed_experts entries) when not null.
void moe_forward(const DeepseekConfig& cfg, const MoeWeights& w, const Tensor& x, Tensor& out,
                 int64_t* counts);

}  // namespace deepfuse
