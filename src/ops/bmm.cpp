// Batched matmul front-end (shapes in ops/ops.h; CPU kernel in kernels/cpu/bmm.h).
#include "kernels/cpu/bmm.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

namespace {

// [B, n] of the weight's output side, checked against x [B, m, k].
int64_t bmm_out_dim(const Tensor& x, const Tensor& w, BmmLayout layout) {
  require_f32("bmm", "x", x);
  require_f32("bmm", "w", w);
  DF_CHECK(x.ndim() == 3, InvalidArgument,
           "bmm: 'x' must be 3-D [batch, m, k], got " << x.shape().str());
  DF_CHECK(w.ndim() == 3, InvalidArgument,
           "bmm: 'w' must be 3-D [batch, " << (layout == BmmLayout::NK ? "n, k" : "k, n")
                                           << "], got " << w.shape().str());
  const int64_t k = x.dim(2);
  const int64_t wk = layout == BmmLayout::NK ? w.dim(2) : w.dim(1);
  DF_CHECK(w.dim(0) == x.dim(0) && wk == k, InvalidArgument,
           "bmm: 'w' " << w.shape().str() << " does not fit 'x' " << x.shape().str() << " ("
                       << (layout == BmmLayout::NK ? "NK" : "KN")
                       << " layout: batch and k must match)");
  return layout == BmmLayout::NK ? w.dim(1) : w.dim(2);
}

}  // namespace

void bmm(const Tensor& x, const Tensor& w, BmmLayout layout, Tensor& y) {
  DF_PROFILE_OP("bmm");
  const int64_t n = bmm_out_dim(x, w, layout);
  const int64_t batch = x.dim(0), m = x.dim(1), k = x.dim(2);
  require_f32("bmm", "y", y);
  require_shape("bmm", "y", y, {batch, m, n});
  DF_CHECK((y.raw() != x.raw() && y.raw() != w.raw()) || y.numel() == 0, InvalidArgument,
           "bmm: output 'y' must not alias an input");
  dispatch("bmm", {&x, &w, &y}, [&] {
    cpu::bmm(layout == BmmLayout::NK ? cpu::BmmWeightLayout::NK : cpu::BmmWeightLayout::KN,
             x.data<float>(), w.data<float>(), y.data<float>(), batch, m, k, n);
  });
}

Tensor bmm(const Tensor& x, const Tensor& w, BmmLayout layout) {
  const int64_t n = bmm_out_dim(x, w, layout);
  Tensor y = Tensor::empty(DType::F32, Shape{x.dim(0), x.dim(1), n}, x.device());
  bmm(x, w, layout, y);
  return y;
}

}  // namespace deepfuse::ops
