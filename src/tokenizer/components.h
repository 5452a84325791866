// The stages of a tokenizer.json pipeline. Each stage is built from its JSON object by a
// factory that throws FormatError naming the JSON path (e.g. `pre_tokenizer.pretokenizers[2]`)
// on malformed or unknown input.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/normalized_string.h"

namespace deepfuse::tok {

using json = nlohmann::json;

struct Token {
  int32_t id;
  Span span;  // byte span in the split's normalized text
};

// One piece of the pre-tokenized text. `added_id` >= 0 marks an added token (already final).
struct Split {
  NormalizedString ns;
  int32_t added_id = -1;
  // Set by a ByteLevel pre-tokenizer: the model sees the GPT-2 byte-to-unicode image.
  bool byte_level = false;
};

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString* s) const = 0;
};

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Splits every non-added split of `splits` further (in place). `first_split_index` is the index
  // of the split that starts the original text (Metaspace prepend_scheme "first").
  virtual void pre_tokenize(std::vector<Split>* splits) const = 0;
  virtual bool is_byte_level() const { return false; }
};

class Model {
 public:
  virtual ~Model() = default;
  // Appends the tokens of one split (`text` is already in the model's alphabet, see Split).
  virtual void tokenize(std::string_view text, bool byte_level, std::vector<Token>* out) const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual const std::string* id_to_token(int32_t id) const = 0;
  virtual size_t vocab_size() const = 0;  // one more than the largest id
  // Number of vocabulary entries (HF Model::get_vocab_size).
  virtual size_t token_count() const { return vocab_size(); }
};

// A sequence being post-processed.
struct Seq {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<uint8_t> special;
  std::vector<Span> offsets;
  std::vector<std::string> tokens;  // token strings (ByteLevel trim_offsets needs them)
};

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  virtual size_t added_tokens(bool pair) const = 0;
  // Combines `a` (and optional `b`) into `out`, adding special tokens when asked.
  virtual void process(Seq a, Seq* b, bool add_special, Seq* out) const = 0;
};

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>* tokens) const = 0;
};

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& path);
std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& path);
std::unique_ptr<PostProcessor> make_post_processor(const json& j, const std::string& path,
                                                   const class TokenLookup& lookup);
std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& path);

// Token string -> id over the model vocabulary and added tokens (post-processor templates).
class TokenLookup {
 public:
  virtual ~TokenLookup() = default;
  virtual std::optional<int32_t> lookup(std::string_view token) const = 0;
};

// Helpers for reading JSON fields with path-naming errors.
const json& field(const json& j, const char* key, const std::string& path);
std::string get_string(const json& j, const char* key, const std::string& path);
std::string opt_string(const json& j, const char* key, const std::string& path,
                       const std::string& dflt);
bool opt_bool(const json& j, const char* key, const std::string& path, bool dflt);
[[noreturn]] void bad(const std::string& path, const std::string& what);
// An integer in [lo, hi] (FormatError naming `path` otherwise: floats, huge values). A float
// converted to int with get<int>() is undefined behaviour when out of range (a fuzz finding).
int64_t int_in(const json& v, int64_t lo, int64_t hi, const std::string& path);
// Optional integer field `key` of j in [lo, hi], `dflt` when absent or null.
int64_t opt_int_in(const json& j, const char* key, int64_t lo, int64_t hi, const std::string& path,
                   int64_t dflt);

// GPT-2's byte <-> printable-unicode table.
const std::string& byte_to_unicode(uint8_t b);  // UTF-8 of the mapped char
// Code point -> byte, or -1 when the char is not in the table.
int unicode_to_byte(char32_t c);

// Splitting helpers shared by pre-tokenizers (HF SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
SplitBehavior parse_behavior(const json& j, const std::string& path);
// Splits `s` given the sorted non-overlapping `matches` (byte ranges) and appends the pieces.
void split_by_matches(const Split& s, const std::vector<std::pair<size_t, size_t>>& matches,
                      SplitBehavior behavior, bool invert, std::vector<Split>* out);

}  // namespace deepfuse::tok
