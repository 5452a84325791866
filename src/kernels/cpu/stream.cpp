#include "kernels/cpu/stream.h"

#include <algorithm>
#include <atomic>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace deepfuse::cpu {

namespace avx512 {
uint64_t stream_read_range(const uint8_t* p, size_t bytes);
}

namespace {
uint64_t read_range_generic(const uint8_t* p, size_t bytes) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= bytes / 8; i += 4) {
    a ^= q[i];
    b ^= q[i + 1];
    c ^= q[i + 2];
    d ^= q[i + 3];
  }
  return a ^ b ^ c ^ d;
}
}  // namespace

uint64_t stream_read(const void* buf, size_t bytes, ThreadPool& pool) {
  const bool wide = best_isa() == Isa::Avx512;
  const uint8_t* base = static_cast<const uint8_t*>(buf);
  const int64_t lines = static_cast<int64_t>(bytes / 64);
  std::atomic<uint64_t> acc{0};
  const int64_t threads = pool.num_threads();
  // One contiguous range per thread, as a weight matrix split over threads is read.
  pool.parallel_for(lines, (lines + threads - 1) / threads, [&](int64_t l0, int64_t l1) {
    const uint8_t* p = base + l0 * 64;
    const size_t n = static_cast<size_t>(l1 - l0) * 64;
    const uint64_t v = wide ? avx512::stream_read_range(p, n) : read_range_generic(p, n);
    acc.fetch_xor(v, std::memory_order_relaxed);
  });
  return acc.load();
}

}  // namespace deepfuse::cpu
