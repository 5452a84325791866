// Built-in logits processors and warpers with transformers' exact semantics, one sequence row
// at a time (scores [vocab] in place, float32 math as torch does on the CPU).
// Masked entries are set to -infinity, as transformers' filter_value.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "deepfuse/generation.h"

namespace deepfuse::engine {

// CTRL penalty over every token of `ids` (prompt included): s<0 ? s*p : s/p, once per token.
void repetition_penalty(std::span<const int32_t> ids, float penalty, std::span<float> s);
// OpenAI: s[t] -= presence*(count>0) + frequency*count, counts over `generated` only.
void presence_frequency_penalty(std::span<const int32_t> generated, float presence, float frequency,
                                std::span<float> s);
// Bans tokens that would repeat an n-gram already present in `ids`.
void no_repeat_ngram(std::span<const int32_t> ids, int64_t n, std::span<float> s);
// transformers' NoBadWords (a SequenceBias of -inf): single-token entries always, longer ones
// when `ids` ends with their prefix. Entries equal to [eos] are ignored, as transformers does.
void no_bad_words(std::span<const int32_t> ids, const std::vector<std::vector<int32_t>>& bad,
                  const std::vector<int32_t>& eos, std::span<float> s);
// Masks `eos` while `cur_len` < `min_len` (MinLength: cur_len counts the prompt; MinNewTokens:
// cur_len counts generated tokens only).
void mask_eos_below(int64_t cur_len, int64_t min_len, const std::vector<int32_t>& eos,
                    std::span<float> s);
// At cur_len == max_length - 1 everything but `eos` becomes -inf and `eos` 0.
void forced_eos(int64_t cur_len, int64_t max_length, const std::vector<int32_t>& eos,
                std::span<float> s);
void suppress_tokens(const std::vector<int32_t>& tokens, std::span<float> s);
void logit_bias(const std::map<int32_t, double>& bias, std::span<float> s);

// Warpers (transformers' min_tokens_to_keep = 1 for sampling).
void temperature(float t, std::span<float> s);
void top_k(int64_t k, std::span<float> s, int64_t min_keep = 1);
void top_p(float p, std::span<float> s, int64_t min_keep = 1);
void min_p(float p, std::span<float> s, int64_t min_keep = 1);
void typical_p(float mass, std::span<float> s, int64_t min_keep = 1);

// The resolved per-sequence settings the generation loop uses (transformers' defaults filled).
struct ResolvedConfig {
  int64_t prompt_len = 0;
  int64_t max_new_tokens = 20;
  int64_t max_length = 0;  // prompt_len + max_new_tokens
  int64_t min_new_tokens = 0;
  int64_t min_length = 0;
  bool sample = false;  // false: greedy argmax
  float temperature = 1, top_p = 1, min_p = 0, typical_p = 1;
  int64_t top_k = 0;
  float repetition_penalty = 1;
  float presence_penalty = 0, frequency_penalty = 0;
  int64_t no_repeat_ngram_size = 0;
  std::vector<std::vector<int32_t>> bad_words_ids;
  std::vector<int32_t> suppress_tokens;
  std::vector<int32_t> eos;
  std::optional<int32_t> forced_eos;
  std::map<int32_t, double> logit_bias;
  std::vector<std::string> stop_strings;
  uint64_t seed = 0;
  bool logprobs = false;
  int64_t top_logprobs = 0;
};
// Validates `c` (InvalidArgument naming the field) and fills transformers' defaults:
// max_new_tokens, else max_length - prompt_len, else 20; top_k 50 when sampling and unset;
// temperature 0 or top_k 1 turn sampling into greedy. `model_max` (> 0) caps the length.
ResolvedConfig resolve_config(const GenerationConfig& c, int64_t prompt_len, int64_t vocab,
                              int64_t model_max);

// Applies the built-in processors (and, when sampling, the warpers) in transformers' order,
// with `user` processors between them. `generated_text` is for the user processors.
// `candidates`, when given, may receive the ids of the only finite scores (ascending) after
// a small top-k or a top_p that left few tokens; the sampler then draws among those (same
// token as a full scan).
void process_scores(const ResolvedConfig& rc, const GenerationState& st,
                    std::span<const std::shared_ptr<LogitsProcessor>> user, std::span<float> s,
                    std::vector<int32_t>* candidates = nullptr);

}  // namespace deepfuse::engine
