// Public generation API: transformers' generate() knobs with the same names and meaning, user
// logits processors and stopping criteria, reproducible sampling, streaming and ragged batches.
//
//   auto cfg = deepfuse::GenerationConfig::from_model_dir(dir);   // generation_config.json
//   cfg.merge(user);                                               // caller's values win
//   deepfuse::Generator gen(model, text_source);
//   deepfuse::GenerationRequest req{prompt_ids, cfg};
//   req.on_text = [](std::string_view delta) { std::cout << delta; };
//   deepfuse::GenerationResult r = gen.generate(req);
//
// Processing order per step (transformers 5 `_get_logits_processor`, then OpenAI extras, then
// the caller's processors, then the sampling warpers when do_sample):
//   RepetitionPenalty -> presence/frequency penalty -> NoRepeatNGram -> NoBadWords ->
//   MinLength -> MinNewTokens -> ForcedEOS -> SuppressTokens -> logit_bias -> user processors
//   -> Temperature -> TopK -> TopP -> MinP -> Typical -> sample (or argmax).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace deepfuse {

class CausalLM;
class Tokenizer;

// Every field is optional so configs can be layered: model defaults (generation_config.json),
// then the caller's values (merge). `resolved()` fills transformers' defaults.
struct GenerationConfig {
  // Length. max_new_tokens wins over max_length (which counts prompt + generated tokens);
  // with neither, transformers' default max_length = 20 applies.
  std::optional<int64_t> max_new_tokens, max_length, min_new_tokens, min_length;
  // Sampling. do_sample=false (default) is greedy; temperature 0 or top_k 1 also mean greedy.
  std::optional<bool> do_sample;
  std::optional<double> temperature;  // >= 0, default 1
  std::optional<int64_t> top_k;       // >= 0 (0 = off), default 50 as in transformers
  std::optional<double> top_p;        // (0, 1], default 1
  std::optional<double> min_p;        // [0, 1], default off
  std::optional<double> typical_p;    // (0, 1], default 1
  // Penalties and constraints.
  std::optional<double> repetition_penalty;  // > 0, default 1 (CTRL-style, prompt included)
  std::optional<int64_t> no_repeat_ngram_size;
  std::optional<std::vector<std::vector<int32_t>>> bad_words_ids;
  std::optional<std::vector<int32_t>> suppress_tokens;
  std::optional<int32_t> forced_eos_token_id;
  std::optional<std::vector<int32_t>> eos_token_id;  // one or several
  std::optional<int32_t> pad_token_id;
  std::optional<std::vector<std::string>> stop_strings;
  std::optional<uint64_t> seed;
  // OpenAI extras: penalties in [-2, 2] over generated tokens, additive logit bias.
  std::optional<double> presence_penalty, frequency_penalty;
  std::optional<std::map<int32_t, double>> logit_bias;
  std::optional<bool> logprobs;
  std::optional<int64_t> top_logprobs;  // [0, 20]

  // Parses a generation_config.json object (unknown keys ignored; wrong types FormatError
  // naming the key). `source` names the file in messages.
  static GenerationConfig from_json_text(std::string_view json_text, const std::string& source);
  // DIR/generation_config.json, or an empty config when the file is absent.
  static GenerationConfig from_model_dir(const std::string& dir);
  // Takes every field `other` sets (caller over model defaults).
  void merge(const GenerationConfig& other);
  // InvalidArgument naming the field when a value is out of range. `vocab_size` > 0 also
  // checks token ids (bad_words_ids, suppress_tokens, eos_token_id, logit_bias, ...).
  void validate(int64_t vocab_size = 0) const;
  std::string to_json() const;  // the fields that are set
};

// What a processor or stopping criterion sees of one sequence at one step.
struct GenerationState {
  std::span<const int32_t> ids;  // prompt + generated tokens so far
  int64_t prompt_len = 0;
  std::string_view text;  // decoded generated text so far (complete characters only)
  int64_t num_generated() const { return static_cast<int64_t>(ids.size()) - prompt_len; }
};

// Modifies the scores [vocab] of one sequence in place (transformers' LogitsProcessor, one row).
// One instance belongs to one sequence; it may keep state between steps.
class LogitsProcessor {
 public:
  virtual ~LogitsProcessor() = default;
  virtual void process(const GenerationState& state, std::span<float> scores) = 0;
};

// Ends a sequence (transformers' StoppingCriteria, one row); checked after every new token.
class StoppingCriteria {
 public:
  virtual ~StoppingCriteria() = default;
  virtual bool should_stop(const GenerationState& state) = 0;
};

// What generation needs from a tokenizer: the text of token ids (special tokens skipped).
class TokenTextSource {
 public:
  virtual ~TokenTextSource() = default;
  virtual std::string decode(const std::vector<int32_t>& ids) const = 0;
  virtual int64_t vocab_size() const = 0;
  // Bytes token `id` appends to a text it continues (not at the start), e.g. " the" for
  // sentencepiece's "▁the", one raw byte for byte tokens. Default: derived from decode().
  virtual std::string token_bytes(int32_t id) const;
};
// Adapts a loaded tokenizer (byte-fallback and byte-level tokens give their raw bytes).
std::shared_ptr<TokenTextSource> make_token_text_source(std::shared_ptr<const Tokenizer> tok);

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0;
};
struct GeneratedToken {
  int32_t id = 0;
  float logprob = 0;              // log-softmax of the final processed scores
  std::vector<TokenLogprob> top;  // top_logprobs alternatives, best first
};

struct GenerationRequest {
  std::vector<int32_t> prompt_ids;
  GenerationConfig config;  // already merged with the model defaults by the caller
  std::vector<std::shared_ptr<LogitsProcessor>> logits_processors;  // applied after built-ins
  std::vector<std::shared_ptr<StoppingCriteria>> stopping_criteria;
  // Streaming: valid UTF-8 deltas whose concatenation is GenerationResult::text; text that
  // could start a stop string is held back until it cannot. Called on the thread that runs
  // generate(), after each step.
  std::function<void(std::string_view delta)> on_text;
};

// Where one request's time went. A step of a batched generate() serves several requests at
// once; each of them counts the whole step, so per-request sums can exceed the call's time.
struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t steps = 0;               // forward steps this request took part in
  double forward_seconds = 0;      // model forward of those steps
  double sampling_seconds = 0;     // processors, token choice, detokenisation, streaming
  double first_token_seconds = 0;  // from submission to its first token
};

struct GenerationResult {
  std::vector<int32_t> ids;   // generated tokens only (EOS / stop-string token included)
  std::string text;           // decoded `ids`, cut before a matched stop string
  std::string finish_reason;  // "stop" (EOS, stop string, criterion) or "length"
  std::optional<std::string> stop_string;  // the stop string that ended it
  std::vector<GeneratedToken> tokens;      // per-token logprobs when config.logprobs
  GenerationStats stats;
};

struct GeneratorOptions {
  int32_t kv_block_size = 16;
  int64_t max_batch_tokens = 4096;  // tokens per forward step (prefill is admitted within it)
};

// Runs generation on one model: a blocking front of the serving engine (deepfuse/engine.h),
// which every generate() call runs its requests through. A Generator holds no per-call state:
// several threads may call generate() on one Generator (and one model) at once, each call with
// its own engine and KV cache. Work runs on the calling thread's ThreadPool::current()
// (src/core/thread_pool.h); streaming callbacks run on the calling thread.
class Generator {
 public:
  Generator(CausalLM& model, std::shared_ptr<const TokenTextSource> text,
            GeneratorOptions options = {});
  ~Generator();
  // Many requests in one call: ragged batches (no padding), each with its own config; the
  // results equal running them one at a time (same seed -> same tokens).
  std::vector<GenerationResult> generate(std::vector<GenerationRequest> requests) const;
  GenerationResult generate(GenerationRequest request) const;

 private:
  CausalLM& model_;
  std::shared_ptr<const TokenTextSource> text_;
  const GeneratorOptions options_;
};

}  // namespace deepfuse
