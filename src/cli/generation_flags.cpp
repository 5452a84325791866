#include "cli/generation_flags.h"

#include "deepfuse/auto_model.h"

#include <random>
#include <sstream>

#include "cli/cli_util.h"
#include "core/error.h"
#include "deepfuse/tokenizer.h"
#include "models/causal_lm.h"  // the loaded model is owned here (AutoModel holds it opaque)
#include "safety/output_filter.h"
#include "safety/pii.h"

namespace deepfuse::cli {
namespace {

std::vector<int32_t> parse_ids(const std::string& s, const char* flag) {
  std::vector<int32_t> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    size_t pos = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &pos);
    } catch (...) {
      pos = 0;
    }
    DF_CHECK(pos == item.size() && v >= 0 && v < (1LL << 31), InvalidArgument,
             flag << ": expected comma-separated token ids, got '" << item << "'");
    out.push_back(static_cast<int32_t>(v));
  }
  return out;
}

}  // namespace

GenerationSession::GenerationSession() = default;
GenerationSession::GenerationSession(GenerationSession&&) noexcept = default;
GenerationSession::~GenerationSession() = default;

void add_generation_flags(CLI::App* cmd, GenerationFlags* f) {
  cmd->add_option("--model", f->model, "Model folder (config.json, weights, tokenizer)")
      ->required();
  cmd->add_option("--device", f->device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--dtype", f->dtype, "Weight dtype: auto, float32, bfloat16, float16");
  cmd->add_option("--max-new-tokens", f->max_new_tokens, "Tokens to generate at most");
  cmd->add_option("--max-length", f->max_length, "Prompt + generated tokens at most");
  cmd->add_option("--min-new-tokens", f->min_new_tokens, "EOS is masked until this many tokens");
  cmd->add_flag("--greedy", f->greedy, "Greedy decoding (argmax), whatever else is set");
  cmd->add_flag("--do-sample", f->do_sample,
                "Sample (default: generation_config.json's do_sample)");
  cmd->add_option("--temperature", f->temperature,
                  "Sampling temperature (0 = greedy); implies sampling");
  cmd->add_option("--top-k", f->top_k,
                  "Keep the k best tokens (0 = off; default 50 when sampling)");
  cmd->add_option("--top-p", f->top_p, "Nucleus sampling mass in (0, 1]");
  cmd->add_option("--min-p", f->min_p, "Drop tokens below min_p * best probability");
  cmd->add_option("--typical-p", f->typical_p, "Locally typical sampling mass in (0, 1]");
  cmd->add_option("--repetition-penalty", f->repetition_penalty, "CTRL repetition penalty (> 0)");
  cmd->add_option("--no-repeat-ngram-size", f->no_repeat_ngram_size, "Ban repeated n-grams");
  cmd->add_option("--presence-penalty", f->presence_penalty, "OpenAI presence penalty [-2, 2]");
  cmd->add_option("--frequency-penalty", f->frequency_penalty, "OpenAI frequency penalty [-2, 2]");
  cmd->add_option("--logit-bias", f->logit_bias, "ID:BIAS added to a token's logit (repeatable)");
  cmd->add_option("--bad-words", f->bad_words,
                  "A word never to generate (its tokenisation; repeatable)");
  cmd->add_option("--bad-words-ids", f->bad_words_ids, "Banned id sequences: '1,2;3'");
  cmd->add_option("--suppress-tokens", f->suppress_tokens, "Comma-separated ids never generated");
  cmd->add_option("--eos-token-id", f->eos_token_ids, "Comma-separated end-of-sequence ids");
  cmd->add_option("--forced-eos-token-id", f->forced_eos_token_id, "Id forced at the last step");
  cmd->add_option("--stop", f->stop,
                  "Stop string (repeatable; never printed). Escapes \\n \\t \\r \\\\ \\\" "
                  "\\uXXXX are interpreted: --stop \"\\n\" stops at a newline");
  cmd->add_option("--seed", f->seed, "Sampling seed (same seed -> same tokens); implies sampling");
  cmd->add_flag("--logprobs", f->logprobs, "Per-token log-probabilities in --json output");
  cmd->add_option("--top-logprobs", f->top_logprobs, "Alternatives per token in --json (0-20)");
  cmd->add_flag("--profile", f->profile,
                "Print a per-op time table and sampling overhead to stderr");
  cmd->add_flag("--mask-pii", f->mask_pii,
                "Mask PII (cards, dates, emails, ...) in the input first");
  cmd->add_option("--banned-phrases", f->banned_phrases,
                  "Output safety filter: file with one banned phrase per line");
  cmd->add_option("--refusal", f->refusal,
                  "Text shown when the safety filter leaves nothing useful");
  add_threads_flag(cmd, &f->threads);
}

GenerationSession open_session(const GenerationFlags& f) {
  apply_threads(f.threads);
  GenerationSession s;
  ModelOptions mo;
  mo.device = f.device;
  mo.dtype = f.dtype;
  s.model = load_causal_lm(f.model, mo);
  s.tokenizer = AutoTokenizer::from_pretrained(f.model);
  s.text = make_token_text_source(s.tokenizer);

  GenerationConfig c = GenerationConfig::from_model_dir(f.model);
  if (!c.eos_token_id && s.tokenizer->eos_token_id())
    c.eos_token_id = std::vector<int32_t>{*s.tokenizer->eos_token_id()};
  GenerationConfig u;
  u.max_new_tokens = f.max_new_tokens;
  u.max_length = f.max_length;
  u.min_new_tokens = f.min_new_tokens;
  u.temperature = f.temperature;
  u.top_k = f.top_k;
  u.top_p = f.top_p;
  u.min_p = f.min_p;
  u.typical_p = f.typical_p;
  u.repetition_penalty = f.repetition_penalty;
  u.no_repeat_ngram_size = f.no_repeat_ngram_size;
  u.presence_penalty = f.presence_penalty;
  u.frequency_penalty = f.frequency_penalty;
  u.forced_eos_token_id = f.forced_eos_token_id;
  if (!f.stop.empty()) {
    std::vector<std::string> stops;
    for (const auto& s : f.stop) {
      stops.push_back(unescape_flag(s, "--stop"));
      DF_CHECK(!stops.back().empty(), InvalidArgument, "--stop: an empty stop string never ends");
    }
    u.stop_strings = stops;
  }
  if (!f.suppress_tokens.empty())
    u.suppress_tokens = parse_ids(f.suppress_tokens, "--suppress-tokens");
  if (!f.eos_token_ids.empty()) u.eos_token_id = parse_ids(f.eos_token_ids, "--eos-token-id");
  std::vector<std::vector<int32_t>> bad;
  if (!f.bad_words_ids.empty()) {
    std::stringstream ss(f.bad_words_ids);
    std::string seq;
    while (std::getline(ss, seq, ';'))
      if (!seq.empty()) bad.push_back(parse_ids(seq, "--bad-words-ids"));
  }
  for (const auto& w : f.bad_words) {
    // transformers' recipe: the word as it is tokenised mid-text (with and without a space).
    for (const std::string& form : {w, " " + w}) {
      auto ids = s.tokenizer->encode(form, false);
      if (!ids.empty()) bad.push_back(ids);
    }
  }
  if (!bad.empty()) u.bad_words_ids = bad;
  if (!f.logit_bias.empty()) {
    std::map<int32_t, double> lb;
    for (const auto& e : f.logit_bias) {
      const auto colon = e.find(':');
      DF_CHECK(colon != std::string::npos, InvalidArgument,
               "--logit-bias: expected ID:BIAS, got '" << e << "'");
      const auto id = parse_ids(e.substr(0, colon), "--logit-bias");
      DF_CHECK(id.size() == 1, InvalidArgument,
               "--logit-bias: expected ID:BIAS, got '" << e << "'");
      try {
        lb[id[0]] = std::stod(e.substr(colon + 1));
      } catch (...) {
        throw InvalidArgument("--logit-bias: '" + e.substr(colon + 1) + "' is not a number");
      }
    }
    u.logit_bias = lb;
  }
  if (f.logprobs || f.top_logprobs) u.logprobs = true;
  u.top_logprobs = f.top_logprobs;
  // Sampling: explicit --do-sample, or any sampling knob (OpenAI-style), unless --greedy.
  if (f.do_sample || f.temperature || f.top_k || f.top_p || f.min_p || f.typical_p || f.seed)
    u.do_sample = true;
  if (f.greedy) u.do_sample = false;
  c.merge(u);
  s.seed = f.seed ? *f.seed : std::random_device{}();
  c.seed = s.seed;
  c.validate(s.model->info().vocab_size);
  s.config = c;
  if (!f.banned_phrases.empty()) {
    OutputFilterOptions fo;
    if (!f.refusal.empty()) fo.refusal = f.refusal;
    s.filter = OutputFilter::from_file(f.banned_phrases, s.text, fo);
  }
  return s;
}

size_t maybe_mask_pii(const GenerationFlags& f, std::string* text) {
  if (!f.mask_pii) return 0;
  MaskResult r = mask_pii(*text, PiiOptions{});
  *text = r.text;
  return r.spans.size();
}

}  // namespace deepfuse::cli
