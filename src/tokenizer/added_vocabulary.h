// Added tokens (tokenizer.json "added_tokens"): matched in the text before the model runs, like
// HF's AddedVocabulary. Tokens with normalized=false are matched on the raw text first; those
// with normalized=true on the normalized text of what remains. Matching is leftmost-longest;
// single_word requires word boundaries; lstrip/rstrip absorb neighbouring whitespace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/components.h"

namespace deepfuse::tok {

struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

class AddedVocabulary {
 public:
  // `normalizer` (may be null) normalizes the content of normalized tokens for matching.
  void build(std::vector<AddedToken> tokens, const Normalizer* normalizer);
  const std::vector<AddedToken>& tokens() const { return tokens_; }
  bool empty() const { return tokens_.empty(); }

  // Splits `s` at matches of the raw (normalized=false) or normalized tokens. Added pieces get
  // added_id set. Empty pieces are dropped.
  void split(const Split& s, bool normalized_trie, std::vector<Split>* out) const;

  const AddedToken* by_id(int32_t id) const;
  const AddedToken* by_content(std::string_view content) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> next;
    int32_t token = -1;  // index into tokens_
  };
  struct Trie {
    std::vector<Node> nodes;
    bool first_byte[256] = {};
    bool empty() const { return nodes.size() <= 1; }
  };
  void insert(Trie* t, const std::string& key, int32_t token);
  // Longest match starting at text[i]; returns token index or -1 and sets *len.
  int32_t longest(const Trie& t, std::string_view text, size_t i, size_t* len) const;

  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  Trie raw_, norm_;
};

}  // namespace deepfuse::tok
