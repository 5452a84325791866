// Batched matrix products (kernels/cpu/bmm.h).
#include "kernels/cpu/bmm.h"

#include <algorithm>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "kernels/cpu/vec_kernels.h"

namespace deepfuse::cpu {

void bmm(BmmWeightLayout layout, const float* x, const float* w, float* y, int64_t batch,
         int64_t m, int64_t k, int64_t n, ThreadPool* pool) {
  ThreadPool& tp = pool ? *pool : ThreadPool::current();
  const VecKernels& vk = vec_kernels(best_isa());
  // One task per output row [b, i]; a row costs k·n multiply-adds, so group rows until a task
  // has some thousands of them (decode: B = heads, m = 1).
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(1, k * n));
  tp.parallel_for(batch * m, grain, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / m;
      const float* xr = x + row * k;
      float* yr = y + row * n;
      if (layout == BmmWeightLayout::NK) {
        const float* wb = w + b * n * k;
        for (int64_t j = 0; j < n; ++j) yr[j] = vk.dot(wb + j * k, xr, k);
      } else {
        // y_row = sum_d x[d] · w[d, :]: rows of w are read contiguously (axpy form).
        const float* wb = w + b * k * n;
        std::fill(yr, yr + n, 0.f);
        for (int64_t d = 0; d < k; ++d) {
          const float a = xr[d];
          const float* wr = wb + d * n;
          for (int64_t j = 0; j < n; ++j) yr[j] += a * wr[j];
        }
      }
    }
  });
}

void bmm_reference(BmmWeightLayout layout, const float* x, const float* w, float* y,
                   int64_t batch, int64_t m, int64_t k, int64_t n) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t d = 0; d < k; ++d) {
          const float wv = layout == BmmWeightLayout::NK ? w[(b * n + j) * k + d]
                                                         : w[(b * k + d) * n + j];
          acc += static_cast<double>(x[(b * m + i) * k + d]) * wv;
        }
        y[(b * m + i) * n + j] = static_cast<float>(acc);
      }
}

}  // namespace deepfuse::cpu
