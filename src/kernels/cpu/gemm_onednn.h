// Internal: bf16 matrix product through oneDNN for prefill-sized row counts (gemm.cpp routes).
//   y[n, m] = x[n, k] · w[m, k]^T     (x and w bf16, y f32, f32 accumulation)
#pragma once

#include <cstdint>

namespace deepfuse {
class ThreadPool;
}

namespace deepfuse::cpu::onednn {

// True when this build links oneDNN.
bool available();

// Runs on `pool`'s threads, each calling oneDNN single-threaded on a slice of the weight rows.
// InternalError if oneDNN fails; Unsupported without oneDNN.
void gemm_bf16(const uint16_t* x, int64_t n, int64_t k, const uint16_t* w, int64_t m, float* y,
               ThreadPool& pool);

}  // namespace deepfuse::cpu::onednn
