// PCRE2 (JIT) regular expressions with HF tokenizers' Onig semantics: Unicode properties
// (PCRE2_UTF | PCRE2_UCP), non-overlapping left-to-right matches, empty matches skipped.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

struct pcre2_real_code_8;

namespace deepfuse::tok {

class Regex {
 public:
  // FormatError naming `where` (the JSON path) when the pattern does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends the byte ranges of all non-empty matches in `s` (valid UTF-8).
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>* out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  pcre2_real_code_8* code_ = nullptr;
  bool jit_ = false;
};

}  // namespace deepfuse::tok
