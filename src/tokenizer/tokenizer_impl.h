// The loaded pipeline behind deepfuse::Tokenizer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "deepfuse/tokenizer.h"
#include "tokenizer/added_vocabulary.h"
#include "tokenizer/components.h"
#include "tokenizer/models.h"

namespace deepfuse::tokenizer_detail {

using namespace deepfuse::tok;

struct TokenizerImpl : public TokenLookup {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedVocabulary added;
  bool byte_level = false;         // the pre-tokenizer maps bytes to GPT-2 unicode
  bool post_needs_tokens = false;  // ByteLevel offset trimming looks at token strings
  // Splits longer than this are pre-tokenized and run through the model a piece at a time
  // (encode_seq); a setting of the loaded tokenizer, lowered by tests to force pieces.
  size_t piece_bytes = size_t{1} << 20;
  TokenizerConfig config;
  std::optional<int32_t> bos_id, eos_id, pad_id, unk_id;

  std::optional<int32_t> lookup(std::string_view token) const override;
  const std::string* token_of(int32_t id) const;

  // Normalizes, pre-tokenizes and runs the model over `text` (no special tokens).
  Seq encode_seq(std::string_view text) const;
  Encoding finish(Seq a, Seq* b, bool add_special) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const;
  size_t vocab_size() const;
};

// Builds the pipeline from parsed tokenizer.json (see fast_json.h).
std::unique_ptr<TokenizerImpl> build_impl(const nlohmann::json& root, ModelData* data,
                                          const std::string& source);
// Replaces the post-processor with transformers' LlamaTokenizerFast template when the config
// asks for add_bos_token / add_eos_token on a Llama-family tokenizer class.
void apply_config(TokenizerImpl* impl, TokenizerConfig config);

}  // namespace deepfuse::tokenizer_detail
