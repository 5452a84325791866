// AVX2 GEMM blocks: f32 activations times f32 / f16 / bf16 weights with FMA (f32 sums).
// Compiled with -mavx2 -mfma -mf16c; called only when cpu_features() reports them.
#include <immintrin.h>

#include "core/dtype.h"
#include "kernels/cpu/gemm_isa.h"

namespace deepfuse::cpu::avx2 {

namespace {

struct LoadF32 {
  using T = float;
  static __m256 load(const T* p) { return _mm256_loadu_ps(p); }
  static float scalar(const T* p) { return *p; }
};
struct LoadF16 {
  using T = uint16_t;
  static __m256 load(const T* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static float scalar(const T* p) { return f16_to_f32(*p); }
};
struct LoadBF16 {
  using T = uint16_t;
  static __m256 load(const T* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float scalar(const T* p) { return bf16_to_f32(*p); }
};

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// One tile: M activation rows x N weight rows, 8 k-values per step (16 ymm registers: keep
// M*N + N + 1 <= 16).
template <class L, int M, int N>
void micro(const float* x, int64_t ldx, const typename L::T* w, int64_t ldw, int64_t kc, float* y,
           int64_t ldy, bool accumulate) {
  __m256 acc[M][N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) acc[i][j] = _mm256_setzero_ps();
  int64_t kk = 0;
  for (; kk + 8 <= kc; kk += 8) {
    __m256 wv[N];
    for (int j = 0; j < N; ++j) wv[j] = L::load(w + j * ldw + kk);
    for (int i = 0; i < M; ++i) {
      const __m256 xv = _mm256_loadu_ps(x + i * ldx + kk);
      for (int j = 0; j < N; ++j) acc[i][j] = _mm256_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      float s = hsum(acc[i][j]);
      for (int64_t t = kk; t < kc; ++t) s += x[i * ldx + t] * L::scalar(w + j * ldw + t);
      float& out = y[i * ldy + j];
      out = accumulate ? out + s : s;
    }
}

constexpr int kMr = 2;
constexpr int kNr = 4;

template <class L>
using MicroFn = void (*)(const float*, int64_t, const typename L::T*, int64_t, int64_t, float*,
                         int64_t, bool);
template <class L, int M>
MicroFn<L> pick_n(int n) {
  return n == 1   ? micro<L, M, 1>
         : n == 2 ? micro<L, M, 2>
         : n == 3 ? micro<L, M, 3>
                  : micro<L, M, 4>;
}
template <class L>
MicroFn<L> pick(int m, int n) {
  return m == 1 ? pick_n<L, 1>(n) : pick_n<L, 2>(n);
}

template <class L>
void run(const GemmArgs& a) {
  const float* x = static_cast<const float*>(a.x);
  const auto* w = static_cast<const typename L::T*>(a.w);
  for (int64_t j0 = 0; j0 < a.rows; j0 += kNr) {
    const int nj = static_cast<int>(a.rows - j0 < kNr ? a.rows - j0 : kNr);
    for (int64_t i0 = 0; i0 < a.n; i0 += kMr) {
      const int ni = static_cast<int>(a.n - i0 < kMr ? a.n - i0 : kMr);
      pick<L>(ni, nj)(x + i0 * a.ldx, a.ldx, w + j0 * a.ldw, a.ldw, a.kc, a.y + i0 * a.ldy + j0,
                      a.ldy, a.accumulate);
    }
  }
}

}  // namespace

void gemm_f32(const GemmArgs& a) {
  run<LoadF32>(a);
}
void gemm_f16(const GemmArgs& a) {
  run<LoadF16>(a);
}
void gemm_bf16(const GemmArgs& a) {
  run<LoadBF16>(a);
}

}  // namespace deepfuse::cpu::avx2
