#include "cli/cli_util.h"

#include "core/thread_pool.h"

namespace deepfuse::cli {

bool read_line(std::istream& in, std::string* line) {
  if (!std::getline(in, *line)) return false;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  return true;
}

void print_json_line(const nlohmann::json& j) {
  std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
  std::cout.flush();
}

void add_threads_flag(CLI::App* cmd, int* threads) {
  cmd->add_option("--threads", *threads, "Worker threads (0 = all hardware threads)")
      ->check(CLI::NonNegativeNumber);
}

void apply_threads(int threads) {
  // Once, at the start of a command, before any work uses the process pool.
  ThreadPool::init_global(threads);
}

void set_examples(CLI::App* cmd, const std::string& examples) {
  cmd->footer("\nExamples:\n" + examples);
}

}  // namespace deepfuse::cli
