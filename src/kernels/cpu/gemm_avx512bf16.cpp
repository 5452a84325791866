// AVX512_BF16 GEMM block: bf16 activations times bf16 weights with `vdpbf16ps` (each
// instruction multiplies 32 bf16 pairs exactly and adds them into 16 f32 sums). Compiled with
// -mavx512bf16; called only when cpu_features().avx512_bf16 is set.
#include <immintrin.h>

#include <algorithm>
#include <array>
#include <utility>

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

constexpr int kMaxNr = 8;
// Shapes with more than 32 accumulators would spill registers and are never picked: nullptr.
template <int M, int N>
constexpr MicroFn micro_or_null() {
  if constexpr (M * N <= 32) {
    return micro<M, N>;
  } else {
    return nullptr;
  }
}
template <int M, int... Ns>
constexpr std::array<MicroFn, sizeof...(Ns)> row_of_micros(std::integer_sequence<int, Ns...>) {
  return {micro_or_null<M, Ns + 1>()...};
}
template <int... Ms>
constexpr std::array<std::array<MicroFn, kMaxNr>, sizeof...(Ms)> micro_table(
    std::integer_sequence<int, Ms...>) {
  return {row_of_micros<Ms + 1>(std::make_integer_sequence<int, kMaxNr>())...};
}
// kMicros[m - 1][n - 1] = micro<m, n>, m in 1..8, n in 1..8 (m * n <= 32).
constexpr auto kMicros = micro_table(std::make_integer_sequence<int, 8>());

// Prefill tiles are 8 activation rows x 3 weight rows: 24 accumulators, and 11 loads per 24
// dot products. Rows of x stream from L2 while the 3 weight rows stay in L1. Decode (fewer than
// 8 rows) takes 4 weight rows per tile instead, and 6 for one or two rows: more independent
// weight streams in flight for a memory-bound matrix-vector product (6 rows: 43.5-44.6 ->
// 45.9-48.2 tokens/s on the Qwen2.5-0.5B-shaped bench, docs/BENCHMARKS.md). The tile shape does
// not change any output's bits (each lane sums its k values in order, then the fixed reduction
// tree), so batch invariance holds.
constexpr int kMrPrefill = 8;
constexpr int kNrPrefill = 3;
constexpr int kNrDecode = 4;
constexpr int kNrDecodeOne = 6;

}  // namespace

void gemm_bf16(const GemmArgs& a) {
  const auto* x = static_cast<const uint16_t*>(a.x);
  const auto* w = static_cast<const uint16_t*>(a.w);
  const bool prefill = a.n >= kMrPrefill;
  const int64_t mr = prefill ? kMrPrefill : a.n;
  const int64_t nr = prefill ? kNrPrefill : (a.n <= 2 ? kNrDecodeOne : kNrDecode);
  for (int64_t j0 = 0; j0 < a.rows; j0 += nr) {
    const int64_t nj = std::min(nr, a.rows - j0);
    for (int64_t i0 = 0; i0 < a.n; i0 += mr) {
      const int64_t ni = std::min(mr, a.n - i0);
      kMicros[static_cast<size_t>(ni - 1)][static_cast<size_t>(nj - 1)](
          x + i0 * a.ldx, a.ldx, w + j0 * a.ldw, a.ldw, a.kc, a.y + i0 * a.ldy + j0, a.ldy,
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
