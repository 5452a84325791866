// Streaming-read bandwidth probe: the memory-bound ceiling a decode step is compared against
// (`deepfuse bench model`). Reads a buffer once with wide loads on every thread of a pool.
#pragma once

#include <cstddef>
#include <cstdint>

namespace deepfuse {
class ThreadPool;
}

namespace deepfuse::cpu {

// Reads all `bytes` of `buf` (64-byte aligned, bytes a multiple of 64) split over the pool's
// threads; returns a value derived from the data so the reads cannot be optimised away.
uint64_t stream_read(const void* buf, size_t bytes, ThreadPool& pool);

}  // namespace deepfuse::cpu
