// Internal, AVX-512 files only: reduction of a GEMM tile's accumulators.
//
// Every output is reduced by the same fixed tree over its 16 lanes, whatever the tile shape,
// so a result does not depend on which tile (full or edge) computed it: a row gives bitwise
// the same numbers alone (decode) or inside a prefill batch. Functions are `static` so this
// AVX-512 code is never shared with translation units built for narrower ISAs.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace deepfuse::cpu::avx512_reduce {

// Sum of each 128-bit lane's pairs, interleaved: (a0+a2, b0+b2, a1+a3, b1+b3) per lane.
static inline __m512 pair_sum(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
}
// From two pair_sums (ab, cd): per lane the partial sums (a, b, c, d).
static inline __m512 quad_sum(__m512 ab, __m512 cd) {
  const __m512d x = _mm512_castps_pd(ab), y = _mm512_castps_pd(cd);
  return _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)),
                       _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
}
// Adds 128-bit lanes pairwise across two vectors: (u.l0+u.l1, u.l2+u.l3, v.l0+v.l1, v.l2+v.l3).
static inline __m512 lane_sum(__m512 u, __m512 v) {
  return _mm512_add_ps(_mm512_shuffle_f32x4(u, v, 0x88), _mm512_shuffle_f32x4(u, v, 0xDD));
}
// Lane j of the result = sum of all 16 values of input j.
static inline __m512 reduce16(__m512 a0, __m512 a1, __m512 a2, __m512 a3, __m512 a4, __m512 a5,
                              __m512 a6, __m512 a7, __m512 a8, __m512 a9, __m512 a10, __m512 a11,
                              __m512 a12, __m512 a13, __m512 a14, __m512 a15) {
  const __m512 q0 = quad_sum(pair_sum(a0, a1), pair_sum(a2, a3));
  const __m512 q1 = quad_sum(pair_sum(a4, a5), pair_sum(a6, a7));
  const __m512 q2 = quad_sum(pair_sum(a8, a9), pair_sum(a10, a11));
  const __m512 q3 = quad_sum(pair_sum(a12, a13), pair_sum(a14, a15));
  return lane_sum(lane_sum(q0, q1), lane_sum(q2, q3));
}

// Adds (or stores) the M x N tile of accumulators into y (row stride ldy). Tiles of up to 32
// outputs are reduced 16 at a time; each output takes the same tree whatever its slot.
template <int M, int N>
static inline void store_tile(const __m512 (&acc)[M][N], float* y, int64_t ldy, bool accumulate) {
  constexpr int kOutputs = M * N;
  static_assert(kOutputs <= 32, "store_tile reduces at most 32 outputs");
  constexpr int kGroups = (kOutputs + 15) / 16;
  alignas(64) float sums[kGroups * 16];
  for (int g = 0; g < kGroups; ++g) {
    __m512 r[16];
    for (int t = 0; t < 16; ++t) {
      const int o = g * 16 + t;
      r[t] = o < kOutputs ? acc[o / N][o % N] : _mm512_setzero_ps();
    }
    _mm512_store_ps(sums + g * 16, reduce16(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8],
                                            r[9], r[10], r[11], r[12], r[13], r[14], r[15]));
  }
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      float& out = y[i * ldy + j];
      out = accumulate ? out + sums[i * N + j] : sums[i * N + j];
    }
}

}  // namespace deepfuse::cpu::avx512_reduce
