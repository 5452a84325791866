// GenerationConfig: generation_config.json parsing, layering and validation.
#include <nlohmann/json.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json_reader.h"
#include "deepfuse/generation.h"

namespace deepfuse {
namespace {

using json = nlohmann::json;

template <typename T>
void get_num(const json& j, const char* key, std::optional<T>& out, const std::string& src) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  if constexpr (std::is_same_v<T, bool>) {
    DF_CHECK(it->is_boolean(), FormatError,
             src << ": \"" << key << "\" must be true or false, got " << it->dump());
    out = it->get<bool>();
  } else if constexpr (std::is_floating_point_v<T>) {
    DF_CHECK(it->is_number(), FormatError,
             src << ": \"" << key << "\" must be a number, got " << it->dump());
    out = it->get<double>();
  } else {
    DF_CHECK(it->is_number_integer() || it->is_number_unsigned(), FormatError,
             src << ": \"" << key << "\" must be an integer, got " << it->dump());
    out = it->get<T>();
  }
}

std::vector<int32_t> id_list(const json& v, const char* key, const std::string& src) {
  std::vector<int32_t> out;
  if (v.is_number_integer()) {
    out.push_back(v.get<int32_t>());
    return out;
  }
  DF_CHECK(
      v.is_array(), FormatError,
      src << ": \"" << key << "\" must be a token id or a list of ids, got " << json_excerpt(v));
  for (const auto& e : v) {
    DF_CHECK(e.is_number_integer(), FormatError,
             src << ": \"" << key << "\" must hold integer token ids, got " << json_excerpt(e));
    out.push_back(e.get<int32_t>());
  }
  return out;
}

}  // namespace

GenerationConfig GenerationConfig::from_json_text(std::string_view text, const std::string& src) {
  const json j = parse_json(text, src);
  DF_CHECK(j.is_object(), FormatError, src << ": expected a JSON object");
  GenerationConfig c;
  get_num(j, "max_new_tokens", c.max_new_tokens, src);
  get_num(j, "max_length", c.max_length, src);
  get_num(j, "min_new_tokens", c.min_new_tokens, src);
  get_num(j, "min_length", c.min_length, src);
  get_num(j, "do_sample", c.do_sample, src);
  get_num(j, "temperature", c.temperature, src);
  get_num(j, "top_k", c.top_k, src);
  get_num(j, "top_p", c.top_p, src);
  get_num(j, "min_p", c.min_p, src);
  get_num(j, "typical_p", c.typical_p, src);
  get_num(j, "repetition_penalty", c.repetition_penalty, src);
  get_num(j, "no_repeat_ngram_size", c.no_repeat_ngram_size, src);
  get_num(j, "forced_eos_token_id", c.forced_eos_token_id, src);
  get_num(j, "pad_token_id", c.pad_token_id, src);
  get_num(j, "seed", c.seed, src);
  get_num(j, "presence_penalty", c.presence_penalty, src);
  get_num(j, "frequency_penalty", c.frequency_penalty, src);
  get_num(j, "logprobs", c.logprobs, src);
  get_num(j, "top_logprobs", c.top_logprobs, src);
  if (auto it = j.find("eos_token_id"); it != j.end() && !it->is_null())
    c.eos_token_id = id_list(*it, "eos_token_id", src);
  if (auto it = j.find("suppress_tokens"); it != j.end() && !it->is_null())
    c.suppress_tokens = id_list(*it, "suppress_tokens", src);
  if (auto it = j.find("bad_words_ids"); it != j.end() && !it->is_null()) {
    DF_CHECK(it->is_array(), FormatError, src << ": \"bad_words_ids\" must be a list of lists");
    std::vector<std::vector<int32_t>> bw;
    for (const auto& e : *it) {
      DF_CHECK(e.is_array(), FormatError,
               src << ": \"bad_words_ids\" must be a list of id lists, got " << json_excerpt(e));
      bw.push_back(id_list(e, "bad_words_ids", src));
    }
    c.bad_words_ids = std::move(bw);
  }
  for (const char* key : {"stop_strings", "stop"}) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) continue;
    std::vector<std::string> ss;
    if (it->is_string()) {
      ss.push_back(it->get<std::string>());
    } else {
      DF_CHECK(it->is_array(), FormatError, src << ": \"" << key << "\" must be a string list");
      for (const auto& e : *it) {
        DF_CHECK(e.is_string(), FormatError, src << ": \"" << key << "\" must hold strings");
        ss.push_back(e.get<std::string>());
      }
    }
    c.stop_strings = std::move(ss);
  }
  if (auto it = j.find("logit_bias"); it != j.end() && !it->is_null()) {
    DF_CHECK(it->is_object(), FormatError, src << ": \"logit_bias\" must map token ids to numbers");
    std::map<int32_t, double> lb;
    for (auto kv = it->begin(); kv != it->end(); ++kv) {
      DF_CHECK(kv.value().is_number(), FormatError,
               src << ": \"logit_bias\" values must be numbers, got " << json_excerpt(kv.value()));
      size_t pos = 0;
      int64_t id = -1;
      try {
        id = std::stoll(kv.key(), &pos);
      } catch (...) {
        pos = 0;
      }
      DF_CHECK(pos == kv.key().size() && pos > 0, FormatError,
               src << ": \"logit_bias\" keys must be token ids, got \"" << kv.key() << "\"");
      lb[static_cast<int32_t>(id)] = kv.value().get<double>();
    }
    c.logit_bias = std::move(lb);
  }
  return c;
}

GenerationConfig GenerationConfig::from_model_dir(const std::string& dir) {
  std::filesystem::path p = std::filesystem::path(dir) / "generation_config.json";
  if (!std::filesystem::exists(p)) return {};
  std::ifstream in(p, std::ios::binary);
  DF_CHECK(in.good(), NotFound, "cannot read " << p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return from_json_text(ss.str(), p.string());
}

// Every optional field with a plain JSON form, in HF's order (logit_bias, a map keyed by token
// id, is handled beside each use). One list for merge() and to_json().
// clang-format off
#define DF_GENERATION_FIELDS(X)                                                               \
  X(max_new_tokens) X(max_length) X(min_new_tokens) X(min_length) X(do_sample)                \
  X(temperature) X(top_k) X(top_p) X(min_p) X(typical_p) X(repetition_penalty)               \
  X(no_repeat_ngram_size) X(bad_words_ids) X(suppress_tokens) X(forced_eos_token_id)          \
  X(eos_token_id) X(pad_token_id) X(stop_strings) X(seed) X(presence_penalty)                 \
  X(frequency_penalty) X(logprobs) X(top_logprobs)
// clang-format on

void GenerationConfig::merge(const GenerationConfig& o) {
#define DF_TAKE(f) \
  if (o.f) f = o.f;
  DF_GENERATION_FIELDS(DF_TAKE)
  DF_TAKE(logit_bias)
#undef DF_TAKE
  // transformers: an explicit max_new_tokens from the caller overrides a model max_length,
  // and an explicit caller max_length overrides a model max_new_tokens.
  if (o.max_length && !o.max_new_tokens) max_new_tokens.reset();
}

namespace {
void check_id(int32_t id, int64_t vocab, const char* field) {
  DF_CHECK(id >= 0 && (vocab <= 0 || id < vocab), InvalidArgument,
           field << ": token id " << id << " is outside the vocabulary [0, " << vocab << ")");
}
void check_finite(const std::optional<double>& v, const char* field) {
  DF_CHECK(!v || std::isfinite(*v), InvalidArgument, field << " must be a finite number");
}
}  // namespace

void GenerationConfig::validate(int64_t vocab) const {
  for (auto [v, name] : {std::pair{&temperature, "temperature"},
                         {&top_p, "top_p"},
                         {&min_p, "min_p"},
                         {&typical_p, "typical_p"},
                         {&repetition_penalty, "repetition_penalty"},
                         {&presence_penalty, "presence_penalty"},
                         {&frequency_penalty, "frequency_penalty"}})
    check_finite(*v, name);
  DF_CHECK(!max_new_tokens || *max_new_tokens >= 0, InvalidArgument,
           "max_new_tokens must be >= 0, got " << *max_new_tokens);
  DF_CHECK(!max_length || *max_length >= 0, InvalidArgument,
           "max_length must be >= 0, got " << *max_length);
  DF_CHECK(!min_new_tokens || *min_new_tokens >= 0, InvalidArgument,
           "min_new_tokens must be >= 0, got " << *min_new_tokens);
  DF_CHECK(!min_length || *min_length >= 0, InvalidArgument,
           "min_length must be >= 0, got " << *min_length);
  DF_CHECK(!temperature || *temperature >= 0, InvalidArgument,
           "temperature must be >= 0, got " << *temperature);
  DF_CHECK(!top_k || *top_k >= 0, InvalidArgument, "top_k must be >= 0, got " << *top_k);
  DF_CHECK(!top_p || (*top_p > 0 && *top_p <= 1), InvalidArgument,
           "top_p must be in (0, 1], got " << *top_p);
  DF_CHECK(!min_p || (*min_p >= 0 && *min_p <= 1), InvalidArgument,
           "min_p must be in [0, 1], got " << *min_p);
  DF_CHECK(!typical_p || (*typical_p > 0 && *typical_p <= 1), InvalidArgument,
           "typical_p must be in (0, 1], got " << *typical_p);
  DF_CHECK(!repetition_penalty || *repetition_penalty > 0, InvalidArgument,
           "repetition_penalty must be > 0, got " << *repetition_penalty);
  DF_CHECK(!no_repeat_ngram_size || *no_repeat_ngram_size >= 0, InvalidArgument,
           "no_repeat_ngram_size must be >= 0, got " << *no_repeat_ngram_size);
  DF_CHECK(!presence_penalty || std::fabs(*presence_penalty) <= 2, InvalidArgument,
           "presence_penalty must be in [-2, 2], got " << *presence_penalty);
  DF_CHECK(!frequency_penalty || std::fabs(*frequency_penalty) <= 2, InvalidArgument,
           "frequency_penalty must be in [-2, 2], got " << *frequency_penalty);
  DF_CHECK(!top_logprobs || (*top_logprobs >= 0 && *top_logprobs <= 20), InvalidArgument,
           "top_logprobs must be in [0, 20], got " << *top_logprobs);
  if (bad_words_ids) {
    for (const auto& seq : *bad_words_ids) {
      DF_CHECK(!seq.empty(), InvalidArgument, "bad_words_ids: an id list is empty");
      for (int32_t id : seq) check_id(id, vocab, "bad_words_ids");
    }
  }
  if (suppress_tokens)
    for (int32_t id : *suppress_tokens) check_id(id, vocab, "suppress_tokens");
  if (eos_token_id)
    for (int32_t id : *eos_token_id) check_id(id, vocab, "eos_token_id");
  if (forced_eos_token_id) check_id(*forced_eos_token_id, vocab, "forced_eos_token_id");
  if (pad_token_id) check_id(*pad_token_id, vocab, "pad_token_id");
  if (logit_bias)
    for (const auto& [id, b] : *logit_bias) {
      check_id(id, vocab, "logit_bias");
      DF_CHECK(std::isfinite(b) && std::fabs(b) <= 100, InvalidArgument,
               "logit_bias: value for token " << id << " must be in [-100, 100], got " << b);
    }
  if (stop_strings)
    for (const auto& s : *stop_strings)
      DF_CHECK(!s.empty(), InvalidArgument, "stop_strings: a stop string is empty");
}

std::string GenerationConfig::to_json() const {
  json j = json::object();
#define DF_PUT(f) \
  if (f) j[#f] = *f;
  DF_GENERATION_FIELDS(DF_PUT)
#undef DF_PUT
  if (logit_bias) {
    json lb = json::object();
    for (const auto& [id, b] : *logit_bias) lb[std::to_string(id)] = b;
    j["logit_bias"] = lb;
  }
  return j.dump();
}

}  // namespace deepfuse
