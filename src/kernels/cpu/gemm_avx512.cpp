// AVX-512 GEMM blocks: f32 activations times f32 / f16 / bf16 weights with FMA (f32 sums).
// Compiled with -mavx512f/bw/vl/dq; called only when cpu_features() reports them.
#include <immintrin.h>

#include "kernels/cpu/gemm_isa.h"
#include "kernels/cpu/gemm_reduce_avx512.h"

namespace deepfuse::cpu::avx512 {

namespace {

using avx512_reduce::store_tile;

struct LoadF32 {
  using T = float;
  static __m512 load(const T* p) { return _mm512_loadu_ps(p); }
  static __m512 load_mask(const T* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct LoadF16 {
  using T = uint16_t;
  static __m512 load(const T* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static __m512 load_mask(const T* p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
  }
};
struct LoadBF16 {
  using T = uint16_t;
  static __m512 widen(__m256i h) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
  static __m512 load(const T* p) {
    return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static __m512 load_mask(const T* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
};

// One tile: M activation rows x N weight rows, 16 k-values per step.
template <class L, int M, int N>
void micro(const float* x, int64_t ldx, const typename L::T* w, int64_t ldw, int64_t kc, float* y,
           int64_t ldy, bool accumulate) {
  __m512 acc[M][N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t kk = 0;
  for (; kk + 16 <= kc; kk += 16) {
    __m512 wv[N];
    for (int j = 0; j < N; ++j) wv[j] = L::load(w + j * ldw + kk);
    for (int i = 0; i < M; ++i) {
      const __m512 xv = _mm512_loadu_ps(x + i * ldx + kk);
      for (int j = 0; j < N; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  if (kk < kc) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (kc - kk)) - 1u);
    __m512 wv[N];
    for (int j = 0; j < N; ++j) wv[j] = L::load_mask(w + j * ldw + kk, mask);
    for (int i = 0; i < M; ++i) {
      const __m512 xv = _mm512_maskz_loadu_ps(mask, x + i * ldx + kk);
      for (int j = 0; j < N; ++j) acc[i][j] = _mm512_fmadd_ps(xv, wv[j], acc[i][j]);
    }
  }
  store_tile<M, N>(acc, y, ldy, accumulate);
}

constexpr int kMr = 4;
constexpr int kNr = 4;

template <class L>
using MicroFn = void (*)(const float*, int64_t, const typename L::T*, int64_t, int64_t, float*,
                         int64_t, bool);

template <class L, int M>
constexpr MicroFn<L> pick_n(int n) {
  return n == 1   ? micro<L, M, 1>
         : n == 2 ? micro<L, M, 2>
         : n == 3 ? micro<L, M, 3>
                  : micro<L, M, 4>;
}
template <class L>
MicroFn<L> pick(int m, int n) {
  return m == 1   ? pick_n<L, 1>(n)
         : m == 2 ? pick_n<L, 2>(n)
         : m == 3 ? pick_n<L, 3>(n)
                  : pick_n<L, 4>(n);
}

template <class L>
void run(const GemmArgs& a) {
  const float* x = static_cast<const float*>(a.x);
  const auto* w = static_cast<const typename L::T*>(a.w);
  // Weight tile outer, activation tiles inner: the tile's weights stay in L1 while every
  // activation row passes over them.
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

}  // namespace deepfuse::cpu::avx512
