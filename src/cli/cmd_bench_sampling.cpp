// `deepfuse bench sampling`: per-token cost of the generation engine's logits processing and
// token choice on a large vocabulary (default 129280, DeepSeek-V3's), for the common configs.
// Compare `per_token_us` with a decode step (`deepfuse bench model`) for the overhead share.
#include <chrono>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
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
};

// Logits shaped like a language model's: a few large values over a Gaussian-ish bulk.
std::vector<float> fake_logits(int64_t vocab, uint64_t seed) {
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

void run(const Options& o) {
  DF_CHECK(o.vocab >= 1000, InvalidArgument, "--vocab must be >= 1000, got " << o.vocab);
  DF_CHECK(o.steps >= 1, InvalidArgument, "--steps must be >= 1, got " << o.steps);
  const auto base = fake_logits(o.vocab, 1);
  std::vector<int32_t> ctx;
  for (int64_t i = 0; i < o.context; ++i)
    ctx.push_back(static_cast<int32_t>((i * 104729) % o.vocab));
  struct Case {
    const char* name;
    gen::GenerationConfig cfg;
  };
  std::vector<Case> cases;
  auto add = [&](const char* name, auto setup) {
    gen::GenerationConfig c;
    setup(c);
    cases.push_back({name, c});
  };
  add("greedy", [](gen::GenerationConfig&) {});
  add("sample_t0.7_topk50_topp0.9", [](gen::GenerationConfig& c) {
    c.do_sample = true, c.temperature = 0.7, c.top_k = 50, c.top_p = 0.9;
  });
  add("sample_t0.7_topp0.9_no_topk", [](gen::GenerationConfig& c) {
    c.do_sample = true, c.temperature = 0.7, c.top_k = 0, c.top_p = 0.9;
  });
  add("sample_minp0.05_no_topk",
      [](gen::GenerationConfig& c) { c.do_sample = true, c.top_k = 0, c.min_p = 0.05; });
  add("sample_penalties_topk50", [](gen::GenerationConfig& c) {
    c.do_sample = true, c.repetition_penalty = 1.1, c.presence_penalty = 0.5,
    c.frequency_penalty = 0.5, c.no_repeat_ngram_size = 3;
  });
  nlohmann::json results = nlohmann::json::array();
  std::vector<float> row(base.size());
  std::vector<int32_t> cand;
  for (const auto& cs : cases) {
    auto rc = engine::resolve_config(cs.cfg, 16, o.vocab, 0);
    rc.seed = 7;
    gen::GenerationState st;
    st.ids = ctx;
    st.prompt_len = 16;
    int64_t checksum = 0;
    double copy_s = 0;
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
    const double us = total / o.steps * 1e6;
    nlohmann::json r = {{"config", cs.name}, {"per_token_us", us}, {"checksum", checksum}};
    if (o.decode_ms > 0) r["share_of_decode_pct"] = 100.0 * us / (o.decode_ms * 1e3);
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
  cmd->callback([o] { run(*o); });
  set_examples(
      cmd, "  deepfuse bench sampling\n  deepfuse bench sampling --vocab 151936 --decode-ms 25\n");
}

const bool kRegistered = register_bench_command("sampling", &add_bench_sampling);

}  // namespace
}  // namespace deepfuse::cli
