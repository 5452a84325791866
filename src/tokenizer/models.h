// Tokenization models: BPE, WordPiece, Unigram, WordLevel. Built from tokenizer.json's "model"
// object; the large vocab/merges arrays may be handed in pre-parsed (fast loader).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/components.h"

namespace deepfuse::tok {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept {
    // FNV-1a over 8-byte words would be faster; std::hash is fine and well distributed.
    return std::hash<std::string_view>{}(s);
  }
};
using VocabMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

// Pre-parsed pieces of the "model" object (see fast_json.h); empty optionals = parse from JSON.
struct ModelData {
  bool have_vocab = false;
  std::vector<std::pair<std::string, int32_t>> vocab;  // object order
  bool have_merges = false;
  std::vector<std::pair<std::string, std::string>> merges;
};

std::unique_ptr<Model> make_model(const json& j, ModelData* data, const std::string& path,
                                  bool byte_level);

}  // namespace deepfuse::tok
