// Internal: ISA-specific GEMM blocks behind kernels/cpu/gemm.h. Each computes, for the `rows`
// weight rows starting at `w` and all `n` activation rows,
//   y[i*ldy + j] (= or +=) sum_{kk < kc} x[i*ldx + kk] * w[j*ldw + kk]
// `accumulate` selects +=. Callers pre-offset x, w and y to the K block and first output.
#pragma once

#include <cstdint>

namespace deepfuse::cpu {

struct GemmArgs {
  const void* x;  // f32 activations, or bf16 (uint16) for the Avx512Bf16 path
  int64_t ldx;
  int64_t n;
  const void* w;  // weight rows (f32 / f16 / bf16 as the function name says)
  int64_t ldw;
  int64_t rows;
  int64_t kc;
  float* y;
  int64_t ldy;
  bool accumulate;
};

namespace avx2 {
void gemm_f32(const GemmArgs& a);
void gemm_f16(const GemmArgs& a);
void gemm_bf16(const GemmArgs& a);  // x holds bf16-rounded f32 values
}  // namespace avx2
namespace avx512 {
void gemm_f32(const GemmArgs& a);
void gemm_f16(const GemmArgs& a);
void gemm_bf16(const GemmArgs& a);  // x holds bf16-rounded f32 values
}  // namespace avx512
namespace avx512bf16 {
void gemm_bf16(const GemmArgs& a);  // x holds bf16 (uint16) values
}  // namespace avx512bf16

}  // namespace deepfuse::cpu
