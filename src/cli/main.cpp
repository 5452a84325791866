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

// CLI11 reports an unknown subcommand word as "A subcommand is required", which hides the typo.
// Walks argv down the subcommand tree and names the first word that is not a subcommand where
// one is expected, with the valid names ("" when every word is fine). Leaves (subcommands without
// subcommands of their own) take positionals and option values, so the walk stops there.
std::string unknown_subcommand(const CLI::App& app, int argc, char** argv) {
  const CLI::App* level = &app;
  std::string path = "deepfuse";
  for (int i = 1; i < argc; ++i) {
    if (level->get_subcommands({}).empty()) return "";
    const std::string word = argv[i];
    if (word == "--") return "";
    if (!word.empty() && word[0] == '-') {
      // An option of this level that takes a value ("--log-level debug") consumes the next word.
      if (word.find('=') == std::string::npos) {
        const CLI::Option* opt = level->get_option_no_throw(word);
        if (opt != nullptr && opt->get_type_size() != 0) ++i;
      }
      continue;
    }
    const CLI::App* sub = nullptr;
    for (const CLI::App* c : level->get_subcommands({}))
      if (c->check_name(word)) sub = c;
    if (sub == nullptr) {
      std::string valid;
      for (const CLI::App* c : level->get_subcommands({})) {
        if (!valid.empty()) valid += ", ";
        valid += c->get_name();
      }
      return "unknown subcommand '" + word + "' for " + path + " (expected one of: " + valid + ")";
    }
    level = sub;
    path += " " + word;
  }
  return "";
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
  // Lets options of the top level (--log-level) come after the subcommand too.
  app.fallthrough();
  for (auto reg : deepfuse::cli::registrars()) reg(app);
  if (const std::string bad = unknown_subcommand(app, argc, argv); !bad.empty()) {
    std::cerr << "deepfuse: error: " << bad << "\n";
    return 2;
  }
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
