// Small helpers shared by subcommands: stdin lines, JSON-lines output, common flags.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

namespace deepfuse::cli {

// Reads one line from `in` without the trailing '\n' (and '\r'); false at end of input.
bool read_line(std::istream& in, std::string* line);

// Writes `j` as one compact JSON line on stdout (UTF-8 kept as is; invalid UTF-8 replaced).
void print_json_line(const nlohmann::json& j);

// Adds --threads N (0 = all hardware threads); apply_threads sizes the process thread pool
// with it, once, before the command does any work.
void add_threads_flag(CLI::App* cmd, int* threads);
void apply_threads(int threads);

// Appends an "Examples:" block to a subcommand's --help footer.
void set_examples(CLI::App* cmd, const std::string& examples);

}  // namespace deepfuse::cli
