// linear and embedding front-ends.
#include <vector>

#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"
#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

void linear(const Tensor& x, const Tensor& w, const Tensor* bias, Tensor& y) {
  DF_PROFILE_OP("linear");
  require_f32("linear", "x", x);
  require_float("linear", "w", w);
  DF_CHECK(w.ndim() == 2, InvalidArgument,
           "linear: weight 'w' must be 2-D [out, in], got " << w.shape().str());
  const int64_t out = w.dim(0);
  const int64_t in = w.dim(1);
  require_ndim_min("linear", "x", x, 1);
  require_last_dim("linear", "x", x, in);
  const int64_t n = x.numel() / in;
  require_f32("linear", "y", y);
  require_last_dim("linear", "y", y, out);
  require_numel("linear", "y", y, n * out);
  DF_CHECK(y.raw() != x.raw() || n == 0, InvalidArgument,
           "linear: output 'y' must not alias input 'x'");
  if (bias) {
    require_float("linear", "bias", *bias);
    require_shape("linear", "bias", *bias, {out});
  }
  dispatch("linear", {&x, &w, bias, &y}, [&] {
    cpu::linear(x.data<float>(), n, in, w.raw(), w.dtype(), out, y.data<float>());
  });
  if (bias) add_bias_inplace(y, *bias);
}

Tensor linear(const Tensor& x, const Tensor& w, const Tensor* bias) {
  require_f32("linear", "x", x);
  require_float("linear", "w", w);
  DF_CHECK(w.ndim() == 2, InvalidArgument,
           "linear: weight 'w' must be 2-D [out, in], got " << w.shape().str());
  require_ndim_min("linear", "x", x, 1);
  std::vector<int64_t> dims = x.shape().to_vector();
  dims.back() = w.dim(0);
  Tensor y = Tensor::empty(DType::F32, Shape(dims), x.device());
  linear(x, w, bias, y);
  return y;
}

void embedding(const Tensor& table, const std::vector<int32_t>& ids, Tensor& out) {
  DF_PROFILE_OP("embedding");
  require_float("embedding", "table", table);
  DF_CHECK(table.ndim() == 2, InvalidArgument,
           "embedding: 'table' must be 2-D [vocab, d], got " << table.shape().str());
  const int64_t vocab = table.dim(0);
  const int64_t d = table.dim(1);
  const int64_t n = static_cast<int64_t>(ids.size());
  require_f32("embedding", "out", out);
  require_last_dim("embedding", "out", out, d);
  require_numel("embedding", "out", out, n * d);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t id = ids[static_cast<size_t>(i)];
    DF_CHECK(id >= 0 && id < vocab, InvalidArgument,
             "embedding: token id " << id << " at index " << i << " is outside the vocabulary [0, "
                                    << vocab << ")");
  }
  dispatch("embedding", {&table, &out}, [&] {
    const size_t row_bytes = static_cast<size_t>(d) * dtype_size(table.dtype());
    const char* src = static_cast<const char*>(table.raw());
    float* dst = out.data<float>();
    for (int64_t i = 0; i < n; ++i)
      convert(src + static_cast<size_t>(ids[static_cast<size_t>(i)]) * row_bytes, table.dtype(),
              dst + i * d, DType::F32, static_cast<size_t>(d));
  });
}

Tensor embedding(const Tensor& table, const std::vector<int32_t>& ids) {
  require_float("embedding", "table", table);
  DF_CHECK(table.ndim() == 2, InvalidArgument,
           "embedding: 'table' must be 2-D [vocab, d], got " << table.shape().str());
  Tensor out =
      Tensor::empty(DType::F32, {static_cast<int64_t>(ids.size()), table.dim(1)}, table.device());
  embedding(table, ids, out);
  return out;
}

}  // namespace deepfuse::ops
