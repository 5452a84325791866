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
  // Explicit alignment: byte i of `text` came from original bytes align[i] (one span per byte).
  NormalizedString(std::string text, std::vector<Span> align)
      : s_(std::move(text)),
        align_(std::move(align)),
        base_(align_.empty() ? 0 : align_[0].first) {}

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
  // Unicode normalization, with HF's alignment (see normalize_with_changes in unicode.h).
  void normalize(NormForm form);
  // Prepends `p`; its bytes take the span of the first character (HF behaviour).
  void prepend(std::string_view p);
  void append(std::string_view p);
  // Replaces every (non-overlapping, left to right) byte range in `ranges` by `content`; as in
  // HF's NormalizedString::replace, every new character takes the span of the last replaced
  // character (of the character before, for an empty range).
  void replace_ranges(const std::vector<std::pair<size_t, size_t>>& ranges,
                      std::string_view content);
  // Removes leading/trailing whitespace characters.
  void strip(bool left, bool right);

  // Builds the rewritten string left to right: bytes outside the rewritten ranges keep their
  // spans; a rewritten range follows HF's NormalizedString::transform_range, so offsets agree
  // with HF wherever characters are removed, replaced or inserted.
  class Rewriter {
   public:
    explicit Rewriter(const NormalizedString& src) : src_(src) {
      out_.reserve(src.size() + 8);
      al_.reserve(src.size() + 8);
    }
    // Replaces source bytes [b, e) (b at or after the previous range's end): `skip` characters
    // at b are dropped first, then each new character with change <= 0 takes the span of the
    // next source character and drops -change more, and one with change > 0 takes the span of
    // the source character before it (HF: alignments[idx - 1]).
    void rewrite(size_t b, size_t e, size_t skip, const CharChange* chars, size_t n);
    NormalizedString finish();

   private:
    void copy_to(size_t b);
    const NormalizedString& src_;
    std::string out_;
    std::vector<Span> al_;
    size_t pos_ = 0;
  };

 private:
  void materialize();
  Span char_span(size_t b, size_t e) const;
  // Span of the character that ends at byte idx (HF's alignments[idx - 1]); an empty span at
  // the start when idx is 0.
  Span span_before(size_t idx) const;
  // Normalizes source bytes [b, e) as one unit into `rw`; false when nothing changes there.
  bool normalize_run(size_t b, size_t e, NormForm form, Rewriter* rw, std::vector<char32_t>* cps,
                     std::vector<CharChange>* ch) const;

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
