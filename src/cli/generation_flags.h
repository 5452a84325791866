// Shared by `deepfuse generate` and `deepfuse chat`: the generation knobs as flags, model +
// tokenizer loading, and the optional PII masking / output safety filter.
#pragma once

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deepfuse/generation.h"

namespace deepfuse {
class CausalLM;
class OutputFilter;
}  // namespace deepfuse

namespace deepfuse::cli {

struct GenerationFlags {
  std::string model, device = "cpu", dtype = "auto";
  std::optional<int64_t> max_new_tokens, max_length, min_new_tokens;
  bool greedy = false, do_sample = false;
  std::optional<double> temperature, top_p, min_p, typical_p, repetition_penalty;
  std::optional<int64_t> top_k, no_repeat_ngram_size, top_logprobs;
  std::optional<double> presence_penalty, frequency_penalty;
  std::vector<std::string> stop, bad_words, logit_bias;
  std::string suppress_tokens, eos_token_ids, bad_words_ids;
  std::optional<int32_t> forced_eos_token_id;
  std::optional<uint64_t> seed;
  bool logprobs = false, profile = false, mask_pii = false;
  std::string banned_phrases, refusal;
  int threads = 0;
};

void add_generation_flags(CLI::App* cmd, GenerationFlags* f);

// What a session needs: the model, its tokenizer, the merged config and the optional filter.
struct GenerationSession {
  std::unique_ptr<CausalLM> model;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::shared_ptr<TokenTextSource> text;
  GenerationConfig config;               // generation_config.json, then the flags
  std::shared_ptr<OutputFilter> filter;  // null without --banned-phrases
  uint64_t seed = 0;
  GenerationSession();
  GenerationSession(GenerationSession&&) noexcept;
  ~GenerationSession();
};
GenerationSession open_session(const GenerationFlags& f);

// Masks PII in `text` when --mask-pii; returns the number of masked spans.
size_t maybe_mask_pii(const GenerationFlags& f, std::string* text);

}  // namespace deepfuse::cli
