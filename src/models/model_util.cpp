#include "models/model_util.h"

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "core/error.h"

namespace deepfuse {

namespace {
bool is_weight_dtype(DType d) {
  return d == DType::F32 || d == DType::F16 || d == DType::BF16;
}
}  // namespace

Tensor load_weight(const WeightStore& w, const std::string& name, const LoadOptions& opts) {
  Tensor t = w.get(name);
  if (!is_weight_dtype(t.dtype()))
    throw Unsupported(w.source() + ": tensor '" + name + "' has dtype " + dtype_name(t.dtype()) +
                      " (expected float32, float16 or bfloat16)");
  if (opts.weight_dtype && *opts.weight_dtype != t.dtype()) t = t.to(*opts.weight_dtype);
  return t;
}

Tensor load_optional_weight(const WeightStore& w, const std::string& name,
                            const LoadOptions& opts) {
  return w.contains(name) ? load_weight(w, name, opts) : Tensor();
}

Tensor transpose_2d(const Tensor& t) {
  DF_CHECK(t.ndim() == 2, InvalidArgument, "transpose_2d of " << t.describe());
  const int64_t a = t.dim(0), b = t.dim(1);
  Tensor out = Tensor::empty(t.dtype(), {b, a});
  const size_t es = dtype_size(t.dtype());
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t i = 0; i < a; ++i)
    for (int64_t j = 0; j < b; ++j)
      std::memcpy(dst + (static_cast<size_t>(j * a + i)) * es,
                  src + (static_cast<size_t>(i * b + j)) * es, es);
  return out;
}

int64_t count_parameters(const WeightStore& w, const std::vector<std::string>& tied) {
  const std::set<std::string> skip(tied.begin(), tied.end());
  int64_t n = 0;
  for (const auto& name : w.names())
    if (!skip.count(name)) n += w.shape(name).numel();
  return n;
}

DType dominant_dtype(const WeightStore& w) {
  std::map<DType, int64_t> by;
  for (const auto& name : w.names()) by[w.dtype(name)] += w.shape(name).numel();
  DType best = DType::F32;
  int64_t most = -1;
  for (const auto& [d, n] : by)
    if (n > most) {
      most = n;
      best = d;
    }
  return best;
}

Tensor gather_rows(const Tensor& x, const std::vector<int32_t>& rows) {
  const int64_t d = x.dim(-1);
  const int64_t n = x.numel() / d;
  Tensor out = Tensor::empty(x.dtype(), {static_cast<int64_t>(rows.size()), d});
  const size_t rb = static_cast<size_t>(d) * dtype_size(x.dtype());
  for (size_t i = 0; i < rows.size(); ++i) {
    DF_CHECK(rows[i] >= 0 && rows[i] < n, InvalidArgument,
             "logit row " << rows[i] << " outside the batch's " << n << " tokens");
    std::memcpy(static_cast<char*>(out.raw()) + i * rb,
                static_cast<const char*>(x.raw()) + static_cast<size_t>(rows[i]) * rb, rb);
  }
  return out;
}

}  // namespace deepfuse
