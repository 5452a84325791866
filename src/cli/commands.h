// Subcommand registry. Each subcommand lives in its own cmd_<name>.cpp and exposes one
// registration function that adds a CLI11 subcommand (flags, help with examples, callback).
// Callbacks throw deepfuse errors; main() maps them to exit codes (DESIGN.md CLI contract).
#pragma once

#include <CLI/CLI.hpp>

namespace deepfuse::cli {

using Registrar = void (*)(CLI::App& root);

// All subcommands, in the order `deepfuse --help` lists them. Defined in commands.cpp.
const std::vector<Registrar>& registrars();

// One line per subcommand file (cmd_<name>.cpp):
void register_bench(CLI::App& root);
void register_inspect(CLI::App& root);
void register_logits(CLI::App& root);
void register_generate(CLI::App& root);
void register_chat(CLI::App& root);
void register_embed(CLI::App& root);
void register_classify(CLI::App& root);
void register_kb(CLI::App& root);
void register_mask(CLI::App& root);
void register_tokenize(CLI::App& root);
void register_detokenize(CLI::App& root);

}  // namespace deepfuse::cli
