// `deepfuse bench serve`: the serving engine's throughput and time to first token.
//
// On the random Qwen2.5-0.5B-shaped bf16 model of `bench model` (or --model DIR):
//  - total output tokens/s with 1, 4, 16, 64 requests submitted at once (continuous batching)
//    against the same kind of requests run one by one through the same engine;
//  - time to first token of a request whose 1,000-token prefix is not cached (cold) and of one
//    that shares it with an earlier request (prefix-cache hit), medians over repeats.
// Prints one JSON object.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "cli/bench_random_model.h"
#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/engine.h"

namespace deepfuse::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  int threads = 2;
  int layers = 24;
  std::string model;
  std::vector<int> concurrency = {1, 4, 16, 64};
  int prompt_tokens = 32;
  int new_tokens = 16;
  int baseline_requests = 4;
  int prefix_tokens = 1000;
  int ttft_repeats = 3;
  int64_t max_batch_tokens = 2048;
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Runner {
  Engine& engine;
  int64_t vocab;
  uint64_t rng = 12345;

  std::vector<int32_t> random_ids(int n) {
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (auto& id : ids) {
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      id = static_cast<int32_t>((rng >> 33) % static_cast<uint64_t>(vocab));
    }
    return ids;
  }
  // Greedy, exactly `n` new tokens (no EOS).
  static GenerationConfig config(int n) {
    GenerationConfig c;
    c.max_new_tokens = n;
    c.do_sample = false;
    c.eos_token_id = std::vector<int32_t>{};
    return c;
  }
  // Submits all prompts at once and waits for every result.
  std::vector<EngineResult> run(const std::vector<std::vector<int32_t>>& prompts, int new_tokens) {
    auto q = std::make_shared<ResultQueue>();
    for (const auto& p : prompts) engine.submit({p, config(new_tokens), {}, {}, 0, q});
    std::vector<EngineResult> out;
    while (out.size() < prompts.size()) {
      EngineResult r = q->wait_result();
      DF_CHECK(r.error.empty(), InternalError, "bench serve: request failed: " << r.error);
      out.push_back(std::move(r));
    }
    return out;
  }
};

void run_bench_serve(const Options& o) {
  DF_CHECK(o.layers >= 1 && o.layers <= 64, InvalidArgument,
           "--layers must be in [1, 64], got " << o.layers);
  DF_CHECK(!o.concurrency.empty(), InvalidArgument, "--concurrency needs at least one level");
  for (int c : o.concurrency)
    DF_CHECK(c >= 1 && c <= 1024, InvalidArgument,
             "--concurrency levels must be in [1, 1024], got " << c);
  DF_CHECK(o.prompt_tokens >= 1 && o.prompt_tokens <= 8192, InvalidArgument,
           "--prompt-tokens must be in [1, 8192], got " << o.prompt_tokens);
  DF_CHECK(o.new_tokens >= 1 && o.new_tokens <= 4096, InvalidArgument,
           "--new-tokens must be in [1, 4096], got " << o.new_tokens);
  DF_CHECK(o.baseline_requests >= 1, InvalidArgument,
           "--baseline-requests must be >= 1, got " << o.baseline_requests);
  DF_CHECK(o.prefix_tokens >= 16 && o.prefix_tokens <= 16384, InvalidArgument,
           "--prefix-tokens must be in [16, 16384], got " << o.prefix_tokens);
  DF_CHECK(o.ttft_repeats >= 1, InvalidArgument,
           "--ttft-repeats must be >= 1, got " << o.ttft_repeats);
  const int max_c = *std::max_element(o.concurrency.begin(), o.concurrency.end());
  DF_CHECK(o.max_batch_tokens >= max_c, InvalidArgument,
           "--max-batch-tokens must be >= the largest concurrency level " << max_c << ", got "
                                                                          << o.max_batch_tokens);
  apply_threads(o.threads);

  std::string dir = o.model;
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      if (!dir.empty()) fs::remove_all(dir, ec);
    }
  } cleanup;
  if (dir.empty()) {
    dir = (fs::temp_directory_path() / ("deepfuse-bench-serve-" + std::to_string(::getpid())))
              .string();
    fs::create_directories(dir);
    cleanup.dir = dir;
    write_random_model(dir, o.layers);
  }
  std::unique_ptr<CausalLM> model = load_causal_lm(dir);
  const int64_t vocab = model->info().vocab_size;

  EngineOptions eo;
  eo.max_batch_tokens = o.max_batch_tokens;
  eo.max_running = std::max(max_c, 1);
  eo.kv_cache_bytes = int64_t{4} << 30;  // reserved, touched only where written
  Engine engine(*model, nullptr, eo);
  Runner r{engine, vocab};
  // Warm-up with one request of the measured shape: threads, page faults of the weights and
  // of the KV blocks and oneDNN's kernels for these shapes, so the one-by-one baseline is not
  // charged for them (it would make every speedup look larger than it is).
  r.run({r.random_ids(o.prompt_tokens)}, o.new_tokens);

  // One by one: the same kind of request, each submitted when the previous finished.
  const auto tb = Clock::now();
  int64_t base_tokens = 0;
  for (int i = 0; i < o.baseline_requests; ++i)
    for (const auto& res : r.run({r.random_ids(o.prompt_tokens)}, o.new_tokens))
      base_tokens += static_cast<int64_t>(res.result.ids.size());
  const double base_tps = static_cast<double>(base_tokens) / seconds_since(tb);

  nlohmann::json levels = nlohmann::json::array();
  for (int c : o.concurrency) {
    std::vector<std::vector<int32_t>> prompts;
    for (int i = 0; i < c; ++i) prompts.push_back(r.random_ids(o.prompt_tokens));
    const EngineStats before = engine.stats();
    const auto t0 = Clock::now();
    const auto results = r.run(prompts, o.new_tokens);
    const double wall = seconds_since(t0);
    // Results reach the sink before the step's statistics are published: wait_idle() returns
    // once they are (without it the counters below could miss the last step).
    engine.wait_idle(600);
    const EngineStats after = engine.stats();
    int64_t tokens = 0;
    std::vector<double> ttft;
    for (const auto& res : results) {
      tokens += static_cast<int64_t>(res.result.ids.size());
      ttft.push_back(res.metrics.ttft_seconds);
    }
    const double tps = static_cast<double>(tokens) / wall;
    levels.push_back({{"concurrency", c},
                      {"output_tokens", tokens},
                      {"seconds", wall},
                      {"output_tokens_per_s", tps},
                      {"speedup_vs_one_by_one", tps / base_tps},
                      {"median_ttft_s", median(ttft)},
                      {"steps", after.steps - before.steps},
                      {"max_step_tokens", after.max_step_tokens}});
  }

  // TTFT with and without a prefix hit: prefix + distinct suffix, one new token each.
  std::vector<double> cold, warm;
  int64_t hit_tokens = 0;
  for (int i = 0; i < o.ttft_repeats; ++i) {
    const std::vector<int32_t> prefix = r.random_ids(o.prefix_tokens);
    auto make = [&] {
      std::vector<int32_t> p = prefix;
      const auto s = r.random_ids(16);
      p.insert(p.end(), s.begin(), s.end());
      return p;
    };
    cold.push_back(r.run({make()}, 1)[0].metrics.ttft_seconds);
    const EngineResult w = r.run({make()}, 1)[0];
    warm.push_back(w.metrics.ttft_seconds);
    hit_tokens = w.metrics.cached_prompt_tokens;
  }
  engine.wait_idle(600);  // the last step's statistics are published (see above)
  const EngineStats st = engine.stats();
  nlohmann::json j = {
      {"bench", "serve"},
      {"model", o.model.empty() ? "random Qwen2.5-0.5B shape, bf16" : o.model},
      {"layers", o.model.empty() ? nlohmann::json(o.layers) : nlohmann::json()},
      {"threads", ThreadPool::global().num_threads()},
      {"isa", isa_name(best_isa())},
      {"prompt_tokens", o.prompt_tokens},
      {"new_tokens", o.new_tokens},
      {"one_by_one", {{"requests", o.baseline_requests}, {"output_tokens_per_s", base_tps}}},
      {"concurrent", levels},
      {"ttft",
       {{"prefix_tokens", o.prefix_tokens},
        {"cold_median_s", median(cold)},
        {"prefix_hit_median_s", median(warm)},
        {"cached_prompt_tokens", hit_tokens},
        {"speedup", median(cold) / std::max(median(warm), 1e-9)}}},
      {"engine",
       {{"kv_block_size", eo.kv_block_size},
        {"max_batch_tokens", eo.max_batch_tokens},
        {"preemptions", st.preemptions},
        {"prefix_hit_blocks", st.prefix_hit_blocks},
        {"prefix_miss_blocks", st.prefix_miss_blocks},
        {"forward_seconds", st.forward_seconds},
        {"step_seconds", st.step_seconds}}}};
  print_json_line(j);
}

void add_bench_serve(CLI::App& bench) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand(
      "serve",
      "Serving engine: output tokens/s at several concurrency levels vs one by one, and "
      "time to first token with and without a prefix-cache hit");
  cmd->add_option("--threads", o->threads, "Worker threads (default 2; 0 = all hardware threads)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--layers", o->layers,
                  "Decoder layers of the random model (24 = the real model)");
  cmd->add_option("--model", o->model, "Use this model folder instead of the random model");
  cmd->add_option("--concurrency", o->concurrency, "Requests submitted at once (default 1,4,16,64)")
      ->delimiter(',');
  cmd->add_option("--prompt-tokens", o->prompt_tokens, "Prompt length of the throughput requests");
  cmd->add_option("--new-tokens", o->new_tokens, "Generated tokens per throughput request");
  cmd->add_option("--baseline-requests", o->baseline_requests,
                  "Requests run one by one for the baseline");
  cmd->add_option("--prefix-tokens", o->prefix_tokens, "Shared prefix length of the TTFT test");
  cmd->add_option("--ttft-repeats", o->ttft_repeats, "Cold/hit pairs (medians are reported)");
  cmd->add_option("--max-batch-tokens", o->max_batch_tokens, "Engine token budget per step");
  set_examples(cmd,
               "  deepfuse bench serve\n"
               "  deepfuse bench serve --layers 4 --concurrency 1,4,16 --new-tokens 8\n");
  cmd->callback([o] { run_bench_serve(*o); });
}

const bool kRegistered = register_bench_command("serve", &add_bench_serve);

}  // namespace
}  // namespace deepfuse::cli
