// `deepfuse bench sampling`: per-token cost of the generation engine's logits processing and
// token choice on a large vocabulary (default 129280, DeepSeek-V3's), for the common configs,
// on a peaked LM-like row (zipf) and a flat-bulk worst case (gaussian). Reports wall and
// thread-CPU time per token; compare with a decode step (`deepfuse bench model`) via
// --decode-ms for the overhead share.
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "core/error.h"
#include "engine/logits_processors.h"
#include "engine/sampler.h"

namespace deepfuse::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int64_t vocab = 129280;
  int steps = 200;
  int64_t context = 1024;
  double decode_ms = 0;  // optional: a measured decode step, for the overhead percentage
  std::string logits = "both";
};

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Synthetic "worst case": a few large values over a wide Gaussian bulk (sigma 2.5). The bulk
// holds much of the mass, so top_p / typical_p need thousands of tokens; real LM rows are far
// more peaked (see zipf_logits).
std::vector<float> gaussian_logits(int64_t vocab, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) {
    const double u1 = engine::uniform01(seed, static_cast<uint64_t>(2 * i)) + 1e-12;
    const double u2 = engine::uniform01(seed, static_cast<uint64_t>(2 * i + 1));
    v[static_cast<size_t>(i)] =
        static_cast<float>(2.5 * std::sqrt(-2 * std::log(u1)) * std::cos(6.283185307 * u2));
  }
  for (int k = 0; k < 20; ++k)
    v[static_cast<size_t>((k * 7919) % vocab)] += 12.0f - static_cast<float>(k) * 0.4f;
  return v;
}

// Peaked like a language model's next-token row: logit = -1.3 ln(rank) (Zipf, top token
// p ~ 0.25, entropy ~ 3 nats at temperature 1), ranks scattered over the ids.
std::vector<float> zipf_logits(int64_t vocab, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(vocab));
  std::vector<int64_t> perm(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) perm[static_cast<size_t>(i)] = i;
  for (int64_t i = vocab - 1; i > 0; --i) {  // Fisher-Yates with the counter-based RNG
    const auto j = static_cast<int64_t>(engine::uniform01(seed, static_cast<uint64_t>(i)) *
                                        static_cast<double>(i + 1));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  for (int64_t r = 0; r < vocab; ++r)
    v[static_cast<size_t>(perm[static_cast<size_t>(r)])] =
        static_cast<float>(-1.3 * std::log(static_cast<double>(r + 1)));
  return v;
}

void run(const Options& o) {
  DF_CHECK(o.vocab >= 1000, InvalidArgument, "--vocab must be >= 1000, got " << o.vocab);
  DF_CHECK(o.steps >= 1, InvalidArgument, "--steps must be >= 1, got " << o.steps);
  DF_CHECK(o.logits == "both" || o.logits == "zipf" || o.logits == "gaussian", InvalidArgument,
           "--logits must be zipf, gaussian or both, got '" << o.logits << "'");
  std::vector<std::pair<std::string, std::vector<float>>> rows;
  if (o.logits != "gaussian") rows.emplace_back("zipf", zipf_logits(o.vocab, 1));
  if (o.logits != "zipf") rows.emplace_back("gaussian", gaussian_logits(o.vocab, 1));
  std::vector<int32_t> ctx;
  for (int64_t i = 0; i < o.context; ++i)
    ctx.push_back(static_cast<int32_t>((i * 104729) % o.vocab));
  struct Case {
    const char* name;
    GenerationConfig cfg;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, auto setup) {
    GenerationConfig c;
    setup(c);
    cases.push_back({name, c});
  };
  add("greedy", [](GenerationConfig&) {});
  add("sample_t0.7_topk50_topp0.9", [](GenerationConfig& c) {
    c.do_sample = true, c.temperature = 0.7, c.top_k = 50, c.top_p = 0.9;
  });
  add("sample_t0.7_topp0.9_no_topk", [](GenerationConfig& c) {
    c.do_sample = true, c.temperature = 0.7, c.top_k = 0, c.top_p = 0.9;
  });
  add("sample_typical0.9_no_topk", [](GenerationConfig& c) {
    c.do_sample = true, c.temperature = 0.7, c.top_k = 0, c.typical_p = 0.9;
  });
  add("sample_minp0.05_no_topk",
      [](GenerationConfig& c) { c.do_sample = true, c.top_k = 0, c.min_p = 0.05; });
  add("sample_penalties_topk50", [](GenerationConfig& c) {
    c.do_sample = true, c.repetition_penalty = 1.1, c.presence_penalty = 0.5,
    c.frequency_penalty = 0.5, c.no_repeat_ngram_size = 3;
  });
  nlohmann::json results = nlohmann::json::array();
  std::vector<float> row(static_cast<size_t>(o.vocab));
  std::vector<int32_t> cand;
  for (const auto& [dist, base] : rows)
    for (const auto& cs : cases) {
      auto rc = engine::resolve_config(cs.cfg, 16, o.vocab, 0);
      rc.seed = 7;
      GenerationState st;
      st.ids = ctx;
      st.prompt_len = 16;
      int64_t checksum = 0;
      double copy_s = 0;
      const double cpu0 = thread_cpu_seconds();
      const auto t0 = Clock::now();
      for (int s = 0; s < o.steps; ++s) {
        const auto c0 = Clock::now();
        std::memcpy(row.data(), base.data(), row.size() * sizeof(float));
        copy_s += std::chrono::duration<double>(Clock::now() - c0).count();
        engine::process_scores(rc, st, {}, row, &cand);
        checksum += engine::choose_token(rc.sample, row, cand,
                                         engine::uniform01(7, static_cast<uint64_t>(s)));
      }
      const double total = std::chrono::duration<double>(Clock::now() - t0).count() - copy_s;
      // CPU time of this thread: close to the idle-machine wall time when the machine is
      // shared (the wall clock then also counts time spent descheduled).
      const double cpu = thread_cpu_seconds() - cpu0 - copy_s;
      const double us = total / o.steps * 1e6;
      int64_t kept = 0;  // tokens left to sample from after the warpers (last step)
      for (float v : row) kept += std::isfinite(v) ? 1 : 0;
      nlohmann::json r = {{"logits", dist},      {"config", cs.name},
                          {"per_token_us", us},  {"per_token_cpu_us", cpu / o.steps * 1e6},
                          {"kept_tokens", kept}, {"checksum", checksum}};
      if (o.decode_ms > 0) {
        r["share_of_decode_pct"] = 100.0 * us / (o.decode_ms * 1e3);
        r["cpu_share_of_decode_pct"] = 100.0 * cpu / o.steps * 1e6 / (o.decode_ms * 1e3);
      }
      results.push_back(r);
    }
  print_json_line({{"bench", "sampling"},
                   {"vocab", o.vocab},
                   {"context_tokens", o.context},
                   {"steps", o.steps},
                   {"threads", 1},
                   {"results", results}});
}

void add_bench_sampling(CLI::App& bench) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand(
      "sampling", "Per-token cost of logits processing + sampling on a large vocabulary");
  cmd->add_option("--vocab", o->vocab, "Vocabulary size (default 129280, DeepSeek-V3's)");
  cmd->add_option("--steps", o->steps, "Tokens timed per config");
  cmd->add_option("--context", o->context, "Context tokens seen by the penalties");
  cmd->add_option("--decode-ms", o->decode_ms, "A measured decode step (ms) to report the share");
  cmd->add_option("--logits", o->logits,
                  "Score rows: zipf (peaked, LM-like), gaussian (flat bulk, worst case) or both");
  cmd->callback([o] { run(*o); });
  set_examples(
      cmd, "  deepfuse bench sampling\n  deepfuse bench sampling --vocab 151936 --decode-ms 25\n");
}

const bool kRegistered = register_bench_command("sampling", &add_bench_sampling);

}  // namespace
}  // namespace deepfuse::cli
