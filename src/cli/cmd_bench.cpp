// `deepfuse bench`: the parent of the benchmark sub-subcommands (see bench_registry.h).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "cli/bench_registry.h"
#include "cli/cli_util.h"
#include "cli/commands.h"

namespace deepfuse::cli {

namespace {
// Function-local so registrations from other files' static initialisers always find it.
std::vector<std::pair<std::string, BenchAdder>>& bench_entries() {
  static std::vector<std::pair<std::string, BenchAdder>> entries;
  return entries;
}
}  // namespace

bool register_bench_command(const char* name, BenchAdder add) {
  bench_entries().emplace_back(name, add);
  return true;
}

void register_bench(CLI::App& root) {
  CLI::App* bench =
      root.add_subcommand("bench", "Benchmarks; each prints one JSON object per result");
  bench->require_subcommand(1);
  auto entries = bench_entries();
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [name, add] : entries) add(*bench);
  set_examples(bench,
               "  deepfuse bench model --threads 2\n"
               "  deepfuse bench model --json-only --repeats 5\n");
}

}  // namespace deepfuse::cli
