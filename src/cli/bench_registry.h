// `deepfuse bench <what>` sub-subcommands. Each benchmark lives in its own
// src/cli/cmd_bench_<what>.cpp and registers itself from a static initialiser, so adding one
// touches no shared file:
//
//   namespace deepfuse::cli {
//   namespace {
//   void add_bench_tokenizer(CLI::App& bench) {
//     CLI::App* cmd = bench.add_subcommand("tokenizer", "Tokenizer throughput");
//     ...  // flags, set_examples(cmd, ...), cmd->callback(...) printing one JSON line
//   }
//   const bool kRegistered = register_bench_command("tokenizer", &add_bench_tokenizer);
//   }  // namespace
//   }  // namespace deepfuse::cli
//
// Benchmarks print JSON (one object per line) with the numbers and the machine facts needed
// to read them; results go to docs/BENCHMARKS.md with the exact command.
#pragma once

#include <CLI/CLI.hpp>

namespace deepfuse::cli {

using BenchAdder = void (*)(CLI::App& bench);

// Registers a `deepfuse bench <name>` subcommand; returns true (for static initialisers).
bool register_bench_command(const char* name, BenchAdder add);

}  // namespace deepfuse::cli
