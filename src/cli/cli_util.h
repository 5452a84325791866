// Small helpers shared by subcommands: stdin lines, JSON-lines output, common flags.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <iostream>
#include <string>

#include "core/json_reader.h"

namespace deepfuse::cli {

// Reads one line from `in` without the trailing '\n' (and '\r'); false at end of input.
bool read_line(std::istream& in, std::string* line);

// Parses one stdin request line with `reader` (kRequestJsonLimits: depth and size bounded).
// InvalidArgument "stdin line N: <why> (expected <expected>)" quoting at most ~80 characters.
nlohmann::json parse_request_line(JsonReader& reader, const std::string& line, size_t lineno,
                                  const char* expected);

// Writes `j` as one compact JSON line on stdout (UTF-8 kept as is; invalid UTF-8 replaced).
void print_json_line(const nlohmann::json& j);

// Adds --threads N (0 = all hardware threads); apply_threads sizes the process thread pool
// with it, once, before the command does any work. More threads than the machine has are
// capped at its hardware threads, with a note on stderr (5000 threads on 2 cores hung for
// minutes: issue 13).
void add_threads_flag(CLI::App* cmd, int* threads);
void apply_threads(int threads);
// `threads` capped at the hardware threads (with the stderr note); 0 stays 0.
int cap_threads(int threads);

// Interprets the usual escapes in a flag value typed in a shell, where "\n" arrives as two
// characters: \n \t \r \\ \" \' and \uXXXX (a UTF-16 pair for code points above U+FFFF).
// InvalidArgument naming `flag` for an unknown or incomplete escape.
std::string unescape_flag(const std::string& value, const char* flag);

// Checks, before any work, that `path` (given as `flag`) can be created: its folder exists and
// is a folder, and the path itself is not a folder. InvalidArgument naming the flag and path.
void check_output_path(const char* flag, const std::string& path);

// Appends an "Examples:" block to a subcommand's --help footer.
void set_examples(CLI::App* cmd, const std::string& examples);

}  // namespace deepfuse::cli
