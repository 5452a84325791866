// Rotary position embedding front-ends.
#include <cmath>

#include "ops/check.h"
#include "ops/dispatch.h"
#include "ops/ops.h"

namespace deepfuse::ops {

using namespace detail;

RopeAngles rope_angles(const std::vector<int32_t>& positions, const std::vector<float>& inv_freq,
                       float attention_scaling) {
  DF_PROFILE_OP("rope_angles");
  DF_CHECK(!inv_freq.empty(), InvalidArgument, "rope_angles: inv_freq is empty");
  const int64_t n = static_cast<int64_t>(positions.size());
  const int64_t half = static_cast<int64_t>(inv_freq.size());
  RopeAngles a;
  a.cos = Tensor::empty(DType::F32, {n, half});
  a.sin = Tensor::empty(DType::F32, {n, half});
  float* c = a.cos.data<float>();
  float* s = a.sin.data<float>();
  for (int64_t t = 0; t < n; ++t) {
    const int32_t p = positions[static_cast<size_t>(t)];
    DF_CHECK(p >= 0, InvalidArgument,
             "rope_angles: position " << p << " at index " << t << " is negative");
    const float pf = static_cast<float>(p);
    for (int64_t i = 0; i < half; ++i) {
      // transformers: freqs = f32(inv_freq * position); cos(freqs) * attention_scaling in f32.
      const float f = inv_freq[static_cast<size_t>(i)] * pf;
      c[t * half + i] = std::cos(f) * attention_scaling;
      s[t * half + i] = std::sin(f) * attention_scaling;
    }
  }
  return a;
}

void rope_inplace(Tensor& x, const RopeAngles& angles, bool interleaved, int64_t dim_offset) {
  DF_PROFILE_OP("rope");
  require_f32("rope", "x", x);
  DF_CHECK(x.ndim() == 3, InvalidArgument,
           "rope: 'x' must be 3-D [n_tokens, n_heads, head_dim], got " << x.shape().str());
  DF_CHECK(angles.cos.defined() && angles.sin.defined() && angles.cos.shape() == angles.sin.shape(),
           InvalidArgument, "rope: angles are undefined or cos/sin shapes differ");
  const int64_t n = x.dim(0);
  const int64_t heads = x.dim(1);
  const int64_t hd = x.dim(2);
  const int64_t half = angles.cos.dim(1);
  DF_CHECK(angles.cos.dim(0) == n, InvalidArgument,
           "rope: angles are for " << angles.cos.dim(0) << " tokens but 'x' has " << n);
  DF_CHECK(dim_offset >= 0 && dim_offset + 2 * half <= hd, InvalidArgument,
           "rope: rotating dims [" << dim_offset << ", " << dim_offset + 2 * half
                                   << ") does not fit head_dim " << hd);
  dispatch("rope", {&x, &angles.cos, &angles.sin}, [&] {
    float* p = x.data<float>();
    const float* cs = angles.cos.data<float>();
    const float* sn = angles.sin.data<float>();
    for (int64_t t = 0; t < n; ++t) {
      const float* c = cs + t * half;
      const float* s = sn + t * half;
      for (int64_t h = 0; h < heads; ++h) {
        float* v = p + (t * heads + h) * hd + dim_offset;
        if (!interleaved) {
          // q*cos + rotate_half(q)*sin, rotate_half(q) = [-q2, q1].
          for (int64_t i = 0; i < half; ++i) {
            const float a = v[i];
            const float b = v[i + half];
            v[i] = a * c[i] - b * s[i];
            v[i + half] = b * c[i] + a * s[i];
          }
        } else {
          for (int64_t i = 0; i < half; ++i) {
            const float a = v[2 * i];
            const float b = v[2 * i + 1];
            v[2 * i] = a * c[i] - b * s[i];
            v[2 * i + 1] = b * c[i] + a * s[i];
          }
        }
      }
    }
  });
}

}  // namespace deepfuse::ops
