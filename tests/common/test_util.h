// Helpers shared by all test suites.
#pragma once

#include <string>
#include <vector>

namespace deepfuse::test {

// Absolute path of a file under tests/fixtures.
std::string fixture(const std::string& rel);
// Absolute path under ../shared/data (real tokenizers, models, benchmarks).
std::string shared_data(const std::string& rel);
// Absolute path under the repository root.
std::string source_path(const std::string& rel);
// A fresh empty directory under the system temp folder, removed at process exit.
std::string temp_dir(const std::string& tag);

struct CliResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};
// Runs the built `deepfuse` binary with `args`, feeding `stdin_text` on standard input.
CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "");

void write_text(const std::string& path, const std::string& content);
std::string read_text(const std::string& path);

}  // namespace deepfuse::test
