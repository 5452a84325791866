#include "tokenizer/normalized_string.h"

namespace deepfuse::tok {

Span NormalizedString::original_span(size_t b, size_t e) const {
  if (align_.empty()) return {base_ + static_cast<uint32_t>(b), base_ + static_cast<uint32_t>(e)};
  if (s_.empty()) return {base_, base_};
  if (b >= s_.size()) return {align_.back().second, align_.back().second};
  if (e <= b) return {align_[b].first, align_[b].first};
  return {align_[b].first, align_[e - 1].second};
}

Span NormalizedString::char_span(size_t b, size_t e) const {
  if (align_.empty()) return {base_ + static_cast<uint32_t>(b), base_ + static_cast<uint32_t>(e)};
  return {align_[b].first, align_[e - 1].second};
}

NormalizedString NormalizedString::slice(size_t b, size_t e) const {
  NormalizedString r;
  r.s_ = s_.substr(b, e - b);
  if (align_.empty()) {
    r.base_ = base_ + static_cast<uint32_t>(b);
  } else {
    r.align_.assign(align_.begin() + b, align_.begin() + e);
    r.base_ = b < align_.size() ? align_[b].first : (align_.empty() ? base_ : align_.back().second);
  }
  return r;
}

void NormalizedString::materialize() {
  if (!align_.empty() || s_.empty()) return;
  align_.resize(s_.size());
  for (size_t i = 0; i < s_.size(); ++i)
    align_[i] = {base_ + static_cast<uint32_t>(i), base_ + static_cast<uint32_t>(i + 1)};
}

void NormalizedString::normalize(NormForm form) {
  bool ascii = true;
  for (unsigned char c : s_)
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return;
  std::string whole = normalize_utf8(s_, form);
  if (whole == s_) return;
  // Segment at starters (combining class 0, not a Hangul vowel/trailing jamo) so each segment
  // normalizes independently and keeps its own span.
  std::string out;
  std::vector<Span> al;
  size_t n = s_.size(), seg = 0, i = 0;
  auto flush = [&](size_t b, size_t e) {
    if (b >= e) return;
    std::string part = normalize_utf8(std::string_view(s_).substr(b, e - b), form);
    // Output character j takes the span of input character min(j, n_in - 1): what HF's
    // alignment-tracking normalization gives for compositions (e + U+0301 -> é keeps e's span)
    // and decompositions (ﬁ -> f i, both with ﬁ's span).
    std::vector<Span> in_spans;
    for (size_t k = b; k < e;) {
      int il = utf8_len_of_lead(static_cast<uint8_t>(s_[k]));
      in_spans.push_back(char_span(k, std::min(e, k + il)));
      k += il;
    }
    size_t op = 0, j = 0;
    while (op < part.size()) {
      int ol = utf8_len_of_lead(static_cast<uint8_t>(part[op]));
      Span sp = in_spans[std::min(j, in_spans.size() - 1)];
      for (int k = 0; k < ol; ++k) al.push_back(sp);
      op += ol;
      ++j;
    }
    out += part;
  };
  while (i < n) {
    int len;
    char32_t c = decode_utf8(s_.data(), n, i, &len);
    bool starter = combining_class(c) == 0 && !(c >= 0x1161 && c <= 0x11C2);
    if (starter && i > seg) {
      flush(seg, i);
      seg = i;
    }
    i += len;
  }
  flush(seg, n);
  if (out != whole) {
    // A composition across segments (rare): keep the exact text, coarse spans.
    Span sp = original_span(0, n);
    out = whole;
    al.assign(out.size(), sp);
  }
  s_ = std::move(out);
  align_ = std::move(al);
}

void NormalizedString::prepend(std::string_view p) {
  if (p.empty()) return;
  Span sp;
  if (s_.empty()) {
    sp = {base_, base_};
  } else {
    int len = utf8_len_of_lead(static_cast<uint8_t>(s_[0]));
    sp = char_span(0, std::min<size_t>(len, s_.size()));
  }
  materialize();
  s_.insert(0, p);
  align_.insert(align_.begin(), p.size(), sp);
}

void NormalizedString::append(std::string_view p) {
  if (p.empty()) return;
  Span sp = s_.empty() ? Span{base_, base_} : original_span(s_.size() - 1, s_.size());
  materialize();
  s_.append(p);
  align_.insert(align_.end(), p.size(), sp);
}

void NormalizedString::replace_ranges(const std::vector<std::pair<size_t, size_t>>& ranges,
                                      std::string_view content) {
  if (ranges.empty()) return;
  // In-place fast path: same length replacement keeps identity-style per byte spans.
  std::string out;
  std::vector<Span> al;
  out.reserve(s_.size());
  al.reserve(s_.size());
  size_t pos = 0;
  for (auto [b, e] : ranges) {
    for (size_t k = pos; k < b; ++k) {
      out.push_back(s_[k]);
      al.push_back(char_span(k, k + 1));
    }
    Span sp = e > b ? char_span(b, e) : original_span(b, b);
    if (content.size() == e - b && e > b) {
      // Keep per-character spans when lengths match (e.g. ' ' -> '▁' is not this case).
      for (size_t k = 0; k < content.size(); ++k) al.push_back(char_span(b + k, b + k + 1));
    } else {
      for (size_t k = 0; k < content.size(); ++k) al.push_back(sp);
    }
    out.append(content);
    pos = e;
  }
  for (size_t k = pos; k < s_.size(); ++k) {
    out.push_back(s_[k]);
    al.push_back(char_span(k, k + 1));
  }
  s_ = std::move(out);
  align_ = std::move(al);
}

void NormalizedString::strip(bool left, bool right) {
  size_t b = 0, e = s_.size();
  if (left) {
    while (b < e) {
      int len;
      char32_t c = decode_utf8(s_.data(), e, b, &len);
      if (!is_whitespace(c)) break;
      b += len;
    }
  }
  if (right) {
    while (e > b) {
      size_t k = e - 1;
      while (k > b && (static_cast<uint8_t>(s_[k]) & 0xC0) == 0x80) --k;
      int len;
      char32_t c = decode_utf8(s_.data(), e, k, &len);
      if (!is_whitespace(c)) break;
      e = k;
    }
  }
  if (b == 0 && e == s_.size()) return;
  *this = slice(b, e);
}

}  // namespace deepfuse::tok
