// deepfuse: one binary for inspect, tokenize, generate, embed, kb, mask, serve, bench, ...
// Exit codes (DESIGN.md): 0 success, 2 bad usage or bad input (one line on stderr naming what
// was wrong), 1 internal failure.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <iostream>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/log.h"

namespace {

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "deepfuse: run Hugging Face and DeepSeek models with knowledge injected at "
      "inference time"};
  app.set_version_flag("--version", "deepfuse 0.1.0");
  app.require_subcommand(1);
  std::string log_level;
  app.add_option("--log-level", log_level, "trace, debug, info, warn (default), error or off")
      ->each([](const std::string& v) { deepfuse::set_log_level(v); });
  app.footer(
      "\nExamples:\n"
      "  deepfuse inspect --model assets/models/stories260K\n"
      "  deepfuse SUBCOMMAND --help\n");
  for (auto reg : deepfuse::cli::registrars()) reg(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors: one line naming the problem and where to look.
    std::cerr << "deepfuse: error: " << one_line(e.what()) << " (see deepfuse --help)\n";
    return 2;
  } catch (const deepfuse::Error& e) {
    std::cerr << "deepfuse: error: " << one_line(e.what()) << "\n";
    return e.exit_code();
  } catch (const std::bad_alloc&) {
    std::cerr << "deepfuse: error: out of memory\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "deepfuse: internal error: " << one_line(e.what()) << "\n";
    return 1;
  }
  return 0;
}
