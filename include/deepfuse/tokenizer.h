// Public tokenizer API: Hugging Face tokenizer.json pipelines (normalizer -> pre-tokenizer ->
// model -> post-processor, decoder), id-for-id with HF `tokenizers` and transformers'
// AutoTokenizer.
//
//   auto tok = deepfuse::AutoTokenizer::from_pretrained("/models/Qwen3-0.6B");
//   std::vector<int32_t> ids = tok->encode("Hello world");          // with special tokens
//   std::string text = tok->decode(ids, /*skip_special_tokens=*/true);
//
// Thread safety: a loaded Tokenizer is immutable; every const method may be called from many
// threads at once (encode_batch does so itself).
//
// Offsets are BYTE offsets [begin, end) into the UTF-8 input text; tokens added by the
// post-processor (BOS, [CLS], ...) and padding have (0, 0). `byte_to_char_offsets` converts them
// to code-point offsets (what Python's transformers reports). Invalid UTF-8 is tokenized as if
// each maximal ill-formed subpart were U+FFFD; offsets still index the caller's bytes (the span
// of a U+FFFD is the bytes it replaced), and byte_to_char_offsets counts each such subpart as
// one code point, so its result matches HF on the lossily decoded string.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deepfuse {

namespace tokenizer_detail {
struct TokenizerImpl;
}

// The fields of tokenizer_config.json that deepfuse uses (transformers semantics).
struct TokenizerConfig {
  // Special token strings (a plain string or an AddedToken object {"content": ...}).
  std::optional<std::string> bos_token, eos_token, unk_token, pad_token, sep_token, cls_token,
      mask_token;
  std::vector<std::string> additional_special_tokens;
  // LlamaTokenizer(Fast)-style switches; when present on such classes they rewrite the
  // post-processor (AutoTokenizer adds BOS/EOS accordingly).
  std::optional<bool> add_bos_token, add_eos_token;
  // Default chat template ("" when none). `chat_templates` holds every named template of the
  // list form [{"name": ..., "template": ...}] (the "default" one is also in chat_template), and
  // a template from a chat_template.jinja file next to the config (name "default").
  std::string chat_template;
  std::map<std::string, std::string> chat_templates;
  // nullopt when absent or transformers' "very large" sentinel (>= 1e29).
  std::optional<int64_t> model_max_length;
  std::string tokenizer_class;  // e.g. "LlamaTokenizerFast" ("" when absent)
  bool clean_up_tokenization_spaces = false;
  bool do_lower_case = false;          // legacy vocab.txt (BERT) folders
  std::optional<bool> strip_accents;   // legacy vocab.txt (BERT) folders
  bool tokenize_chinese_chars = true;  // legacy vocab.txt (BERT) folders
  std::string padding_side = "right";
  std::string truncation_side = "right";
  std::string raw_json;  // the whole file ("{}" when there is none), for other fields
};

// Parses tokenizer_config.json text; `source` names the file in error messages (FormatError).
TokenizerConfig parse_tokenizer_config(std::string_view json_text, const std::string& source);
// Loads DIR/tokenizer_config.json (+ DIR/chat_template.jinja); a default config when absent.
TokenizerConfig load_tokenizer_config(const std::string& dir);

enum class Side { Right, Left };

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;
  std::vector<uint8_t> special_tokens_mask;  // 1 for tokens added by post-processing / padding
  std::vector<uint8_t> attention_mask;       // 0 for padding
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // byte spans into the input text
  size_t size() const { return ids.size(); }
};

struct TruncationOptions {
  size_t max_length = 0;  // 0: no truncation. Counts the special tokens that get added.
  Side side = Side::Right;
};

struct PaddingOptions {
  enum class Strategy { None, Longest, MaxLength };
  Strategy strategy = Strategy::None;
  size_t max_length = 0;          // for MaxLength
  size_t pad_to_multiple_of = 0;  // 0: none
  Side side = Side::Right;
  std::optional<int32_t> pad_id;  // default: the tokenizer's pad token (InvalidArgument if none)
  int32_t pad_type_id = 0;
};

struct BatchEncodeOptions {
  bool add_special_tokens = true;
  TruncationOptions truncation;
  PaddingOptions padding;
  int num_threads = 0;  // 0: the global ThreadPool; 1: serial on the caller
};

class Tokenizer {
 public:
  // Loads a tokenizer.json file (FormatError naming the JSON path on malformed input).
  static std::shared_ptr<Tokenizer> from_file(const std::string& tokenizer_json_path);
  // Parses tokenizer.json text; `source` names it in error messages.
  static std::shared_ptr<Tokenizer> from_json(std::string_view json_text,
                                              const std::string& source = "tokenizer.json");
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  // Token ids of `text` (UTF-8; invalid bytes are treated as U+FFFD, see docs/DECISIONS.md).
  std::vector<int32_t> encode(std::string_view text, bool add_special_tokens = true) const;
  // Same ids plus type ids, masks and byte offsets.
  Encoding encode_full(std::string_view text, bool add_special_tokens = true) const;
  // A pair of sequences (cross-encoders): the post-processor's pair template.
  Encoding encode_pair(std::string_view a, std::string_view b,
                       bool add_special_tokens = true) const;
  // Many texts at once, in parallel, with truncation and padding.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                     const BatchEncodeOptions& options = {}) const;

  // Text of `ids` (HF tokenizers' decode: decoder chain, lossy UTF-8). Ids with no token
  // are skipped, as HF does. `clean_up_tokenization_spaces` from tokenizer_config.json is applied.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  std::optional<std::string> id_to_token(int32_t id) const;
  // Model vocabulary plus added tokens (Python's len(tokenizer)): one more than the largest id.
  size_t vocab_size() const;
  bool is_special_token(int32_t id) const;
  // Number of special tokens the post-processor adds to one sequence (two when `pair`).
  size_t num_special_tokens_to_add(bool pair = false) const;

  std::optional<int32_t> bos_token_id() const;
  std::optional<int32_t> eos_token_id() const;
  std::optional<int32_t> pad_token_id() const;
  std::optional<int32_t> unk_token_id() const;
  const TokenizerConfig& config() const;

  // Internal: the pipeline (used by AutoTokenizer and tests).
  explicit Tokenizer(std::unique_ptr<tokenizer_detail::TokenizerImpl> impl);
  tokenizer_detail::TokenizerImpl& impl() { return *impl_; }
  const tokenizer_detail::TokenizerImpl& impl() const { return *impl_; }

 private:
  std::unique_ptr<tokenizer_detail::TokenizerImpl> impl_;
};

struct AutoTokenizer {
  // Loads a model folder like transformers' AutoTokenizer: tokenizer.json, else legacy
  // vocab.json + merges.txt (GPT-2 BPE) or vocab.txt (BERT WordPiece); plus
  // tokenizer_config.json (special tokens, add_bos_token/add_eos_token, chat templates,
  // model_max_length). NotFound when no tokenizer file exists.
  static std::shared_ptr<const Tokenizer> from_pretrained(const std::string& dir);
};

// Incremental detokenisation for generation: feed ids one at a time; each call returns the
// newly completed text. Never returns a broken UTF-8 sequence; the concatenation of every
// step() plus flush() equals tokenizer.decode(all ids, skip_special_tokens).
class StreamingDecoder {
 public:
  explicit StreamingDecoder(std::shared_ptr<const Tokenizer> tokenizer,
                            bool skip_special_tokens = true);
  std::string step(int32_t id);
  // Text still held back (an incomplete character at the end of the stream).
  std::string flush();
  void reset();
  const std::vector<int32_t>& ids() const { return ids_; }

 private:
  std::shared_ptr<const Tokenizer> tok_;
  bool skip_special_;
  std::vector<int32_t> ids_;
  size_t prefix_offset_ = 0;  // start of the decode window
  size_t read_offset_ = 0;    // ids before this were already emitted
};

// Converts byte offsets into `text` to Unicode code-point offsets.
std::vector<std::pair<uint32_t, uint32_t>> byte_to_char_offsets(
    std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& offsets);

}  // namespace deepfuse
