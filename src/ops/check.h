// Internal: argument checks shared by the op front-ends. Messages name the op and the tensor
// and give the expected and the actual value.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace deepfuse::ops::detail {

inline void require_defined(const char* op, const char* name, const Tensor& t) {
  // Device is not checked here: ops/dispatch.h decides per device, in one place.
  DF_CHECK(t.defined(), InvalidArgument, op << ": tensor '" << name << "' is undefined");
}

inline void require_f32(const char* op, const char* name, const Tensor& t) {
  require_defined(op, name, t);
  DF_CHECK(t.dtype() == DType::F32, InvalidArgument,
           op << ": tensor '" << name << "' must be float32, got " << t.describe());
}

inline void require_float(const char* op, const char* name, const Tensor& t) {
  require_defined(op, name, t);
  DF_CHECK(
      t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16,
      InvalidArgument,
      op << ": tensor '" << name << "' must be float32, float16 or bfloat16, got " << t.describe());
}

inline void require_ndim_min(const char* op, const char* name, const Tensor& t, int nd) {
  DF_CHECK(t.ndim() >= nd, InvalidArgument,
           op << ": tensor '" << name << "' needs at least " << nd << " dimension(s), got "
              << t.shape().str());
}

inline void require_last_dim(const char* op, const char* name, const Tensor& t, int64_t d) {
  DF_CHECK(t.ndim() >= 1 && t.dim(-1) == d, InvalidArgument,
           op << ": tensor '" << name << "' must have last dimension " << d << ", got "
              << t.shape().str());
}

inline void require_shape(const char* op, const char* name, const Tensor& t,
                          const std::vector<int64_t>& dims) {
  const Shape want(dims);
  DF_CHECK(t.shape() == want, InvalidArgument,
           op << ": tensor '" << name << "' must have shape " << want.str() << ", got "
              << t.shape().str());
}

inline void require_numel(const char* op, const char* name, const Tensor& t, int64_t n) {
  DF_CHECK(
      t.numel() == n, InvalidArgument,
      op << ": tensor '" << name << "' must hold " << n << " elements, got " << t.shape().str());
}

// A float tensor's values as f32 (a view when already f32, else converted into `buf`).
inline const float* as_f32(const Tensor& t, std::vector<float>& buf) {
  if (t.dtype() == DType::F32) return t.data<float>();
  buf.resize(static_cast<size_t>(t.numel()));
  convert(t.raw(), t.dtype(), buf.data(), DType::F32, static_cast<size_t>(t.numel()));
  return buf.data();
}

}  // namespace deepfuse::ops::detail
