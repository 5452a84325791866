#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm_isa.h"
#include "kernels/cpu/gemm_onednn.h"

namespace deepfuse::cpu {

namespace avx512bf16 {
void round_to_bf16(const float* x, int64_t n, uint16_t* out);
}

namespace {

// Rows of x handled per block and the K block length: an x block of kBlockRows x kc values
// stays in L2 while every weight tile of a thread's range streams past it once. The K block
// does not depend on n, so every output is summed in the same order whatever the batch: a
// row's result is bitwise the same alone (decode) or inside a prefill (batch invariance).
constexpr int64_t kBlockRows = 128;
constexpr int64_t kBlockKBf16 = 1024;
constexpr int64_t kBlockKF32 = 512;

inline float load_w(const void* w, DType dt, int64_t i) {
  switch (dt) {
    case DType::F32:
      return static_cast<const float*>(w)[i];
    case DType::F16:
      return f16_to_f32(static_cast<const uint16_t*>(w)[i]);
    case DType::BF16:
      return bf16_to_f32(static_cast<const uint16_t*>(w)[i]);
    default:
      return 0.f;
  }
}

// The definition: sequential f32 sums. `x` already holds bf16-rounded values for bf16 weights.
void reference(const float* x, int64_t n, int64_t k, const void* w, DType dt, int64_t m, float* y,
               ThreadPool& pool) {
  pool.parallel_for(m, 16, [&](int64_t j0, int64_t j1) {
    std::vector<float> wrow(static_cast<size_t>(k));
    for (int64_t j = j0; j < j1; ++j) {
      for (int64_t kk = 0; kk < k; ++kk) wrow[static_cast<size_t>(kk)] = load_w(w, dt, j * k + kk);
      for (int64_t i = 0; i < n; ++i) {
        float acc = 0.f;
        const float* xr = x + i * k;
        for (int64_t kk = 0; kk < k; ++kk) acc += xr[kk] * wrow[static_cast<size_t>(kk)];
        y[i * m + j] = acc;
      }
    }
  });
}

using BlockFn = void (*)(const GemmArgs&);

BlockFn block_fn(GemmPath path, DType dt) {
  switch (path) {
    case GemmPath::Avx2:
      return dt == DType::F32   ? avx2::gemm_f32
             : dt == DType::F16 ? avx2::gemm_f16
                                : avx2::gemm_bf16;
    case GemmPath::Avx512:
      return dt == DType::F32   ? avx512::gemm_f32
             : dt == DType::F16 ? avx512::gemm_f16
                                : avx512::gemm_bf16;
    case GemmPath::Avx512Bf16:
      return dt == DType::F32   ? avx512::gemm_f32
             : dt == DType::F16 ? avx512::gemm_f16
                                : avx512bf16::gemm_bf16;
    case GemmPath::Reference:
    case GemmPath::OneDnn:
      break;
  }
  return nullptr;
}

// Scratch buffers reused across calls on the calling thread (the decode loop issues hundreds
// of small matmuls per token; no allocation per call).
thread_local std::vector<float> tls_xr;
thread_local std::vector<uint16_t> tls_xb;

}  // namespace

const char* gemm_path_name(GemmPath p) {
  switch (p) {
    case GemmPath::Reference:
      return "reference";
    case GemmPath::Avx2:
      return "avx2";
    case GemmPath::Avx512:
      return "avx512";
    case GemmPath::Avx512Bf16:
      return "avx512_bf16";
    case GemmPath::OneDnn:
      return "onednn";
  }
  return "?";
}

bool gemm_path_supported(GemmPath p) {
  const CpuFeatures& f = cpu_features();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  switch (p) {
    case GemmPath::Reference:
      return true;
    case GemmPath::Avx2:
      return avx2;
    case GemmPath::Avx512:
      return avx512;
    case GemmPath::Avx512Bf16:
      return avx512 && f.avx512_bf16;
    case GemmPath::OneDnn:
      return avx512 && f.avx512_bf16 && onednn::available();
  }
  return false;
}

GemmPath best_gemm_path(DType w_dtype) {
  switch (best_isa()) {
    case Isa::Avx512:
      if (w_dtype == DType::BF16 && gemm_path_supported(GemmPath::Avx512Bf16))
        return GemmPath::Avx512Bf16;
      return GemmPath::Avx512;
    case Isa::Avx2:
      return GemmPath::Avx2;
    case Isa::Scalar:
      break;
  }
  return GemmPath::Reference;
}

GemmPath gemm_path_for(DType w_dtype, int64_t n) {
  const GemmPath p = best_gemm_path(w_dtype);
  static const bool onednn_allowed = [] {
    const char* v = std::getenv("DEEPFUSE_ONEDNN");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  if (w_dtype == DType::BF16 && n >= kOneDnnMinRows && p == GemmPath::Avx512Bf16 &&
      onednn_allowed && gemm_path_supported(GemmPath::OneDnn))
    return GemmPath::OneDnn;
  return p;
}

void linear(const float* x, int64_t n, int64_t k, const void* w, DType w_dtype, int64_t m, float* y,
            ThreadPool* pool) {
  linear_path(gemm_path_for(w_dtype, n), x, n, k, w, w_dtype, m, y, pool);
}

void linear_path(GemmPath path, const float* x, int64_t n, int64_t k, const void* w, DType w_dtype,
                 int64_t m, float* y, ThreadPool* pool) {
  DF_CHECK(w_dtype == DType::F32 || w_dtype == DType::F16 || w_dtype == DType::BF16, Unsupported,
           "linear: weights of dtype " << dtype_name(w_dtype)
                                       << " (expected float32, float16 or bfloat16)");
  DF_CHECK(gemm_path_supported(path), Unsupported,
           "linear: kernel path " << gemm_path_name(path) << " is not supported on this CPU");
  ThreadPool& tp = pool ? *pool : ThreadPool::current();
  if (n <= 0 || m <= 0) return;
  if (k <= 0) {
    std::fill(y, y + n * m, 0.f);
    return;
  }
  const size_t nk = static_cast<size_t>(n * k);
  const void* xp = x;
  DF_CHECK(path != GemmPath::OneDnn || w_dtype == DType::BF16, Unsupported,
           "linear: the onednn path takes bfloat16 weights, got " << dtype_name(w_dtype));
  const bool dp_bf16 =
      (path == GemmPath::Avx512Bf16 || path == GemmPath::OneDnn) && w_dtype == DType::BF16;
  if (dp_bf16) {
    if (tls_xb.size() < nk) tls_xb.resize(nk);
    avx512bf16::round_to_bf16(x, n * k, tls_xb.data());
    xp = tls_xb.data();
  } else if (w_dtype == DType::BF16) {
    if (tls_xr.size() < nk) tls_xr.resize(nk);
    float* xr = tls_xr.data();
#pragma omp simd
    for (size_t i = 0; i < nk; ++i) xr[i] = bf16_to_f32(f32_to_bf16(x[i]));
    xp = xr;
  }
  if (path == GemmPath::OneDnn) {
    onednn::gemm_bf16(static_cast<const uint16_t*>(xp), n, k, static_cast<const uint16_t*>(w), m, y,
                      tp);
    return;
  }
  if (path == GemmPath::Reference) {
    reference(static_cast<const float*>(xp), n, k, w, w_dtype, m, y, tp);
    return;
  }
  const BlockFn fn = block_fn(path, w_dtype);
  const size_t xsize = dp_bf16 ? 2 : 4;
  const size_t wsize = dtype_size(w_dtype);
  const int64_t kc = dp_bf16 ? kBlockKBf16 : kBlockKF32;
  // Units of 12 weight rows (whole tiles for the 3- and 4-row tile shapes of every path);
  // ~8 chunks per thread so a thread slowed by a neighbour on a shared machine does not hold
  // the others up.
  constexpr int64_t kUnit = 12;
  const int64_t tiles = (m + kUnit - 1) / kUnit;
  const int64_t threads = tp.num_threads();
  const int64_t grain = std::max<int64_t>(1, tiles / (threads * 8));
  tp.parallel_for(tiles, grain, [&](int64_t t0, int64_t t1) {
    const int64_t j0 = t0 * kUnit;
    const int64_t j1 = std::min(m, t1 * kUnit);
    for (int64_t k0 = 0; k0 < k; k0 += kc) {
      const int64_t klen = std::min(kc, k - k0);
      for (int64_t i0 = 0; i0 < n; i0 += kBlockRows) {
        GemmArgs a;
        a.x = static_cast<const char*>(xp) + (static_cast<size_t>(i0 * k + k0)) * xsize;
        a.ldx = k;
        a.n = std::min(kBlockRows, n - i0);
        a.w = static_cast<const char*>(w) + static_cast<size_t>(j0 * k + k0) * wsize;
        a.ldw = k;
        a.rows = j1 - j0;
        a.kc = klen;
        a.y = y + i0 * m + j0;
        a.ldy = m;
        a.accumulate = k0 > 0;
        fn(a);
      }
    }
  });
}

}  // namespace deepfuse::cpu
