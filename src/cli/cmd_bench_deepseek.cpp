// `deepfuse bench deepseek`: batch-1 decode of a random-weight DeepSeek-V2-Lite-shaped model
// (real layer shapes, fewer layers) against the streaming-read bound for the weights a decode
// step actually reads (the *active* weights: attention, the dense MLP or the router plus the
// top-k and shared experts, lm_head), per-layer times, and the latent KV-cache size for a long
// context next to what expanded multi-head K/V would take. Prints one JSON object.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/deepseek_config.h"
#include "kernels/cpu/stream.h"
#include "models/deepseek.h"

namespace deepfuse::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int layers = 4;
  int experts = 64;
  int prompt = 16;
  int decode_tokens = 24;
  int64_t kv_context = 32768;
  int threads = 0;
};

double secs(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

double stream_gbps(int passes) {
  const size_t bytes = size_t{1} << 30;
  Tensor buf = Tensor::empty(DType::U8, {static_cast<int64_t>(bytes)});
  std::memset(buf.raw(), 1, bytes);
  std::vector<double> bw;
  uint64_t sink = 0;
  for (int i = 0; i < passes; ++i) {
    const auto t0 = Clock::now();
    sink ^= cpu::stream_read(buf.raw(), bytes, ThreadPool::global());
    bw.push_back(static_cast<double>(bytes) / secs(t0) / 1e9);
  }
  if (sink == 42) std::fprintf(stderr, " ");
  return median(bw);
}

// DeepSeek-V2-Lite's config.json with `layers` decoder layers and `experts` routed experts.
nlohmann::json v2_lite_config(int layers, int experts) {
  return {{"architectures", {"DeepseekV2ForCausalLM"}},
          {"model_type", "deepseek_v2"},
          {"vocab_size", 102400},
          {"hidden_size", 2048},
          {"intermediate_size", 10944},
          {"moe_intermediate_size", 1408},
          {"num_hidden_layers", layers},
          {"num_attention_heads", 16},
          {"num_key_value_heads", 16},
          {"n_shared_experts", 2},
          {"n_routed_experts", experts},
          {"num_experts_per_tok", 6},
          {"first_k_dense_replace", 1},
          {"moe_layer_freq", 1},
          {"n_group", 1},
          {"topk_group", 1},
          {"topk_method", "greedy"},
          {"scoring_func", "softmax"},
          {"norm_topk_prob", false},
          {"routed_scaling_factor", 1.0},
          {"q_lora_rank", nullptr},
          {"kv_lora_rank", 512},
          {"qk_nope_head_dim", 128},
          {"qk_rope_head_dim", 64},
          {"v_head_dim", 128},
          {"max_position_embeddings", 163840},
          {"rms_norm_eps", 1e-6},
          {"rope_theta", 10000},
          {"rope_scaling",
           {{"type", "yarn"},
            {"factor", 40},
            {"original_max_position_embeddings", 4096},
            {"beta_fast", 32},
            {"beta_slow", 1},
            {"mscale", 0.707},
            {"mscale_all_dim", 0.707}}},
          {"tie_word_embeddings", false},
          {"torch_dtype", "bfloat16"}};
}

// Random bf16 weights (uniform, std 1/sqrt(fan_in)); norms are ones.
std::map<std::string, Tensor> random_weights(const std::vector<TensorSpec>& specs) {
  std::map<std::string, Tensor> out;
  for (const TensorSpec& s : specs) {
    if (s.optional) continue;
    Tensor t = Tensor::empty(DType::BF16, Shape(s.shape));
    uint16_t* p = t.data<uint16_t>();
    const int64_t n = t.numel();
    const bool norm = s.shape.size() == 1;
    const float a = norm ? 0.f : std::sqrt(3.0f / static_cast<float>(s.shape.back()));
    const uint64_t seed = std::hash<std::string>{}(s.name);
    ThreadPool::global().parallel_for(n, 1 << 16, [&](int64_t b, int64_t e) {
      uint64_t x = seed ^ (static_cast<uint64_t>(b) * 0x9E3779B97F4A7C15ull) ^ 0x1234567ull;
      for (int64_t i = b; i < e; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const float u = static_cast<float>(x >> 40) / static_cast<float>(1ull << 24);  // [0,1)
        p[i] = f32_to_bf16(norm ? 1.0f : (2.0f * u - 1.0f) * a);
      }
    });
    out.emplace(s.name, t);
  }
  return out;
}

void run(const Options& o) {
  DF_CHECK(o.layers >= 2 && o.layers <= 27, InvalidArgument,
           "--layers must be in [2, 27], got " << o.layers);
  DF_CHECK(o.experts >= 6 && o.experts <= 64, InvalidArgument,
           "--experts must be in [6, 64], got " << o.experts);
  DF_CHECK(o.prompt >= 1 && o.prompt <= 4096, InvalidArgument, "--prompt must be in [1, 4096]");
  DF_CHECK(o.decode_tokens >= 1 && o.decode_tokens <= 4096, InvalidArgument,
           "--decode-tokens must be in [1, 4096]");
  DF_CHECK(o.kv_context >= 1 && o.kv_context <= (int64_t{1} << 22), InvalidArgument,
           "--kv-context must be in [1, 4194304]");
  apply_threads(o.threads);
  const double bw = stream_gbps(7);

  const HFConfig hf = HFConfig::from_json(v2_lite_config(o.layers, o.experts), "bench/config.json");
  const DeepseekConfig c = parse_deepseek_config(hf);
  const auto t_gen = Clock::now();
  WeightStore ws = WeightStore::from_tensors(random_weights(deepseek_expected_tensors(hf)));
  LoadOptions lo;
  lo.dtype = DType::BF16;
  DeepseekForCausalLM model(hf, ws, lo);
  const double load_s = secs(t_gen);

  // Bytes one decode token reads: bf16 weights as loaded, f32 absorbed W_UK/W_UV (kv_b_proj
  // itself is not read when decoding), f32 router, k routed + shared experts.
  const int64_t H = c.num_heads, hid = c.hidden_size;
  const double attn_bytes =
      2.0 * (static_cast<double>(H * c.qk_head_dim() * hid) + (c.kv_cache_width()) * hid +
             hid * H * c.v_head_dim + c.kv_lora_rank + 2 * hid) +
      4.0 * H * (c.qk_nope_head_dim + c.v_head_dim) * c.kv_lora_rank;
  const double expert_bytes = 2.0 * 3 * hid * c.moe_intermediate_size;
  const double moe_bytes =
      4.0 * c.n_routed_experts * hid + expert_bytes * (c.num_experts_per_tok + c.n_shared_experts);
  const double dense_bytes = 2.0 * 3 * hid * c.intermediate_size;
  const double head_bytes = 2.0 * c.vocab_size * hid + 2.0 * hid + 2.0 * hid;
  double active = head_bytes;
  for (int64_t l = 0; l < c.num_layers; ++l)
    active += attn_bytes + (c.is_moe_layer(l) ? moe_bytes : dense_bytes);

  // Prompt, then greedy decode steps at batch 1.
  KVCache cache(model.kv_layout(), 16, (o.prompt + o.decode_tokens) / 16 + 2);
  std::vector<int32_t> blocks;
  std::vector<int32_t> prompt;
  for (int i = 0; i < o.prompt; ++i) prompt.push_back(1000 + 37 * i);
  cache.reserve(blocks, o.prompt + o.decode_tokens);
  auto t0 = Clock::now();
  Tensor l = model.forward(ForwardBatch::single(prompt, 0, blocks, false), cache);
  const double prefill_s = secs(t0);
  std::vector<double> steps;
  ForwardStats stats;  // per-layer seconds summed over the decode steps
  stats.time_layers = true;
  int32_t len = o.prompt;
  for (int i = 0; i < o.decode_tokens; ++i) {
    const float* row = l.data<float>();
    const int32_t next = static_cast<int32_t>(std::max_element(row, row + c.vocab_size) - row);
    t0 = Clock::now();
    l = model.forward(ForwardBatch::single({next}, len, blocks, false), cache, &stats);
    steps.push_back(secs(t0));
    ++len;
  }
  const std::vector<double>& attn = stats.attention_seconds;
  const std::vector<double>& mlp = stats.mlp_seconds;
  const double step = median(steps);
  nlohmann::json layers = nlohmann::json::array();
  for (int64_t k = 0; k < c.num_layers; ++k) {
    const double a = attn[static_cast<size_t>(k)] / o.decode_tokens;
    const double m = mlp[static_cast<size_t>(k)] / o.decode_tokens;
    const double bytes = attn_bytes + (c.is_moe_layer(k) ? moe_bytes : dense_bytes);
    layers.push_back({{"layer", k},
                      {"kind", c.is_moe_layer(k) ? "moe" : "dense"},
                      {"attention_ms", a * 1e3},
                      {"mlp_ms", m * 1e3},
                      {"active_mb", bytes / 1e6},
                      {"achieved_gbps", bytes / (a + m) / 1e9}});
  }
  // KV cache for kv_context tokens: latent (what this model allocates) vs expanded MHA K/V.
  const int32_t block = 16;
  KVCache big(model.kv_layout(), block, static_cast<int32_t>((o.kv_context + block - 1) / block));
  const double latent_bytes = static_cast<double>(big.total_bytes());
  const double expanded_bytes =
      static_cast<double>(o.kv_context) * c.num_layers * H * (c.qk_head_dim() + c.v_head_dim) * 2.0;
  const double bound_tps = bw * 1e9 / active;
  nlohmann::json j = {
      {"bench", "deepseek"},
      {"shape",
       "DeepSeek-V2-Lite layers (hidden 2048, 16 heads, kv_lora 512, rope 64, 64 experts "
       "top-6 + 2 shared, moe_inter 1408, dense inter 10944, vocab 102400)"},
      {"layers", o.layers},
      {"routed_experts", o.experts},
      {"threads", ThreadPool::global().num_threads()},
      {"isa", isa_name(best_isa())},
      {"weights", "bf16 random"},
      {"load_s", load_s},
      {"stream_read_gbps", bw},
      {"active_bytes_per_token_mb", active / 1e6},
      {"decode_bound_tok_s", bound_tps},
      {"decode_tok_s", 1.0 / step},
      {"fraction_of_bound", (1.0 / step) / bound_tps},
      {"decode_step_ms_median", step * 1e3},
      {"prefill_tokens", o.prompt},
      {"prefill_tok_s", o.prompt / prefill_s},
      {"per_layer", layers},
      {"kv_context_tokens", o.kv_context},
      {"kv_latent_bytes_per_token", big.bytes_per_token()},
      {"kv_latent_mb", latent_bytes / 1e6},
      {"kv_expanded_mha_mb", expanded_bytes / 1e6},
      {"kv_latent_over_expanded", latent_bytes / expanded_bytes}};
  std::printf("%s\n", j.dump().c_str());
}

void add_bench_deepseek(CLI::App& bench) {
  auto opts = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand(
      "deepseek",
      "Batch-1 decode of a random DeepSeek-V2-Lite-shaped model vs the active-weight bandwidth "
      "bound; latent KV size");
  cmd->add_option("--layers", opts->layers, "Decoder layers (layer 0 dense, the rest MoE)")
      ->capture_default_str();
  cmd->add_option("--experts", opts->experts, "Routed experts per MoE layer (V2-Lite: 64)")
      ->capture_default_str();
  cmd->add_option("--prompt", opts->prompt, "Prompt tokens before decoding")->capture_default_str();
  cmd->add_option("--decode-tokens", opts->decode_tokens, "Decode steps timed")
      ->capture_default_str();
  cmd->add_option("--kv-context", opts->kv_context, "Context length for the KV memory figures")
      ->capture_default_str();
  cmd->add_option("--threads", opts->threads, "Threads (0: all)")->capture_default_str();
  set_examples(cmd,
               "  deepfuse bench deepseek\n"
               "  deepfuse bench deepseek --layers 4 --decode-tokens 32 --threads 2\n");
  cmd->callback([opts] { run(*opts); });
}

const bool kRegistered = register_bench_command("deepseek", &add_bench_deepseek);

}  // namespace

}  // namespace deepfuse::cli
