// Body of the per-ISA row kernels (see vec_kernels.h). Included by vec_kernels_<isa>.cpp with
// DF_VEC_NS set to the namespace of that ISA. Uses no std containers and no inline functions
// shared with other translation units, so nothing compiled here for AVX-512 can be picked by
// the linker for code that runs on a narrower CPU.
#ifndef DF_VEC_NS
#error "define DF_VEC_NS before including vec_kernels_impl.h"
#endif

#include <math.h>
#include <string.h>

#if defined(__F16C__)
#include <immintrin.h>
#endif

#include "kernels/cpu/vec_kernels.h"

namespace deepfuse::cpu::DF_VEC_NS {

namespace {

inline float bf16_bits_to_f32(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

// Reads `n` values of a KV row into f32.
inline const float* row_f32(const char* p, DType dt, int64_t n, float* buf) {
  if (dt == DType::F32) return reinterpret_cast<const float*>(p);
  const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
  if (dt == DType::BF16) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) buf[i] = bf16_bits_to_f32(h[i]);
    return buf;
  }
#if defined(__F16C__)
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(buf + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i))));
  for (; i < n; ++i) buf[i] = _cvtsh_ss(h[i]);
#else
  for (int64_t i = 0; i < n; ++i) buf[i] = f16_to_f32(h[i]);
#endif
  return buf;
}

float dot(const float* a, const float* b, int64_t n) {
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void rms_norm(const float* x, float* y, int64_t rows, int64_t d, const float* w, float eps,
              float w_offset) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    float ss = 0.f;
#pragma omp simd reduction(+ : ss)
    for (int64_t i = 0; i < d; ++i) ss += xr[i] * xr[i];
    // torch: x * rsqrt(mean(x^2) + eps), all in f32.
    const float inv = 1.f / sqrtf(ss / static_cast<float>(d) + eps);
#pragma omp simd
    for (int64_t i = 0; i < d; ++i) yr[i] = (w[i] + w_offset) * (xr[i] * inv);
  }
}

void layer_norm(const float* x, float* y, int64_t rows, int64_t d, const float* w, const float* b,
                float eps) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * d;
    float* yr = y + r * d;
    float s = 0.f;
#pragma omp simd reduction(+ : s)
    for (int64_t i = 0; i < d; ++i) s += xr[i];
    const float mean = s / static_cast<float>(d);
    float v = 0.f;
#pragma omp simd reduction(+ : v)
    for (int64_t i = 0; i < d; ++i) v += (xr[i] - mean) * (xr[i] - mean);
    const float inv = 1.f / sqrtf(v / static_cast<float>(d) + eps);
    if (b) {
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * w[i] + b[i];
    } else {
#pragma omp simd
      for (int64_t i = 0; i < d; ++i) yr[i] = (xr[i] - mean) * inv * w[i];
    }
  }
}

inline float gelu_tanh(float v) {
  const float kC = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * v * (1.f + tanhf(kC * (v + 0.044715f * v * v * v)));
}

void act(float* x, int64_t n, Activation a) {
  switch (a) {
    case Activation::SiLU:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + exp_approx(-x[i]));
      break;
    case Activation::GELUQuick:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + exp_approx(-1.702f * x[i]));
      break;
    case Activation::ReLU:
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] > 0.f ? x[i] : 0.f;
      break;
    case Activation::GELU:
      for (int64_t i = 0; i < n; ++i)
        x[i] = 0.5f * x[i] * (1.f + erff(x[i] * 0.70710678118654752f));
      break;
    case Activation::GELUTanh:
      for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh(x[i]);
      break;
  }
}

void act_mul(const float* gate, const float* up, float* out, int64_t n, Activation a) {
  if (a == Activation::SiLU) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = gate[i] / (1.f + exp_approx(-gate[i])) * up[i];
    return;
  }
  // Other activations: through a small stack block so `out` may alias `gate` or `up`.
  float buf[256];
  for (int64_t i0 = 0; i0 < n; i0 += 256) {
    const int64_t len = n - i0 < 256 ? n - i0 : 256;
    memcpy(buf, gate + i0, static_cast<size_t>(len) * 4);
    act(buf, len, a);
#pragma omp simd
    for (int64_t i = 0; i < len; ++i) out[i0 + i] = buf[i] * up[i0 + i];
  }
}

void softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float mx = x[0];
#pragma omp simd reduction(max : mx)
  for (int64_t i = 0; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  if (mx == -__builtin_inff()) {  // every entry masked: torch gives NaN; we give zeros
    for (int64_t i = 0; i < n; ++i) x[i] = 0.f;
    return;
  }
  float s = 0.f;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) {
    x[i] = exp_approx(x[i] - mx);
    s += x[i];
  }
  const float inv = 1.f / s;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void add(float* x, const float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

void scale(float* x, int64_t n, float s) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

// Causal attention of `group` query heads (sharing one KV head) over keys
// [key_begin, key_end) of a paged cache: scores, softmax, weighted sum of values.
void attend(const AttendArgs& a, const PagedKV& kv) {
  const int64_t len = a.key_end - a.key_begin;
  float* scores = a.scratch;                // [group, len]
  float* kbuf = a.scratch + a.group * len;  // [head_dim]
  float* vbuf = kbuf + a.head_dim;          // [v_head_dim]
  const size_t esize = kv.dtype == DType::F32 ? 4 : 2;
  for (int64_t j = 0; j < len; ++j) {
    const int32_t pos = a.key_begin + static_cast<int32_t>(j);
    const int64_t slot = static_cast<int64_t>(kv.block_table[pos / kv.block_size]) * kv.block_size +
                         pos % kv.block_size;
    const char* tok = kv.base + slot * kv.token_bytes;
    const float* k =
        row_f32(tok + kv.k_offset * static_cast<int64_t>(esize), kv.dtype, a.head_dim, kbuf);
    for (int32_t g = 0; g < a.group; ++g)
      scores[g * len + j] = dot(a.q + g * a.q_stride, k, a.head_dim) * a.scale;
  }
  for (int32_t g = 0; g < a.group; ++g) {
    float* s = scores + g * len;
    if (a.softcap > 0.f) {
      for (int64_t j = 0; j < len; ++j) s[j] = a.softcap * tanhf(s[j] / a.softcap);
    }
    softmax(s, len);
    float* o = a.out + g * a.out_stride;
    for (int64_t i = 0; i < a.v_head_dim; ++i) o[i] = 0.f;
  }
  for (int64_t j = 0; j < len; ++j) {
    const int32_t pos = a.key_begin + static_cast<int32_t>(j);
    const int64_t slot = static_cast<int64_t>(kv.block_table[pos / kv.block_size]) * kv.block_size +
                         pos % kv.block_size;
    const char* tok = kv.base + slot * kv.token_bytes;
    const float* v =
        row_f32(tok + kv.v_offset * static_cast<int64_t>(esize), kv.dtype, a.v_head_dim, vbuf);
    for (int32_t g = 0; g < a.group; ++g) {
      const float p = scores[g * len + j];
      float* o = a.out + g * a.out_stride;
#pragma omp simd
      for (int64_t i = 0; i < a.v_head_dim; ++i) o[i] += p * v[i];
    }
  }
}

// Lanes per key chunk: one AVX-512 vector of f32 (two AVX2 vectors).
constexpr int64_t kKeyChunk = 16;
// Query rows per register tile.
constexpr int64_t kRowTile = 4;

void attend_block(const AttendBlockArgs& a, const PagedKV& kv) {
  int32_t kb = 0, ke = 0;
  attend_block_span(a, &kb, &ke);
  const int64_t len = ke - kb;
  const int64_t lp = (len + kKeyChunk - 1) / kKeyChunk * kKeyChunk;
  const int64_t hd = a.head_dim, vhd = a.v_head_dim;
  const int64_t rows = static_cast<int64_t>(a.tokens) * a.group;
  float* kt = a.scratch;        // [head_dim, lp]: keys transposed, zero-padded
  float* vv = kt + hd * lp;     // [len, v_head_dim]
  float* sc = vv + len * vhd;   // [rows, lp]: scores, then probabilities
  float* buf = sc + rows * lp;  // [max(head_dim, v_head_dim)]
  const size_t esize = kv.dtype == DType::F32 ? 4 : 2;
  for (int64_t j = 0; j < len; ++j) {
    const int64_t pos = kb + j;
    const int64_t slot = static_cast<int64_t>(kv.block_table[pos / kv.block_size]) * kv.block_size +
                         pos % kv.block_size;
    const char* tok = kv.base + slot * kv.token_bytes;
    const float* k = row_f32(tok + kv.k_offset * static_cast<int64_t>(esize), kv.dtype, hd, buf);
    for (int64_t d = 0; d < hd; ++d) kt[d * lp + j] = k[d];
    const float* v = row_f32(tok + kv.v_offset * static_cast<int64_t>(esize), kv.dtype, vhd, buf);
    memcpy(vv + j * vhd, v, static_cast<size_t>(vhd) * sizeof(float));
  }
  for (int64_t d = 0; d < hd; ++d)
    for (int64_t j = len; j < lp; ++j) kt[d * lp + j] = 0.f;

  // Row r is (token r / group, head r % group).
  auto q_row = [&](int64_t r) {
    return a.q + (r / a.group) * a.q_token_stride + (r % a.group) * a.q_stride;
  };
  // Scores: [rows, lp] = Q [rows, hd] x Kt [hd, lp], kRowTile rows x 16 keys per tile; each
  // score sums its head_dim products in order.
  for (int64_t r0 = 0; r0 < rows; r0 += kRowTile) {
    const int64_t nr = rows - r0 < kRowTile ? rows - r0 : kRowTile;
    const float* qr[kRowTile];
    for (int64_t i = 0; i < kRowTile; ++i) qr[i] = q_row(r0 + (i < nr ? i : 0));
    // The tile's last row ends the causal range of all its rows.
    const int64_t row_end = a.first_key_end + (r0 + nr - 1) / a.group - kb;
    for (int64_t j0 = 0; j0 < row_end; j0 += kKeyChunk) {
      float acc[kRowTile][kKeyChunk] = {};
      for (int64_t d = 0; d < hd; ++d) {
        const float* kr = kt + d * lp + j0;
        for (int64_t i = 0; i < kRowTile; ++i) {
          const float qd = qr[i][d];
#pragma omp simd
          for (int64_t l = 0; l < kKeyChunk; ++l) acc[i][l] += qd * kr[l];
        }
      }
      for (int64_t i = 0; i < nr; ++i) memcpy(sc + (r0 + i) * lp + j0, acc[i], sizeof(acc[i]));
    }
  }
  // Softmax of each row over its own causal (and sliding) range; probabilities elsewhere are 0.
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t end_abs = a.first_key_end + r / a.group;
    const int64_t begin_abs =
        a.sliding_window > 0 && end_abs > a.sliding_window ? end_abs - a.sliding_window : 0;
    const int64_t end = end_abs - kb, begin = begin_abs - kb;  // relative to the span
    float* s = sc + r * lp;
    for (int64_t j = begin; j < end; ++j) s[j] *= a.scale;
    if (a.softcap > 0.f)
      for (int64_t j = begin; j < end; ++j) s[j] = a.softcap * tanhf(s[j] / a.softcap);
    softmax(s + begin, end - begin);
    for (int64_t j = 0; j < begin; ++j) s[j] = 0.f;
    for (int64_t j = end; j < lp; ++j) s[j] = 0.f;
  }
  // Outputs: [rows, vhd] = P [rows, lp] x V [len, vhd], kRowTile rows x 16 values per tile;
  // each output sums its keys in order.
  for (int64_t r0 = 0; r0 < rows; r0 += kRowTile) {
    const int64_t nr = rows - r0 < kRowTile ? rows - r0 : kRowTile;
    const int64_t row_end = a.first_key_end + (r0 + nr - 1) / a.group - kb;
    for (int64_t c0 = 0; c0 < vhd; c0 += kKeyChunk) {
      const int64_t nc = vhd - c0 < kKeyChunk ? vhd - c0 : kKeyChunk;
      float acc[kRowTile][kKeyChunk] = {};
      if (nc == kKeyChunk) {
        for (int64_t j = 0; j < row_end; ++j) {
          const float* vr = vv + j * vhd + c0;
          for (int64_t i = 0; i < kRowTile; ++i) {
            const float p = i < nr ? sc[(r0 + i) * lp + j] : 0.f;
#pragma omp simd
            for (int64_t l = 0; l < kKeyChunk; ++l) acc[i][l] += p * vr[l];
          }
        }
      } else {
        for (int64_t j = 0; j < row_end; ++j) {
          const float* vr = vv + j * vhd + c0;
          for (int64_t i = 0; i < nr; ++i) {
            const float p = sc[(r0 + i) * lp + j];
            for (int64_t l = 0; l < nc; ++l) acc[i][l] += p * vr[l];
          }
        }
      }
      for (int64_t i = 0; i < nr; ++i) {
        const int64_t r = r0 + i;
        float* o = a.out + (r / a.group) * a.out_token_stride + (r % a.group) * a.out_stride + c0;
        memcpy(o, acc[i], static_cast<size_t>(nc) * sizeof(float));
      }
    }
  }
}

}  // namespace

const VecKernels& table() {
  static const VecKernels t = {rms_norm, layer_norm, act, act_mul, softmax,
                               add,      scale,      dot, attend,  attend_block};
  return t;
}

}  // namespace deepfuse::cpu::DF_VEC_NS
