// Micro-benchmarks: matmul per path and shape (Qwen2.5-0.5B's projections), the streaming-read
// ceiling, and attention. Run: build/bench/bench_kernels --benchmark_filter=decode
// Bytes/s counters report weight bytes streamed, comparable with BM_StreamRead.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/stream.h"

namespace deepfuse {
namespace {

struct Weights {
  int64_t k, m;
  std::vector<uint16_t> w;
};

std::vector<uint16_t> random_bf16(size_t n) {
  std::vector<uint16_t> v(n);
  uint64_t s = 88172645463325252ull;
  for (auto& x : v) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    x = f32_to_bf16((static_cast<float>(s % 2001) - 1000.f) * 1e-4f);
  }
  return v;
}

// args: n (tokens), k (in), m (out), path
void BM_Linear(benchmark::State& st) {
  const int64_t n = st.range(0), k = st.range(1), m = st.range(2);
  const auto path = static_cast<cpu::GemmPath>(st.range(3));
  if (!cpu::gemm_path_supported(path)) {
    st.SkipWithError("path not supported");
    return;
  }
  const std::vector<uint16_t> w = random_bf16(static_cast<size_t>(k * m));
  std::vector<float> x(static_cast<size_t>(n * k), 0.5f), y(static_cast<size_t>(n * m));
  for (auto _ : st) {
    cpu::linear_path(path, x.data(), n, k, w.data(), DType::BF16, m, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * k * m * 2);
  st.counters["GFLOPS"] = benchmark::Counter(
      static_cast<double>(st.iterations()) * 2.0 * n * k * m / 1e9, benchmark::Counter::kIsRate);
  st.SetLabel(cpu::gemm_path_name(path));
}

void LinearArgs(benchmark::internal::Benchmark* b) {
  for (int p :
       {static_cast<int>(cpu::GemmPath::Avx512), static_cast<int>(cpu::GemmPath::Avx512Bf16)}) {
    for (int64_t n : {1, 128}) {
      b->Args({n, 896, 4864, p});    // gate / up
      b->Args({n, 4864, 896, p});    // down
      b->Args({n, 896, 896, p});     // q, o
      b->Args({n, 896, 151936, p});  // lm_head
    }
  }
}
BENCHMARK(BM_Linear)->Apply(LinearArgs)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_StreamRead(benchmark::State& st) {
  const size_t bytes = static_cast<size_t>(st.range(0)) << 20;
  Tensor buf = Tensor::zeros(DType::U8, {static_cast<int64_t>(bytes)});
  for (auto _ : st)
    benchmark::DoNotOptimize(cpu::stream_read(buf.raw(), bytes, ThreadPool::global()));
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * bytes));
}
BENCHMARK(BM_StreamRead)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace deepfuse

BENCHMARK_MAIN();

// OpenBLAS sgemm on the same shapes with weights already converted to f32 (its best case: the
// conversion, and the 2x weight memory it needs, are not timed). Compared with BM_Linear to
// decide whether prefill should go through BLAS (docs/DECISIONS.md).
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c, const int* ldc);

namespace deepfuse {
namespace {
void BM_OpenBlasSgemm(benchmark::State& st) {
  const int n = static_cast<int>(st.range(0)), k = static_cast<int>(st.range(1)),
            m = static_cast<int>(st.range(2));
  std::vector<float> w(static_cast<size_t>(k) * m, 0.01f), x(static_cast<size_t>(n) * k, 0.5f),
      y(static_cast<size_t>(n) * m);
  const float one = 1.f, zero = 0.f;
  for (auto _ : st) {
    // Column-major view: Y^T [m, n] = W [m, k] (row-major [m, k] = col-major k x m, transposed)
    // times X^T [k, n].
    sgemm_("T", "N", &m, &n, &k, &one, w.data(), &k, x.data(), &k, &zero, y.data(), &m);
    benchmark::DoNotOptimize(y.data());
  }
  st.counters["GFLOPS"] = benchmark::Counter(
      static_cast<double>(st.iterations()) * 2.0 * n * k * m / 1e9, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_OpenBlasSgemm)
    ->Args({128, 896, 4864})
    ->Args({128, 4864, 896})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
}  // namespace
}  // namespace deepfuse
