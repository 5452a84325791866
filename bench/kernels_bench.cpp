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
  st.counters["GFLOPS"] = benchmark::Counter(static_cast<double>(st.iterations()) * 2.0 * n * k * m / 1e9,
                                             benchmark::Counter::kIsRate);
  st.SetLabel(cpu::gemm_path_name(path));
}

void LinearArgs(benchmark::internal::Benchmark* b) {
  for (int p : {static_cast<int>(cpu::GemmPath::Avx512), static_cast<int>(cpu::GemmPath::Avx512Bf16)}) {
    for (int64_t n : {1, 128}) {
      b->Args({n, 896, 4864, p});   // gate / up
      b->Args({n, 4864, 896, p});   // down
      b->Args({n, 896, 896, p});    // q, o
      b->Args({n, 896, 151936, p}); // lm_head
    }
  }
}
BENCHMARK(BM_Linear)->Apply(LinearArgs)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_StreamRead(benchmark::State& st) {
  const size_t bytes = static_cast<size_t>(st.range(0)) << 20;
  Tensor buf = Tensor::zeros(DType::U8, {static_cast<int64_t>(bytes)});
  for (auto _ : st) benchmark::DoNotOptimize(cpu::stream_read(buf.raw(), bytes, ThreadPool::global()));
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * bytes));
}
BENCHMARK(BM_StreamRead)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace deepfuse

BENCHMARK_MAIN();
