// A synthetic decoder stack with Qwen2.5-0.5B's shapes in bf16 (24 layers: RMSNorm, q/k/v/o with
// qkv bias, RoPE, gated SiLU MLP, residual adds; tied 151936-row head), run through ops/ only.
// It stands in for `deepfuse bench model` where the full binary is not built: attention over
// the KV cache is left out (at the short contexts timed here it is < 1% of a step).
// Run: DEEPFUSE_THREADS=2 build/bench/bench_kernels --benchmark_filter='Stack|StreamRead'
#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <vector>

#include "core/dtype.h"
#include "core/tensor.h"
#include "ops/ops.h"

namespace deepfuse {
namespace {

struct Layer {
  Tensor in_norm, q, q_b, k, k_b, v, v_b, o, post_norm, gate, up, down;
};

struct Stack {
  static constexpr int64_t H = 896, I = 4864, NH = 14, NKV = 2, HD = 64, V = 151936, L = 24;
  std::vector<Layer> layers;
  Tensor embed, norm;
  std::vector<float> inv_freq;
  int64_t weight_bytes = 0;

  Tensor rand_bf16(std::vector<int64_t> shape, uint64_t& s, bool ones = false) {
    Tensor t = Tensor::empty(DType::BF16, Shape(shape));
    uint16_t* p = t.data<uint16_t>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (ones) {
        p[i] = 0x3F80;
        continue;
      }
      s ^= s << 13;
      s ^= s >> 7;
      s ^= s << 17;
      p[i] = f32_to_bf16((static_cast<float>(s >> 40) * (1.0f / 16777216.0f) - 0.5f) * 0.07f);
    }
    weight_bytes += static_cast<int64_t>(t.nbytes());
    return t;
  }

  Stack() {
    uint64_t s = 0x9E3779B97F4A7C15ull;
    embed = rand_bf16({V, H}, s);
    for (int64_t l = 0; l < L; ++l) {
      Layer y;
      y.in_norm = rand_bf16({H}, s, true);
      y.q = rand_bf16({H, H}, s);
      y.q_b = rand_bf16({H}, s);
      y.k = rand_bf16({NKV * HD, H}, s);
      y.k_b = rand_bf16({NKV * HD}, s);
      y.v = rand_bf16({NKV * HD, H}, s);
      y.v_b = rand_bf16({NKV * HD}, s);
      y.o = rand_bf16({H, H}, s);
      y.post_norm = rand_bf16({H}, s, true);
      y.gate = rand_bf16({I, H}, s);
      y.up = rand_bf16({I, H}, s);
      y.down = rand_bf16({H, I}, s);
      layers.push_back(std::move(y));
    }
    norm = rand_bf16({H}, s, true);
    for (int64_t i = 0; i < HD; i += 2) inv_freq.push_back(1.f / std::pow(1e6f, float(i) / HD));
  }

  // One step over n new tokens; logits for the last one.
  Tensor step(const std::vector<int32_t>& ids, int32_t pos0) {
    const int64_t n = static_cast<int64_t>(ids.size());
    std::vector<int32_t> pos(ids.size());
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = pos0 + static_cast<int32_t>(i);
    const ops::RopeAngles ang = ops::rope_angles(pos, inv_freq);
    Tensor x = ops::embedding(embed, ids);
    Tensor h = Tensor::empty(DType::F32, {n, H});
    for (const Layer& y : layers) {
      ops::rms_norm(x, y.in_norm, 1e-6f, h);
      Tensor q = ops::linear(h, y.q, &y.q_b).reshape({n, NH, HD});
      Tensor k = ops::linear(h, y.k, &y.k_b).reshape({n, NKV, HD});
      Tensor v = ops::linear(h, y.v, &y.v_b);
      ops::rope_inplace(q, ang, false);
      ops::rope_inplace(k, ang, false);
      // (attention over the cache omitted; q stands in for its output)
      Tensor o = ops::linear(q.reshape({n, H}), y.o);
      ops::add_inplace(x, o);
      ops::rms_norm(x, y.post_norm, 1e-6f, h);
      Tensor g = ops::linear(h, y.gate);
      Tensor u = ops::linear(h, y.up);
      ops::act_mul(g, u, Activation::SiLU, g);
      ops::add_inplace(x, ops::linear(g, y.down));
    }
    Tensor last = x.slice_rows(n - 1, 1);
    Tensor hn = Tensor::empty(DType::F32, {1, H});
    ops::rms_norm(last, norm, 1e-6f, hn);
    return ops::linear(hn, embed);
  }
};

Stack& stack() {
  static Stack s;
  return s;
}

void BM_StackDecode(benchmark::State& st) {
  Stack& s = stack();
  int32_t pos = 16;
  (void)s.step({1}, 0);  // touch all weights once
  for (auto _ : st)
    benchmark::DoNotOptimize(s.step({static_cast<int32_t>(pos % 1000)}, pos++).raw());
  st.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(st.iterations()), benchmark::Counter::kIsRate);
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * (s.weight_bytes - 0));
}
BENCHMARK(BM_StackDecode)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(3)
    ->ReportAggregatesOnly(true)
    ->MinTime(2.0);

void BM_StackPrefill(benchmark::State& st) {
  Stack& s = stack();
  const int64_t n = st.range(0);
  std::vector<int32_t> ids(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    ids[static_cast<size_t>(i)] = static_cast<int32_t>((i * 7919) % 151936);
  for (auto _ : st) benchmark::DoNotOptimize(s.step(ids, 0).raw());
  st.counters["tokens_per_s"] =
      benchmark::Counter(static_cast<double>(st.iterations() * n), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_StackPrefill)
    ->Arg(128)
    ->Arg(512)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Repetitions(3)
    ->ReportAggregatesOnly(true);

}  // namespace
}  // namespace deepfuse
