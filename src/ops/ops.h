// Device-neutral op front-ends. Models and layers are written against these only.
//
// Each op validates shapes and dtypes (InvalidArgument naming the op and the tensor, with the
// expected and actual shapes), times itself into the profiler (ops/profiler.h) and dispatches
// on the tensors' device in one place (ops/dispatch.h): CPU -> kernels/cpu/ (best ISA at run
// time); CUDA -> Unsupported until the CUDA kernels exist, same calls.
//
// Conventions (core/tensor.h): shapes outermost first; activations are f32 and contiguous; a
// "[n, d]" argument accepts any tensor whose last dimension is d (leading dims flatten to n).
// Weights may be f32, f16 or bf16 (borrowed from the safetensors mmap, never copied).
// Outputs passed by reference must already have the right shape and f32 dtype; the
// returning overloads allocate them.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/vec_kernels.h"  // Activation
#include "core/forward_batch.h"
#include "core/kv_cache.h"
#include "ops/profiler.h"

namespace deepfuse::ops {

// ---- matmul ------------------------------------------------------------------------------
// y [n, out] = x [n, in] · w^T (+ bias), w [out, in] (HF nn.Linear layout) of F32/F16/BF16,
// bias [out] of any float dtype or nullptr. f32 accumulation. With bf16 weights x is rounded
// to bf16 first (as torch does in bfloat16; see kernels/cpu/gemm.h). y must not alias x.
void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y);
Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias = nullptr);

// Batched matmul over a leading batch dimension (MLA's per-head W_UK / W_UV products), f32:
//   BmmLayout::NK: y [B, m, n] = x [B, m, k] · w[b]^T, w [B, n, k] (per-batch nn.Linear layout)
//   BmmLayout::KN: y [B, m, n] = x [B, m, k] · w[b],   w [B, k, n]
// y must not alias x or w.
enum class BmmLayout { NK, KN };
void bmm(const Tensor& x, const Tensor& w, BmmLayout layout, Tensor& y);
Tensor bmm(const Tensor& x, const Tensor& w, BmmLayout layout);

// ---- embedding ---------------------------------------------------------------------------
// out [n, d] f32 = rows `ids` of table [vocab, d] (any float dtype). InvalidArgument when an id
// is outside [0, vocab).
void embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out);
Tensor embedding(const Tensor& table, const std::vector<int32_t>& ids);

// ---- norms -------------------------------------------------------------------------------
// y [n, d] = x / sqrt(mean(x^2) + eps) * (w + w_offset), w [d] any float dtype (w_offset = 1
// for Gemma-style norms). y may be x (in place).
void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& y, float w_offset = 0.f);
// y [n, d] = (x - mean) / sqrt(var + eps) * w + b; w [d], b [d] or nullptr. y may be x.
void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& y);

// ---- activations and elementwise ----------------------------------------------------------
// Parses config.json "hidden_act" / "hidden_activation" (InvalidArgument naming the value).
Activation activation_from_string(std::string_view name);
const char* activation_name(Activation a);
void act_inplace(Tensor& x, Activation a);
// out [n, d] = act(gate) * up, gate/up [n, d]; out may alias gate or up (Llama MLP:
// down(silu(gate(x)) * up(x))).
void act_mul(const Tensor& gate, const Tensor& up, Activation a, Tensor& out);
// Same with gate and up side by side in one [n, 2d] tensor (a fused gate_up projection):
// out [n, d] = act(gate_up[:, :d]) * gate_up[:, d:].
void act_mul_fused(const Tensor& gate_up, Activation a, Tensor& out);
// x += y (same shape; the residual add).
void add_inplace(Tensor& x, const Tensor& y);
// x [n, d] += b [d] broadcast over rows (b any float dtype).
void add_bias_inplace(Tensor& x, const Tensor& b);
void scale_inplace(Tensor& x, float s);
// Softmax over the last dimension, in place, numerically stable.
void softmax_inplace(Tensor& x);

// ---- rotary position embedding -----------------------------------------------------------
// cos/sin of position * inv_freq for each token, times attention_scaling, computed in f32 the
// way transformers does (freqs = f32(inv_freq * position); cos(freqs) * attention_scaling).
// Compute once per forward step and reuse for every layer.
struct RopeAngles {
  Tensor cos;  // [n_tokens, rot_dim / 2] f32
  Tensor sin;  // [n_tokens, rot_dim / 2] f32
  int64_t rot_dim() const { return cos.defined() ? 2 * cos.dim(1) : 0; }
};
RopeAngles rope_angles(const std::vector<int32_t>& positions, const std::vector<float>& inv_freq,
                       float attention_scaling = 1.f);
// Rotates dims [dim_offset, dim_offset + rot_dim) of every head of x [n_tokens, n_heads,
// head_dim] (f32, in place) by the angles of each token. Pairing:
// - interleaved = false: HF rotate_half, pairs (i, i + rot_dim/2) (Llama, Qwen, Mistral, ...);
// - interleaved = true: pairs (2i, 2i+1), rotated in place (GPT-J / DeepSeek `rope_interleave`).
//   transformers' DeepSeek code additionally de-interleaves its output (evens first, then odds);
//   that is the same fixed permutation of q and k, so q·k and attention are identical.
// dim_offset selects a sub-range (MLA: the rope part after qk_nope_head_dim); dims outside it
// are untouched (partial rotary).
void rope_inplace(Tensor& x, const RopeAngles& angles, bool interleaved, int64_t dim_offset = 0);

// ---- attention over the paged KV cache --------------------------------------------------
struct AttentionParams {
  int64_t n_kv_heads = 0;
  int64_t head_dim = 0;    // of q and k
  int64_t v_head_dim = 0;  // 0 = head_dim
  float scale = 0.f;       // softmax scale; 0 = 1/sqrt(head_dim)
  // 0 = none. HF Mistral semantics: a token at position p attends to positions > p - window.
  int32_t sliding_window = 0;
  float softcap = 0.f;  // 0 = none; else scores = softcap * tanh(scores / softcap)
};
// Stores the new tokens' K [n_tokens, n_kv, head_dim] and V [n_tokens, n_kv, v_head_dim] (f32)
// into layer `layer` of the cache, at each sequence's slots context_len + i, converted to the
// cache dtype (f32/bf16/f16). Slot layout: K of all kv heads, then V of all kv heads
// (width = n_kv * (head_dim + v_head_dim)).
void kv_write(const Tensor& k, const Tensor& v, const ForwardBatch& batch, KVCache& cache,
              int32_t layer);
// Same, reading the step's device-readable block tables (ForwardBatch::block_tables(), built
// once per step by the model and shared by every layer).
void kv_write(const Tensor& k, const Tensor& v, const BlockTables& tables, KVCache& cache,
              int32_t layer);
// out [n_tokens, n_heads, v_head_dim] = causal softmax(q K^T * scale) V, per sequence over its
// cached context and this step's tokens (call kv_write for this step first). Key i of a
// sequence is the token at index i of that sequence; the new token j of a slice sits at index
// context_len + j. n_heads must be a multiple of n_kv_heads (GQA/MQA).
void attention(const Tensor& q, const ForwardBatch& batch, const KVCache& cache, int32_t layer,
               const AttentionParams& params, Tensor& out);
void attention(const Tensor& q, const BlockTables& tables, const KVCache& cache, int32_t layer,
               const AttentionParams& params, Tensor& out);

// ---- multi-head latent attention (DeepSeek-V2/V3) over a latent paged cache ------------------
// Cache slot per token: [c (kv_lora_rank), k_pe (qk_rope_head_dim)] (width r + dr).
struct MlaParams {
  int64_t kv_lora_rank = 0;      // r
  int64_t qk_nope_head_dim = 0;  // dn
  int64_t qk_rope_head_dim = 0;  // dr
  int64_t v_head_dim = 0;        // dv
  float scale = 0.f;             // softmax scale (> 0)
};
// Writes latent [n, r] and rotated k_pe [n, (1,) dr] of the step's tokens into layer `layer`.
void mla_cache_write(const Tensor& latent, const Tensor& k_pe, const BlockTables& tables,
                     KVCache& cache, int32_t layer);
// Both forms write out [n, H * dv] rows of the tokens of sequences `seqs` (indices into
// `tables`; other rows untouched) = causal attention of q [n, H, dn + dr] (rope part rotated)
// over each sequence's cached latents (write this step's latents first).
// Absorbed (decode): scores on the latent directly, q_lat = W_UK[h]^T q_nope, o = W_UV[h] o_lat;
// w_uk [H, dn, r] and w_uv [H, dv, r] f32 (split from kv_b_proj once at load).
void mla_attention_absorbed(const Tensor& q, const Tensor& w_uk, const Tensor& w_uv,
                            const BlockTables& tables, const std::vector<int32_t>& seqs,
                            const KVCache& cache, int32_t layer, const MlaParams& params,
                            Tensor& out);
// Expanded (prefill, what transformers runs): k_nope, v = kv_b_proj(c) for every cached token;
// kv_b_proj [H * (dn + dv), r] (rows of head h: dn of K, then dv of V).
void mla_attention_expanded(const Tensor& q, const Tensor& kv_b_proj, const BlockTables& tables,
                            const std::vector<int32_t>& seqs, const KVCache& cache, int32_t layer,
                            const MlaParams& params, Tensor& out);

// ---- mixture of experts ---------------------------------------------------------------------
// Routing rule, parsed from config.json once at load.
enum class MoeScoring { Softmax, Sigmoid };
// Greedy: top-k of the scores. GroupLimitedGreedy (DeepSeek-V2): group score = max expert
// score, experts outside the best topk_group groups score 0. NoauxTc (V3): choice on scores +
// correction bias, group score = sum of the group's two best, others -inf; weights are the
// uncorrected scores (renormalised when norm_topk_prob).
enum class MoeTopk { Greedy, GroupLimitedGreedy, NoauxTc };
struct MoeRouteParams {
  MoeScoring scoring = MoeScoring::Softmax;
  MoeTopk method = MoeTopk::Greedy;
  int64_t top_k = 1;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  bool norm_topk_prob = false;  // NoauxTc only (transformers' V2 never renormalises)
  float routed_scaling_factor = 1.f;
};
// ids [n, top_k] int32 and weights [n, top_k] f32 from router logits [n, n_experts] f32;
// correction_bias [n_experts] (NoauxTc) or nullptr.
void moe_route(const Tensor& logits, const Tensor* correction_bias, const MoeRouteParams& params,
               Tensor& ids, Tensor& weights);
// One expert's SwiGLU-style MLP: down(act(gate(x)) * up(x)) (weights borrowed, not owned).
struct MoeExpert {
  const Tensor* gate_proj = nullptr;  // [inter, hidden]
  const Tensor* up_proj = nullptr;    // [inter, hidden]
  const Tensor* down_proj = nullptr;  // [hidden, inter]
};
// out [n, hidden] = sum_k weights[t, k] * expert_{ids[t, k]}(x[t]), tokens grouped per expert
// (one gate/up/down pass per active expert). Adds each expert's picks to counts[e] when not null.
void moe_experts(const Tensor& x, const Tensor& ids, const Tensor& weights,
                 const std::vector<MoeExpert>& experts, Activation act, Tensor& out,
                 int64_t* counts = nullptr);

// ---- bidirectional attention over a ragged batch (encoders) ---------------------------------
// out [n, n_heads, head_dim] = softmax(q K^T * scale) V within each sequence, no mask and no
// padding: sequence i is rows [seq_begin[i], seq_begin[i + 1]) of q/k/v [n, n_heads, head_dim]
// (seq_begin: n_seqs + 1 offsets, 0 first, n last, non-decreasing). scale 0 = 1/sqrt(head_dim).
void attention_bidirectional(const Tensor& q, const Tensor& k, const Tensor& v,
                             const std::vector<int32_t>& seq_begin, float scale, Tensor& out);

}  // namespace deepfuse::ops
