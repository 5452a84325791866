// Norm, activation and elementwise front-ends.
#include <algorithm>
#include <string>
#include <vector>

#include "core/thread_pool.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

namespace {

const cpu::VecKernels& kernels() {
  return cpu::vec_kernels(best_isa());
}

// Below this many values a row-parallel loop costs more in wake-ups than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// Runs fn(row_begin, row_end) over `rows` rows of `d` values, in parallel when large.
template <class Fn>
void for_rows(int64_t rows, int64_t d, Fn&& fn) {
  if (rows * d < kParallelMin || rows < 2) {
    fn(int64_t{0}, rows);
    return;
  }
  ThreadPool& pool = ThreadPool::current();
  const int64_t grain = std::max<int64_t>(1, rows / (pool.num_threads() * 4));
  pool.parallel_for(rows, grain, [&](int64_t b, int64_t e) { fn(b, e); });
}

// Flat ranges of `n` values, split into cache-friendly chunks for the pool.
template <class Fn>
void for_range(int64_t n, Fn&& fn) {
  if (n < kParallelMin) {
    fn(int64_t{0}, n);
    return;
  }
  ThreadPool& pool = ThreadPool::current();
  pool.parallel_for(n, std::max<int64_t>(4096, n / (pool.num_threads() * 4)),
                    [&](int64_t b, int64_t e) { fn(b, e); });
}

thread_local std::vector<float> tls_w;
thread_local std::vector<float> tls_b;

}  // namespace

void rms_norm(const Tensor& x, const Tensor& w, float eps, Tensor& y, float w_offset) {
  DF_PROFILE_OP("rms_norm");
  require_f32("rms_norm", "x", x);
  require_float("rms_norm", "w", w);
  DF_CHECK(w.ndim() == 1, InvalidArgument,
           "rms_norm: weight 'w' must be 1-D [d], got " << w.shape().str());
  const int64_t d = w.dim(0);
  require_last_dim("rms_norm", "x", x, d);
  require_f32("rms_norm", "y", y);
  require_numel("rms_norm", "y", y, x.numel());
  DF_CHECK(eps >= 0.f, InvalidArgument, "rms_norm: eps must be >= 0, got " << eps);
  dispatch("rms_norm", {&x, &w, &y}, [&] {
    const float* wf = as_f32(w, tls_w);
    const int64_t rows = d > 0 ? x.numel() / d : 0;
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    const auto& k = kernels();
    for_rows(rows, d, [&](int64_t b, int64_t e) {
      k.rms_norm(xp + b * d, yp + b * d, e - b, d, wf, eps, w_offset);
    });
  });
}

void layer_norm(const Tensor& x, const Tensor& w, const Tensor* b, float eps, Tensor& y) {
  DF_PROFILE_OP("layer_norm");
  require_f32("layer_norm", "x", x);
  require_float("layer_norm", "w", w);
  DF_CHECK(w.ndim() == 1, InvalidArgument,
           "layer_norm: weight 'w' must be 1-D [d], got " << w.shape().str());
  const int64_t d = w.dim(0);
  require_last_dim("layer_norm", "x", x, d);
  require_f32("layer_norm", "y", y);
  require_numel("layer_norm", "y", y, x.numel());
  DF_CHECK(eps >= 0.f, InvalidArgument, "layer_norm: eps must be >= 0, got " << eps);
  if (b) {
    require_float("layer_norm", "b", *b);
    require_shape("layer_norm", "b", *b, {d});
  }
  dispatch("layer_norm", {&x, &w, b, &y}, [&] {
    const float* wf = as_f32(w, tls_w);
    const float* bf = b ? as_f32(*b, tls_b) : nullptr;
    const int64_t rows = d > 0 ? x.numel() / d : 0;
    const float* xp = x.data<float>();
    float* yp = y.data<float>();
    const auto& k = kernels();
    for_rows(rows, d, [&](int64_t r0, int64_t r1) {
      k.layer_norm(xp + r0 * d, yp + r0 * d, r1 - r0, d, wf, bf, eps);
    });
  });
}

Activation activation_from_string(std::string_view name) {
  if (name == "silu" || name == "swish") return Activation::SiLU;
  if (name == "gelu") return Activation::GELU;
  if (name == "gelu_new" || name == "gelu_pytorch_tanh" || name == "gelu_fast")
    return Activation::GELUTanh;
  if (name == "relu") return Activation::ReLU;
  if (name == "quick_gelu") return Activation::GELUQuick;
  throw InvalidArgument("unknown activation \"" + std::string(name) +
                        "\" (expected silu, swish, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, "
                        "relu or quick_gelu)");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::SiLU:
      return "silu";
    case Activation::GELU:
      return "gelu";
    case Activation::GELUTanh:
      return "gelu_pytorch_tanh";
    case Activation::ReLU:
      return "relu";
    case Activation::GELUQuick:
      return "quick_gelu";
  }
  return "?";
}

void act_inplace(Tensor& x, Activation a) {
  DF_PROFILE_OP("activation");
  require_f32("activation", "x", x);
  dispatch("activation", {&x}, [&] {
    float* p = x.data<float>();
    const auto& k = kernels();
    for_range(x.numel(), [&](int64_t b, int64_t e) { k.act(p + b, e - b, a); });
  });
}

void act_mul(const Tensor& gate, const Tensor& up, Activation a, Tensor& out) {
  DF_PROFILE_OP("act_mul");
  require_f32("act_mul", "gate", gate);
  require_f32("act_mul", "up", up);
  require_f32("act_mul", "out", out);
  DF_CHECK(gate.shape() == up.shape(), InvalidArgument,
           "act_mul: 'gate' " << gate.shape().str() << " and 'up' " << up.shape().str()
                              << " must have the same shape");
  require_numel("act_mul", "out", out, gate.numel());
  dispatch("act_mul", {&gate, &up, &out}, [&] {
    const float* g = gate.data<float>();
    const float* u = up.data<float>();
    float* o = out.data<float>();
    const auto& k = kernels();
    for_range(gate.numel(),
              [&](int64_t b, int64_t e) { k.act_mul(g + b, u + b, o + b, e - b, a); });
  });
}

void act_mul_fused(const Tensor& gate_up, Activation a, Tensor& out) {
  DF_PROFILE_OP("act_mul");
  require_f32("act_mul_fused", "gate_up", gate_up);
  require_f32("act_mul_fused", "out", out);
  require_ndim_min("act_mul_fused", "gate_up", gate_up, 1);
  const int64_t d2 = gate_up.dim(-1);
  DF_CHECK(
      d2 % 2 == 0, InvalidArgument,
      "act_mul_fused: last dimension of 'gate_up' must be even, got " << gate_up.shape().str());
  const int64_t d = d2 / 2;
  const int64_t rows = d2 > 0 ? gate_up.numel() / d2 : 0;
  require_last_dim("act_mul_fused", "out", out, d);
  require_numel("act_mul_fused", "out", out, rows * d);
  DF_CHECK(out.raw() != gate_up.raw() || rows <= 1, InvalidArgument,
           "act_mul_fused: 'out' must not alias 'gate_up'");
  dispatch("act_mul_fused", {&gate_up, &out}, [&] {
    const float* gu = gate_up.data<float>();
    float* o = out.data<float>();
    const auto& k = kernels();
    for_rows(rows, d2, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) k.act_mul(gu + r * d2, gu + r * d2 + d, o + r * d, d, a);
    });
  });
}

void add_inplace(Tensor& x, const Tensor& y) {
  DF_PROFILE_OP("add");
  require_f32("add", "x", x);
  require_f32("add", "y", y);
  DF_CHECK(x.numel() == y.numel(), InvalidArgument,
           "add: 'x' " << x.shape().str() << " and 'y' " << y.shape().str()
                       << " must have the same number of elements");
  dispatch("add", {&x, &y}, [&] {
    float* p = x.data<float>();
    const float* q = y.data<float>();
    const auto& k = kernels();
    for_range(x.numel(), [&](int64_t b, int64_t e) { k.add(p + b, q + b, e - b); });
  });
}

void add_bias_inplace(Tensor& x, const Tensor& b) {
  DF_PROFILE_OP("add_bias");
  require_f32("add_bias", "x", x);
  require_float("add_bias", "b", b);
  DF_CHECK(b.ndim() == 1, InvalidArgument,
           "add_bias: 'b' must be 1-D [d], got " << b.shape().str());
  const int64_t d = b.dim(0);
  require_last_dim("add_bias", "x", x, d);
  dispatch("add_bias", {&x, &b}, [&] {
    const float* bf = as_f32(b, tls_b);
    const int64_t rows = d > 0 ? x.numel() / d : 0;
    float* p = x.data<float>();
    const auto& k = kernels();
    for_rows(rows, d, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) k.add(p + r * d, bf, d);
    });
  });
}

void scale_inplace(Tensor& x, float s) {
  DF_PROFILE_OP("scale");
  require_f32("scale", "x", x);
  dispatch("scale", {&x}, [&] {
    float* p = x.data<float>();
    const auto& k = kernels();
    for_range(x.numel(), [&](int64_t b, int64_t e) { k.scale(p + b, e - b, s); });
  });
}

void softmax_inplace(Tensor& x) {
  DF_PROFILE_OP("softmax");
  require_f32("softmax", "x", x);
  require_ndim_min("softmax", "x", x, 1);
  const int64_t d = x.dim(-1);
  const int64_t rows = d > 0 ? x.numel() / d : 0;
  dispatch("softmax", {&x}, [&] {
    float* p = x.data<float>();
    const auto& k = kernels();
    for_rows(rows, d, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) k.softmax(p + r * d, d);
    });
  });
}

}  // namespace deepfuse::ops
