// `deepfuse generate`: one prompt -> text, with transformers' generate() knobs.
#include "deepfuse/auto_model.h"

#include <iostream>
#include <optional>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/generation_flags.h"
#include "core/error.h"
#include "deepfuse/tokenizer.h"
#include "ops/profiler.h"
#include "safety/output_filter.h"

namespace deepfuse::cli {
namespace {

struct GenerateArgs {
  GenerationFlags gen;
  std::string prompt;
  bool json = false, stream = false, no_special = false;
};

void run_generate(const GenerateArgs& a) {
  GenerationSession s = open_session(a.gen);
  std::string prompt = a.prompt;
  const size_t masked = maybe_mask_pii(a.gen, &prompt);
  GenerationRequest req;
  req.prompt_ids = s.tokenizer->encode(prompt, !a.no_special);
  DF_CHECK(
      !req.prompt_ids.empty(), InvalidArgument,
      "--prompt: the prompt tokenises to no tokens and the tokenizer adds no BOS; give some text");
  req.config = s.config;
  std::shared_ptr<engine::BannedPhraseProcessor> proc;
  if (s.filter) {
    proc = s.filter->make_processor();
    req.logits_processors.push_back(proc);
  }
  const bool stream_text = a.stream && !a.json;
  auto print = [](std::string_view d) {
    std::cout << d;
    std::cout.flush();
  };
  // With a banned-phrase list the stream goes through the filter: text that could still
  // become a banned phrase (or be replaced by the refusal) is held back until it cannot.
  std::optional<FilteredStream> filtered;
  if (stream_text) {
    std::cout << prompt;
    std::cout.flush();
    if (s.filter) {
      filtered.emplace(*s.filter, print);
      req.on_text = [&filtered](std::string_view d) { filtered->on_text(d); };
    } else {
      req.on_text = print;
    }
  }
  if (a.gen.profile) Profiler::global().set_enabled(true);
  Generator g(*s.model, s.text);
  GenerationResult r = g.generate(std::move(req));
  std::string text = r.text;
  bool refused = false, blocked = false;
  if (s.filter) {
    FilterVerdict v =
        filtered ? filtered->finish(r.text, proc.get()) : s.filter->finalize(r.text, proc.get());
    text = v.text;
    refused = v.refused;
    blocked = v.blocked;
  }
  if (a.json) {
    nlohmann::json j;
    j["prompt_ids"] = s.tokenizer->encode(prompt, !a.no_special);
    j["ids"] = r.ids;
    j["text"] = text;
    j["finish_reason"] = r.finish_reason;
    if (r.stop_string) j["stop_string"] = *r.stop_string;
    if (s.config.do_sample.value_or(false)) j["seed"] = s.seed;
    if (!r.tokens.empty()) {
      nlohmann::json lp = nlohmann::json::array();
      for (const auto& t : r.tokens) {
        nlohmann::json e = {
            {"id", t.id}, {"token", s.tokenizer->decode({t.id}, false)}, {"logprob", t.logprob}};
        if (!t.top.empty()) {
          nlohmann::json top = nlohmann::json::array();
          for (const auto& alt : t.top)
            top.push_back({{"id", alt.id},
                           {"token", s.tokenizer->decode({alt.id}, false)},
                           {"logprob", alt.logprob}});
          e["top_logprobs"] = top;
        }
        lp.push_back(e);
      }
      j["logprobs"] = lp;
    }
    if (a.gen.mask_pii) j["pii_masked"] = masked;
    if (s.filter) {
      j["safety"] = {{"blocked", blocked}, {"refused", refused}};
    }
    print_json_line(j);
  } else if (stream_text) {
    std::cout << "\n";  // the text (or the refusal) has been streamed
  } else {
    std::cout << prompt << text << "\n";
  }
  if (a.gen.profile) {
    const double fwd = r.stats.forward_seconds, smp = r.stats.sampling_seconds;
    std::cerr << Profiler::global().table() << "\n"
              << "generation: " << r.ids.size() << " tokens, forward " << fwd * 1e3
              << " ms, sampling+processing " << smp * 1e3 << " ms ("
              << (fwd > 0 ? 100.0 * smp / fwd : 0.0) << "% of forward)\n";
  }
}

}  // namespace

void register_generate(CLI::App& root) {
  auto a = std::make_shared<GenerateArgs>();
  CLI::App* cmd = root.add_subcommand(
      "generate", "Generate text from a prompt (transformers' generate() knobs)");
  cmd->callback([a] { run_generate(*a); });
  add_generation_flags(cmd, &a->gen);
  cmd->add_option("--prompt", a->prompt, "Prompt text")->required();
  cmd->add_flag("--json", a->json,
                "One JSON line: prompt_ids, ids (generated only), text, finish_reason, logprobs");
  cmd->add_flag("--stream", a->stream, "Print text as it is generated");
  cmd->add_flag("--no-special", a->no_special, "Do not add special tokens (BOS) to the prompt");
  set_examples(
      cmd,
      "  deepfuse generate --model assets/models/stories260K --prompt \"Once upon a time\" "
      "--max-new-tokens 64\n"
      "  deepfuse generate --model M --prompt Hi --temperature 0.7 --top-p 0.9 --seed 1 --stream\n"
      "  deepfuse generate --model M --prompt Hi --greedy --stop \"\\n\" --json --top-logprobs 3\n"
      "  deepfuse generate --model M --prompt Hi --banned-phrases banned.txt --mask-pii\n");
}

}  // namespace deepfuse::cli
