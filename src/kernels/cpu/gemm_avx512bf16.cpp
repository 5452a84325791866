// AVX512_BF16 GEMM block: bf16 activations times bf16 weights with `vdpbf16ps` (each
// instruction multiplies 32 bf16 pairs exactly and adds them into 16 f32 sums). Compiled with
// -mavx512bf16; called only when cpu_features().avx512_bf16 is set.
#include <immintrin.h>

#include "kernels/cpu/gemm_isa.h"
#include "kernels/cpu/gemm_reduce_avx512.h"

namespace deepfuse::cpu::avx512bf16 {

namespace {

using avx512_reduce::store_tile;

inline __m512bh load_bh(const uint16_t* p) {
  return (__m512bh)_mm512_loadu_si512(p);
}

inline __m512bh load_bh_mask(const uint16_t* p, __mmask32 m) {
  return (__m512bh)_mm512_maskz_loadu_epi16(m, p);
}

// One tile: M activation rows x N weight rows, 32 k-values per step.
template <int M, int N>
void micro(const uint16_t* x, int64_t ldx, const uint16_t* w, int64_t ldw, int64_t kc, float* y,
           int64_t ldy, bool accumulate) {
  __m512 acc[M][N];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) acc[i][j] = _mm512_setzero_ps();
  int64_t kk = 0;
  for (; kk + 32 <= kc; kk += 32) {
    __m512bh wv[N];
    for (int j = 0; j < N; ++j) wv[j] = load_bh(w + j * ldw + kk);
    for (int i = 0; i < M; ++i) {
      const __m512bh xv = load_bh(x + i * ldx + kk);
      for (int j = 0; j < N; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
    }
  }
  if (kk < kc) {
    // Masked loads zero the missing values, so an odd K pairs its last value with 0.
    const __mmask32 mask = static_cast<__mmask32>((1ull << (kc - kk)) - 1ull);
    __m512bh wv[N];
    for (int j = 0; j < N; ++j) wv[j] = load_bh_mask(w + j * ldw + kk, mask);
    for (int i = 0; i < M; ++i) {
      const __m512bh xv = load_bh_mask(x + i * ldx + kk, mask);
      for (int j = 0; j < N; ++j) acc[i][j] = _mm512_dpbf16_ps(acc[i][j], xv, wv[j]);
    }
  }
  store_tile<M, N>(acc, y, ldy, accumulate);
}

using MicroFn = void (*)(const uint16_t*, int64_t, const uint16_t*, int64_t, int64_t, float*,
                         int64_t, bool);
template <int M>
MicroFn pick_n(int n) {
  return n == 1 ? micro<M, 1> : n == 2 ? micro<M, 2> : n == 3 ? micro<M, 3> : micro<M, 4>;
}
MicroFn pick(int m, int n) {
  return m == 1 ? pick_n<1>(n) : m == 2 ? pick_n<2>(n) : m == 3 ? pick_n<3>(n) : pick_n<4>(n);
}

constexpr int kMr = 4;
constexpr int kNr = 4;

}  // namespace

void gemm_bf16(const GemmArgs& a) {
  const auto* x = static_cast<const uint16_t*>(a.x);
  const auto* w = static_cast<const uint16_t*>(a.w);
  for (int64_t j0 = 0; j0 < a.rows; j0 += kNr) {
    const int nj = static_cast<int>(a.rows - j0 < kNr ? a.rows - j0 : kNr);
    for (int64_t i0 = 0; i0 < a.n; i0 += kMr) {
      const int ni = static_cast<int>(a.n - i0 < kMr ? a.n - i0 : kMr);
      pick(ni, nj)(x + i0 * a.ldx, a.ldx, w + j0 * a.ldw, a.ldw, a.kc, a.y + i0 * a.ldy + j0, a.ldy,
                   a.accumulate);
    }
  }
}

// f32 -> bf16 with round-to-nearest-even (vcvtneps2bf16), 16 values per instruction.
void round_to_bf16(const float* x, int64_t n, uint16_t* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_loadu_ps(x + i));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), (__m256i)h);
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m256bh h = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
    _mm256_mask_storeu_epi16(out + i, m, (__m256i)h);
  }
}

}  // namespace deepfuse::cpu::avx512bf16
