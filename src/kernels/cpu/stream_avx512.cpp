// AVX-512 body of the streaming-read probe (kernels/cpu/stream.h).
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace deepfuse::cpu::avx512 {

uint64_t stream_read_range(const uint8_t* p, size_t bytes) {
  __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
  size_t i = 0;
  for (; i + 256 <= bytes; i += 256) {
    a = _mm512_xor_si512(a, _mm512_load_si512(p + i));
    b = _mm512_xor_si512(b, _mm512_load_si512(p + i + 64));
    c = _mm512_xor_si512(c, _mm512_load_si512(p + i + 128));
    d = _mm512_xor_si512(d, _mm512_load_si512(p + i + 192));
  }
  for (; i + 64 <= bytes; i += 64) a = _mm512_xor_si512(a, _mm512_load_si512(p + i));
  const __m512i x = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
  alignas(64) uint64_t out[8];
  _mm512_store_si512(out, x);
  uint64_t r = 0;
  for (uint64_t v : out) r ^= v;
  return r;
}

}  // namespace deepfuse::cpu::avx512
