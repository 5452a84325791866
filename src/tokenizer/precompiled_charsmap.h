// SentencePiece's precompiled normalization map (tokenizer.json "Precompiled" normalizer): a
// darts-clone double-array trie over UTF-8 byte strings whose values index a blob of
// NUL-terminated replacement strings. Applied per grapheme cluster like HF's spm_precompiled.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tokenizer/normalized_string.h"

namespace deepfuse::tok {

class PrecompiledCharsmap {
 public:
  // FormatError naming `where` when the base64 or the blob layout is malformed.
  static std::shared_ptr<PrecompiledCharsmap> from_base64(const std::string& b64,
                                                          const std::string& where);
  static std::shared_ptr<PrecompiledCharsmap> from_blob(const std::string& blob,
                                                        const std::string& where);
  // Replacement for the shortest trie prefix of `chunk`, or nullptr.
  const char* transform(std::string_view chunk, size_t* out_len) const;
  void apply(NormalizedString* s) const;

 private:
  std::vector<uint32_t> units_;
  std::string normalized_;
};

std::string base64_decode(const std::string& in, const std::string& where);

}  // namespace deepfuse::tok
