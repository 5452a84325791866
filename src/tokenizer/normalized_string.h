// A piece of text being normalized, with the alignment back to the original input: every byte
// of the current text knows the original byte span it came from, so token offsets can be
// reported in the user's string (HF tokenizers' NormalizedString, simplified).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tokenizer/unicode.h"

namespace deepfuse::tok {

using Span = std::pair<uint32_t, uint32_t>;

class NormalizedString {
 public:
  NormalizedString() = default;
  // Identity alignment: byte i of `text` is original byte base + i.
  NormalizedString(std::string text, uint32_t base) : s_(std::move(text)), base_(base) {}

  const std::string& str() const { return s_; }
  bool empty() const { return s_.empty(); }
  size_t size() const { return s_.size(); }

  // Original span of normalized bytes [b, e).
  Span original_span(size_t b, size_t e) const;
  // Original start of the whole string (HF offsets_original().0).
  uint32_t original_begin() const { return original_span(0, s_.size()).first; }
  NormalizedString slice(size_t b, size_t e) const;

  // Rewrites every character: f(char32_t c, std::string* out) appends its replacement (possibly
  // nothing). New bytes inherit the span of the character they came from.
  template <typename F>
  void map_chars(F&& f);
  // Unicode normalization; spans are kept per character where the character count is unchanged
  // within a combining sequence, else the sequence's new characters share its span.
  void normalize(NormForm form);
  // Prepends `p`; its bytes take the span of the first character (HF behaviour).
  void prepend(std::string_view p);
  void append(std::string_view p);
  // Replaces every (non-overlapping, left to right) byte range in `ranges` by `content`; the new
  // bytes take the span of the replaced range.
  void replace_ranges(const std::vector<std::pair<size_t, size_t>>& ranges,
                      std::string_view content);
  // Removes leading/trailing whitespace characters.
  void strip(bool left, bool right);

 private:
  void materialize();
  Span char_span(size_t b, size_t e) const;

  std::string s_;
  std::vector<Span> align_;  // per byte of s_; empty means identity from base_
  uint32_t base_ = 0;
};

template <typename F>
void NormalizedString::map_chars(F&& f) {
  std::string out;
  out.reserve(s_.size() + 8);
  std::vector<Span> al;
  al.reserve(s_.size() + 8);
  bool changed = false;
  size_t i = 0, n = s_.size();
  while (i < n) {
    int len;
    char32_t c = decode_utf8(s_.data(), n, i, &len);
    size_t before = out.size();
    f(c, &out);
    size_t added = out.size() - before;
    if (!changed &&
        (added != static_cast<size_t>(len) || out.compare(before, added, s_, i, len) != 0))
      changed = true;
    Span sp = char_span(i, i + len);
    for (size_t k = 0; k < added; ++k) al.push_back(sp);
    i += len;
  }
  if (!changed) return;
  s_ = std::move(out);
  align_ = std::move(al);
}

}  // namespace deepfuse::tok
