// Prefill-sized bf16 matrix products through oneDNN (Debian libdnnl), where it wins: its JIT
// kernels pack the weights into the layout its outer-product micro-kernels want and keep both
// FMA pipes busy, which our dot-product tiles (built for memory-bound decode) do not.
// Measured numbers and the decision: docs/DECISIONS.md "Prefill matmul through oneDNN".
//
// Threads: our ThreadPool splits the weight rows into slices and every thread runs a
// single-threaded oneDNN matmul on its slice. oneDNN's own OpenMP team is not used: on a
// machine shared with other work its spinning barriers lost 2-3x against the pool (measured,
// docs/DECISIONS.md), and one pool keeps one --threads knob.
// One primitive per slice shape (k, slice rows, row stride of y), with the activation row count
// left to run time, so prompts of any length reuse it: no JIT compilation per prompt length.
#include "kernels/cpu/gemm_onednn.h"

#ifdef DEEPFUSE_HAVE_ONEDNN
#include <malloc.h>
#include <omp.h>

#include <cstdlib>

#include <algorithm>
#include <dnnl.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>
#endif

#include "core/error.h"
#include "core/thread_pool.h"

namespace deepfuse::cpu::onednn {

#ifdef DEEPFUSE_HAVE_ONEDNN

namespace {

// oneDNN's gemm allocates its packing buffers on every call. glibc serves blocks that large
// with fresh mmaps, so every call paid page faults and zeroing: 14% of a 512-token prefill in
// the kernel's page-fault handler and 2x slower prefill (docs/DECISIONS.md). Keeping such
// blocks in the heap (mmap threshold at its 32 MiB maximum, trimming only above 1 GiB free)
// makes the buffers reusable. Skipped when the user tunes malloc through the environment.
void keep_large_blocks_in_heap() {
  if (std::getenv("GLIBC_TUNABLES") || std::getenv("MALLOC_MMAP_THRESHOLD_") ||
      std::getenv("MALLOC_TRIM_THRESHOLD_"))
    return;
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

struct Runtime {
  Runtime() { keep_large_blocks_in_heap(); }
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  std::mutex mu;
  std::map<std::tuple<int64_t, int64_t, int64_t>, std::shared_ptr<dnnl::matmul>> matmuls;
};

// Never destroyed: worker threads' thread_local streams may outlive static destruction.
Runtime& runtime() {
  static Runtime* r = new Runtime();
  return *r;
}

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// A slice of `rows` weight rows is [rows, k] row-major (Hugging Face's [out, in]), i.e. the
// [k, rows] operand in column layout ("ba"); activations [n, k] bf16; results [n, rows] f32
// with row stride ldy (the slice's columns of the full output).
dnnl::memory::desc y_desc(int64_t n, int64_t rows, int64_t ldy) {
  return dnnl::memory::desc({n, rows}, dt::f32, dnnl::memory::dims{ldy, 1});
}

std::shared_ptr<dnnl::matmul> matmul_for(Runtime& rt, int64_t k, int64_t rows, int64_t ldy) {
  std::lock_guard<std::mutex> lock(rt.mu);
  auto& slot = rt.matmuls[{k, rows, ldy}];
  if (!slot) {
    const dnnl::memory::desc x_md({DNNL_RUNTIME_DIM_VAL, k}, dt::bf16, tag::ab);
    const dnnl::memory::desc w_md({k, rows}, dt::bf16, tag::ba);
    const dnnl::memory::desc y_md = y_desc(DNNL_RUNTIME_DIM_VAL, rows, ldy);
    const dnnl::matmul::desc d(x_md, w_md, y_md);
    slot = std::make_shared<dnnl::matmul>(dnnl::matmul::primitive_desc(d, rt.engine));
  }
  return slot;
}

// Weight rows per slice: a multiple of 64 giving every thread about four slices (so a thread
// slowed by other work does not hold the rest up), at least 64 and at most 512 rows.
int64_t slice_rows(int64_t m, int threads) {
  int64_t s = (m + threads * 4 - 1) / (threads * 4);
  s = (s + 63) / 64 * 64;
  return std::clamp<int64_t>(s, 64, 512);
}

}  // namespace

bool available() {
  return true;
}

void gemm_bf16(const uint16_t* x, int64_t n, int64_t k, const uint16_t* w, int64_t m, float* y,
               ThreadPool& pool) {
  Runtime& rt = runtime();
  const int64_t rows = slice_rows(m, pool.num_threads());
  const int64_t slices = (m + rows - 1) / rows;
  pool.parallel_for(slices, 1, [&](int64_t s0, int64_t s1) {
    // Every oneDNN call runs on this thread alone (see the file comment); the thread's OpenMP
    // setting is restored so other OpenMP users on it (FAISS search) keep theirs.
    const int omp_before = omp_get_max_threads();
    omp_set_num_threads(1);
    struct Restore {
      int n;
      ~Restore() { omp_set_num_threads(n); }
    } restore{omp_before};
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t j0 = s * rows;
      const int64_t r = std::min(rows, m - j0);
      try {
        const std::shared_ptr<dnnl::matmul> mm = matmul_for(rt, k, r, m);
        dnnl::memory xm({{n, k}, dt::bf16, tag::ab}, rt.engine, const_cast<uint16_t*>(x));
        dnnl::memory wm({{k, r}, dt::bf16, tag::ba}, rt.engine, const_cast<uint16_t*>(w + j0 * k));
        dnnl::memory ym(y_desc(n, r, m), rt.engine, y + j0);
        thread_local dnnl::stream st(rt.engine);  // one per thread, reused (creation is not free)
        mm->execute(st, {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}});
        st.wait();
      } catch (const dnnl::error& e) {
        throw InternalError(std::string("oneDNN matmul [") + std::to_string(n) + ", " +
                            std::to_string(k) + "] x [" + std::to_string(r) + ", " +
                            std::to_string(k) + "]^T failed: " + e.what() +
                            " (set DEEPFUSE_ONEDNN=0 to use the built-in kernels)");
      }
    }
  });
}

#else

bool available() {
  return false;
}

void gemm_bf16(const uint16_t*, int64_t, int64_t, const uint16_t*, int64_t, float*, ThreadPool&) {
  throw Unsupported("linear: this build has no oneDNN (install libdnnl-dev and reconfigure)");
}

#endif

}  // namespace deepfuse::cpu::onednn
