// Row-wise CPU kernels (norms, activations, softmax, attention core) behind a per-ISA table.
//
// The same source (vec_kernels_impl.h) is compiled three times: generic x86-64, AVX2 and
// AVX-512 (files vec_kernels_<isa>.cpp with their own -m flags), each into its own namespace
// so no inline symbol built for a wider ISA can leak into code that runs on a narrower one.
// vec_kernels(isa) returns the table; ops/ calls vec_kernels(best_isa()).
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "core/dtype.h"

namespace deepfuse {

// Activation functions with Hugging Face's names (config.json "hidden_act"):
// SiLU ("silu", "swish"), GELU exact with erf ("gelu"), GELUTanh ("gelu_new",
// "gelu_pytorch_tanh", "gelu_fast"), ReLU ("relu"), GELUQuick ("quick_gelu": x*sigmoid(1.702x)).
enum class Activation { SiLU, GELU, GELUTanh, ReLU, GELUQuick };

}  // namespace deepfuse

namespace deepfuse::cpu {

// Where one attention query group reads its keys and values: the paged pool of one layer.
struct PagedKV {
  const char* base = nullptr;  // pool data: [num_blocks, block_size, width] of `dtype`
  int64_t token_bytes = 0;     // width * dtype size
  int32_t block_size = 0;
  const int32_t* block_table = nullptr;
  DType dtype = DType::F32;
  int64_t k_offset = 0;  // elements from the start of a token's slot to this head's K
  int64_t v_offset = 0;  // ... and to this head's V
};

struct AttendArgs {
  const float* q = nullptr;  // [group, head_dim]: the query heads that share one KV head
  int64_t q_stride = 0;      // elements between consecutive query heads
  int32_t group = 1;
  int64_t head_dim = 0;
  int64_t v_head_dim = 0;
  int32_t key_begin = 0;  // attend to key positions [key_begin, key_end)
  int32_t key_end = 0;
  float scale = 1.f;
  float softcap = 0.f;   // 0 = none; else scores = softcap * tanh(scores / softcap)
  float* out = nullptr;  // [group, v_head_dim] with stride out_stride
  int64_t out_stride = 0;
  float* scratch = nullptr;  // group*(key_end-key_begin) + head_dim + v_head_dim floats
};

// Causal attention of a block of consecutive query tokens of one sequence (prefill), for the
// `group` query heads sharing one KV head. Keys are gathered once per block into a transposed
// scratch copy, so scores are outer products (no horizontal sums per key) and values are read
// once for all the block's rows.
struct AttendBlockArgs {
  const float* q = nullptr;    // token t, head g: q + t * q_token_stride + g * q_stride
  int64_t q_token_stride = 0;  // elements between consecutive tokens
  int64_t q_stride = 0;        // elements between consecutive query heads
  int32_t tokens = 0;          // query tokens in the block
  int32_t group = 1;
  int64_t head_dim = 0;
  int64_t v_head_dim = 0;
  int32_t first_key_end = 0;   // token t attends to keys [begin_t, first_key_end + t)
  int32_t sliding_window = 0;  // 0 = none; else begin_t = max(0, end_t - sliding_window)
  float scale = 1.f;
  float softcap = 0.f;
  float* out = nullptr;  // token t, head g: out + t * out_token_stride + g * out_stride
  int64_t out_token_stride = 0;
  int64_t out_stride = 0;
  float* scratch = nullptr;  // attend_block_scratch_floats(...) floats
};

// Key span [begin, end) of a block: token 0 starts it (begins never decrease), the last token
// ends it. `static` for the same reason as exp_approx below (per-ISA copies).
static inline void attend_block_span(const AttendBlockArgs& a, int32_t* begin, int32_t* end) {
  *end = a.first_key_end + a.tokens - 1;  // key_end of the last token
  *begin = a.sliding_window > 0 && a.first_key_end > a.sliding_window
               ? a.first_key_end - a.sliding_window
               : 0;
}

// Scratch floats attend_block needs.
int64_t attend_block_scratch_floats(const AttendBlockArgs& a);

struct VecKernels {
  // y[i, :] = x[i, :] / sqrt(mean(x[i, :]^2) + eps) * (w + w_offset). y may alias x.
  void (*rms_norm)(const float* x, float* y, int64_t rows, int64_t d, const float* w, float eps,
                   float w_offset);
  // y = (x - mean) / sqrt(var + eps) * w + b (biased variance, as torch). b may be null.
  void (*layer_norm)(const float* x, float* y, int64_t rows, int64_t d, const float* w,
                     const float* b, float eps);
  void (*act)(float* x, int64_t n, Activation a);
  // out[i] = act(gate[i]) * up[i]; out may alias gate or up.
  void (*act_mul)(const float* gate, const float* up, float* out, int64_t n, Activation a);
  void (*softmax)(float* x, int64_t n);  // in place, numerically stable
  void (*add)(float* x, const float* y, int64_t n);
  void (*scale)(float* x, int64_t n, float s);
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*attend)(const AttendArgs& a, const PagedKV& kv);
  void (*attend_block)(const AttendBlockArgs& a, const PagedKV& kv);
};

const VecKernels& vec_kernels(Isa isa);

// exp(x) for f32 with ~1 ulp error (Cephes-style polynomial), branch-free so that loops over
// it vectorise; 0 for x < -87.3 (and -inf), +inf above 88.7. `static` keeps one private copy
// per translation unit: the per-ISA files compile it with different -m flags.
static inline float exp_approx(float x) {
  const float kLog2e = 1.44269504088896341f;
  const float xc = x > 88.3f ? 88.3f : (x < -87.3f ? -87.3f : x);
  const float kRound = 12582912.f;  // 1.5 * 2^23: adding and subtracting rounds to an integer
  const float n = (xc * kLog2e + kRound) - kRound;
  float r = xc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const int32_t e = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &e, 4);
  float y = p * scale;
  y = x < -87.3f ? 0.f : y;
  y = x > 88.7f ? __builtin_inff() : y;
  return y;
}

}  // namespace deepfuse::cpu
