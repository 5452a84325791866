// Matrix multiplication against weights in Hugging Face layout, on the CPU.
//
//   y[n, m] = x[n, k] · w[m, k]^T        (x f32; w f32, f16 or bf16; y f32; f32 accumulation)
//
// Numerics: f32 and f16 weights multiply the f32 activations as they are. With bf16 weights the
// activations are first rounded to bf16 (RNE) on every path, as torch does when a model runs in
// bfloat16; the products of two bf16 values are exact in f32, so all paths differ only in the
// order of the f32 sums. That lets AVX512_BF16 (`vdpbf16ps`) serve both decode and prefill.
//
// Paths: Reference (plain loops, the definition), Avx2 (FMA), Avx512 (FMA), Avx512Bf16
// (dot products of bf16 pairs) and OneDnn (bf16 weights only: oneDNN's JIT matmul). linear()
// picks the best the machine has (DEEPFUSE_ISA caps it): our kernels for steps of fewer than
// kOneDnnMinRows rows (decode: memory-bound, and bitwise batch-invariant among such steps),
// oneDNN for prefill-sized steps with bf16 weights where the CPU has AVX512_BF16
// (DEEPFUSE_ONEDNN=0 turns that off). linear_path() runs a named path so tests can compare
// every path with the reference.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace deepfuse {
class ThreadPool;
}

namespace deepfuse::cpu {

enum class GemmPath { Reference, Avx2, Avx512, Avx512Bf16, OneDnn };

// Row count from which linear() hands bf16 products to oneDNN (see the header comment).
constexpr int64_t kOneDnnMinRows = 16;

const char* gemm_path_name(GemmPath p);
// True when this machine can run `p` (ignores the DEEPFUSE_ISA cap).
bool gemm_path_supported(GemmPath p);
// Fastest built-in path for weights of `w_dtype` on this machine, after the DEEPFUSE_ISA cap.
GemmPath best_gemm_path(DType w_dtype);
// The path linear() takes for an `n`-row product with `w_dtype` weights.
GemmPath gemm_path_for(DType w_dtype, int64_t n);

// y[n, m] = x[n, k] · w[m, k]^T. `w_dtype` is F32, F16 or BF16 (callers validate). Rows of x, w
// and y are contiguous with strides k, k and m. Parallelised over the m outputs on `pool`
// (nullptr = ThreadPool::current()).
void linear(const float* x, int64_t n, int64_t k, const void* w, DType w_dtype, int64_t m, float* y,
            ThreadPool* pool = nullptr);
void linear_path(GemmPath path, const float* x, int64_t n, int64_t k, const void* w, DType w_dtype,
                 int64_t m, float* y, ThreadPool* pool = nullptr);

}  // namespace deepfuse::cpu
