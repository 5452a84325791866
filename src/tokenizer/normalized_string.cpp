#include "tokenizer/normalized_string.h"

#include <algorithm>

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

Span NormalizedString::span_before(size_t idx) const {
  if (idx == 0 || s_.empty()) {
    uint32_t o = original_span(0, 0).first;
    return {o, o};
  }
  size_t k = idx - 1;
  while (k > 0 && (static_cast<uint8_t>(s_[k]) & 0xC0) == 0x80) --k;
  return char_span(k, idx);
}

void NormalizedString::Rewriter::copy_to(size_t b) {
  const std::string& s = src_.s_;
  for (size_t k = pos_; k < b; ++k) {
    out_.push_back(s[k]);
    al_.push_back(src_.char_span(k, k + 1));
  }
  pos_ = b;
}

void NormalizedString::Rewriter::rewrite(size_t b, size_t e, size_t skip, const CharChange* chars,
                                         size_t n) {
  copy_to(b);
  const std::string& s = src_.s_;
  auto char_len = [&](size_t i) {
    return std::min(e - i, static_cast<size_t>(utf8_len_of_lead(static_cast<uint8_t>(s[i]))));
  };
  size_t idx = b;
  for (size_t k = 0; k < skip && idx < e; ++k) idx += char_len(idx);
  for (size_t j = 0; j < n; ++j) {
    Span sp;
    if (chars[j].change > 0 || idx >= e) {
      // Inserted (or, defensively, nothing left to replace): the previous character's span.
      sp = src_.span_before(idx);
    } else {
      size_t l = char_len(idx);
      sp = src_.char_span(idx, idx + l);
      idx += l;
      for (int32_t r = 0; r < -chars[j].change && idx < e; ++r) idx += char_len(idx);
    }
    size_t before = out_.size();
    append_utf8(&out_, chars[j].c);
    al_.insert(al_.end(), out_.size() - before, sp);
  }
  pos_ = e;
}

NormalizedString NormalizedString::Rewriter::finish() {
  copy_to(src_.s_.size());
  NormalizedString r;
  r.s_ = std::move(out_);
  r.align_ = std::move(al_);
  r.base_ = src_.base_;
  if (r.s_.empty()) r.align_.clear();
  return r;
}

bool NormalizedString::normalize_run(size_t b, size_t e, NormForm form, Rewriter* rw,
                                     std::vector<char32_t>* cps,
                                     std::vector<CharChange>* ch) const {
  cps->clear();
  for (size_t i = b; i < e;) {
    int len;
    cps->push_back(decode_utf8(s_.data(), e, i, &len));
    i += len;
  }
  normalize_with_changes(cps->data(), cps->size(), form, ch);
  bool same = ch->size() == cps->size();
  for (size_t k = 0; same && k < ch->size(); ++k)
    same = (*ch)[k].c == (*cps)[k] && (*ch)[k].change == 0;
  if (same) return false;
  rw->rewrite(b, e, 0, ch->data(), ch->size());
  return true;
}

void NormalizedString::normalize(NormForm form) {
  bool ascii = true;
  for (unsigned char c : s_)
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return;
  const std::string whole = normalize_utf8(s_, form);
  if (whole == s_) return;
  // Normalize run by run, a run being a starter and the non-starters after it (Hangul vowel and
  // trailing jamo compose with the syllable before, so they do not start a run): runs that
  // normalize to themselves are copied with their spans.
  std::vector<char32_t> cps;
  std::vector<CharChange> ch;
  Rewriter rw(*this);
  const size_t n = s_.size();
  size_t run = 0;
  for (size_t i = 0; i < n;) {
    int len;
    char32_t c = decode_utf8(s_.data(), n, i, &len);
    bool starter = combining_class(c) == 0 && !(c >= 0x1161 && c <= 0x11C2);
    if (starter && i > run) {
      if (!(i - run == 1 && static_cast<uint8_t>(s_[run]) < 0x80))
        normalize_run(run, i, form, &rw, &cps, &ch);
      run = i;
    }
    i += static_cast<size_t>(len);
  }
  normalize_run(run, n, form, &rw, &cps, &ch);
  NormalizedString r = rw.finish();
  if (r.s_ != whole) {
    // Two starters composed across runs (e.g. U+0B47 U+0B3E): redo it as one run.
    Rewriter all(*this);
    normalize_run(0, n, form, &all, &cps, &ch);
    r = all.finish();
  }
  if (r.s_ != whole) {
    // Not expected (utf8proc and the run-wise algorithm disagree): keep utf8proc's text, with
    // the whole string's span on every byte.
    Span sp = original_span(0, n);
    r.s_ = whole;
    r.align_.assign(whole.size(), sp);
  }
  *this = std::move(r);
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
  // HF's replace: the matched characters are dropped, then the content is inserted (change +1
  // for every character), so it takes the span of the last matched character.
  std::vector<CharChange> chars;
  for (size_t i = 0; i < content.size();) {
    int len;
    chars.push_back({decode_utf8(content.data(), content.size(), i, &len), 1});
    i += static_cast<size_t>(len);
  }
  Rewriter rw(*this);
  for (auto [b, e] : ranges) {
    size_t count = 0;
    for (size_t k = b; k < e; ++k) count += (static_cast<uint8_t>(s_[k]) & 0xC0) != 0x80;
    rw.rewrite(b, e, count, chars.data(), chars.size());
  }
  *this = rw.finish();
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
