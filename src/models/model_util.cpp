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

RopeTable rope_table(const RopeParams& p, int64_t rot_dim, int64_t max_pos,
                     const std::string& where) {
  DF_CHECK(rot_dim > 0 && rot_dim % 2 == 0, FormatError,
           where << ": rotary dimension " << rot_dim << " must be positive and even");
  const int64_t half = rot_dim / 2;
  RopeTable t;
  t.inv_freq.resize(static_cast<size_t>(half));
  // As transformers: exponents arange(0, dim, 2) / dim in f32, base ** exponent.
  std::vector<double> pos_freqs(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    const float e = static_cast<float>(2 * i) / static_cast<float>(rot_dim);
    pos_freqs[static_cast<size_t>(i)] =
        static_cast<float>(std::pow(p.theta, static_cast<double>(e)));
  }
  auto base_inv = [&](int64_t i) {
    return static_cast<float>(1.0 / pos_freqs[static_cast<size_t>(i)]);
  };
  if (p.type == "default" || p.type == "dynamic") {
    // dynamic NTK only changes frequencies beyond max_position_embeddings; generation is
    // capped there (the cache is sized from it), so the default table is exact.
    for (int64_t i = 0; i < half; ++i) t.inv_freq[static_cast<size_t>(i)] = base_inv(i);
  } else if (p.type == "linear") {
    for (int64_t i = 0; i < half; ++i)
      t.inv_freq[static_cast<size_t>(i)] = base_inv(i) / static_cast<float>(p.factor);
  } else if (p.type == "llama3") {
    const double old_ctx = p.original_max_position_embeddings > 0
                               ? static_cast<double>(p.original_max_position_embeddings)
                               : static_cast<double>(max_pos);
    const double low_wavelen = old_ctx / p.low_freq_factor;
    const double high_wavelen = old_ctx / p.high_freq_factor;
    for (int64_t i = 0; i < half; ++i) {
      const float inv = base_inv(i);
      const float wavelen = static_cast<float>(2 * M_PI) / inv;
      float out = wavelen > low_wavelen ? inv / static_cast<float>(p.factor) : inv;
      const bool medium = !(wavelen < high_wavelen) && !(wavelen > low_wavelen);
      if (medium) {
        const float smooth = static_cast<float>((old_ctx / wavelen - p.low_freq_factor) /
                                                (p.high_freq_factor - p.low_freq_factor));
        out = (1.f - smooth) * out / static_cast<float>(p.factor) + smooth * out;
      }
      t.inv_freq[static_cast<size_t>(i)] = out;
    }
  } else if (p.type == "yarn") {
    const double factor = p.factor;
    const double orig = p.original_max_position_embeddings > 0
                            ? static_cast<double>(p.original_max_position_embeddings)
                            : static_cast<double>(max_pos);
    auto get_mscale = [](double scale, double m) {
      return scale <= 1 ? 1.0 : 0.1 * m * std::log(scale) + 1.0;
    };
    if (p.attention_factor) {
      t.attention_scaling = static_cast<float>(*p.attention_factor);
    } else if (p.mscale && p.mscale_all_dim && *p.mscale != 0 && *p.mscale_all_dim != 0) {
      t.attention_scaling =
          static_cast<float>(get_mscale(factor, *p.mscale) / get_mscale(factor, *p.mscale_all_dim));
    } else {
      t.attention_scaling = static_cast<float>(get_mscale(factor, 1.0));
    }
    const double d = static_cast<double>(rot_dim);
    auto correction_dim = [&](double rotations) {
      return d * std::log(orig / (rotations * 2 * M_PI)) / (2 * std::log(p.theta));
    };
    double low = correction_dim(p.beta_fast), high = correction_dim(p.beta_slow);
    if (p.truncate) {
      low = std::floor(low);
      high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, d - 1);
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      const float ramp =
          std::clamp(static_cast<float>((static_cast<double>(i) - low) / (high - low)), 0.f, 1.f);
      const float extrap_factor = 1.f - ramp;
      const float extrap = base_inv(i);
      const float interp = static_cast<float>(1.0 / (factor * pos_freqs[static_cast<size_t>(i)]));
      t.inv_freq[static_cast<size_t>(i)] = interp * (1.f - extrap_factor) + extrap * extrap_factor;
    }
  } else {
    throw Unsupported(where + ": rope type '" + p.type +
                      "' is not supported (expected default, linear, dynamic, llama3 or yarn)");
  }
  return t;
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
