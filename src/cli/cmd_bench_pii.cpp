// `deepfuse bench pii`: PII masking throughput (MB/s) and scanner work (reads per input byte)
// on realistic text (the labelled evaluation set, repeated) and on adversarial inputs built to
// trip backtracking matchers; with --eval, precision/recall per type as well.
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "core/error.h"
#include "safety/pii.h"
#include "safety/pii_eval.h"

namespace deepfuse::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string eval_file = "tests/fixtures/safety/pii_eval.jsonl";
  double megabytes = 8;
  int repeats = 3;
};

std::string fill(const std::string& unit, size_t bytes) {
  std::string s;
  s.reserve(bytes + unit.size());
  while (s.size() < bytes) s += unit;
  return s;
}

void measure(const std::string& name, const std::string& text, const Options& o) {
  PiiOptions opts;
  double best = 1e30;
  size_t spans = 0;
  for (int r = 0; r < o.repeats; ++r) {
    auto t0 = Clock::now();
    MaskResult m = mask_pii(text, opts);
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
    spans = m.spans.size();
  }
  PiiScanStats stats;
  find_pii(text, opts, &stats);
  print_json_line({{"bench", "pii"},
                   {"input", name},
                   {"bytes", text.size()},
                   {"seconds", best},
                   {"mb_per_s", double(text.size()) / 1e6 / best},
                   {"spans", spans},
                   {"reads_per_byte", double(stats.reads) / double(text.size())}});
}

void run(const Options& o) {
  DF_CHECK(o.megabytes > 0 && o.megabytes <= 1024, InvalidArgument,
           "--mb must be in (0, 1024], got " << o.megabytes);
  DF_CHECK(o.repeats >= 1, InvalidArgument, "--repeats must be >= 1, got " << o.repeats);
  const size_t bytes = static_cast<size_t>(o.megabytes * 1e6);
  std::vector<PiiEvalCase> cases = load_pii_eval(o.eval_file);
  std::string corpus;
  for (const auto& c : cases) corpus += c.text + "\n";
  measure("eval_text", fill(corpus, bytes), o);
  for (const char* unit : {"1", "1 ", "1.", "a@", "::", "1:", "+1 ", "January 1, ", "２"}) {
    measure(std::string("repeat:") + unit, fill(unit, bytes), o);
  }
  std::mt19937 rng(1);
  std::string noise;
  noise.reserve(bytes);
  const std::string alphabet = "0123456789 .-/:@+()aXT";
  while (noise.size() < bytes) noise.push_back(alphabet[rng() % alphabet.size()]);
  measure("random:digits_and_punct", noise, o);

  PiiEvalReport r = evaluate_pii(cases, PiiOptions{});
  nlohmann::json j = pii_eval_to_json(r);
  j.erase("errors");
  print_json_line(
      {{"bench", "pii"}, {"input", "eval_quality"}, {"file", o.eval_file}, {"eval", j}});
}

void add_bench_pii(CLI::App& bench) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = bench.add_subcommand("pii", "PII masking throughput, work per byte and quality");
  cmd->add_option("--eval", o->eval_file, "Labelled JSONL set (text for throughput + quality)")
      ->capture_default_str();
  cmd->add_option("--mb", o->megabytes, "Megabytes of text per input")->capture_default_str();
  cmd->add_option("--repeats", o->repeats, "Timed repeats (best is reported)")
      ->capture_default_str();
  set_examples(cmd,
               "  deepfuse bench pii\n"
               "  deepfuse bench pii --mb 32 --repeats 5\n");
  cmd->callback([o] { run(*o); });
}

const bool kRegistered = register_bench_command("pii", &add_bench_pii);

}  // namespace
}  // namespace deepfuse::cli
