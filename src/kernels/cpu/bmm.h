// Batched matrix products on the CPU: one small product per batch entry (per attention head in
// MLA's absorbed form, where W_UK and W_UV are applied head by head).
//
//   NK: y[b] = x[b] · w[b]^T    x [B, m, k], w [B, n, k], y [B, m, n]   (HF linear layout)
//   KN: y[b] = x[b] · w[b]      x [B, m, k], w [B, k, n], y [B, m, n]
//
// All f32, contiguous. bmm() parallelises over the B·m output rows on `pool` (nullptr =
// ThreadPool::current()); each row is computed by one thread in a fixed order, so results do
// not depend on the thread count. bmm_reference() is the definition (plain loops, double
// accumulation) the tests compare with.
#pragma once

#include <cstdint>

namespace deepfuse {
class ThreadPool;
}

namespace deepfuse::cpu {

enum class BmmWeightLayout { NK, KN };

void bmm(BmmWeightLayout layout, const float* x, const float* w, float* y, int64_t batch,
         int64_t m, int64_t k, int64_t n, ThreadPool* pool = nullptr);
void bmm_reference(BmmWeightLayout layout, const float* x, const float* w, float* y,
                   int64_t batch, int64_t m, int64_t k, int64_t n);

}  // namespace deepfuse::cpu
