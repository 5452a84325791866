#include "tokenizer/precompiled_charsmap.h"

#include <utf8proc.h>

#include <cstring>

#include "core/error.h"

namespace deepfuse::tok {

std::string base64_decode(const std::string& in, const std::string& where) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=' || c == '\n' || c == '\r') continue;
    int v = val(c);
    if (v < 0) throw FormatError(where + ": invalid base64 character (expected standard base64)");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

std::shared_ptr<PrecompiledCharsmap> PrecompiledCharsmap::from_base64(const std::string& b64,
                                                                      const std::string& where) {
  return from_blob(base64_decode(b64, where), where);
}

std::shared_ptr<PrecompiledCharsmap> PrecompiledCharsmap::from_blob(const std::string& blob,
                                                                    const std::string& where) {
  if (blob.size() < 4) throw FormatError(where + ": charsmap blob shorter than its 4-byte header");
  uint32_t trie_size;
  std::memcpy(&trie_size, blob.data(), 4);  // little endian (x86)
  if (trie_size % 4 != 0 || trie_size > blob.size() - 4)
    throw FormatError(where + ": charsmap trie size " + std::to_string(trie_size) +
                      " does not fit the " + std::to_string(blob.size()) + "-byte blob");
  auto m = std::make_shared<PrecompiledCharsmap>();
  m->units_.resize(trie_size / 4);
  // An empty trie leaves units_ without storage: memcpy from/to null is undefined even for 0
  // bytes (fuzz_tokenizer_json finding under UBSan).
  if (trie_size > 0) std::memcpy(m->units_.data(), blob.data() + 4, trie_size);
  m->normalized_ = blob.substr(4 + trie_size);
  return m;
}

const char* PrecompiledCharsmap::transform(std::string_view chunk, size_t* out_len) const {
  if (units_.empty()) return nullptr;
  auto offset = [](uint32_t u) { return (u >> 10) << ((u & (1U << 9)) >> 6); };
  auto label = [](uint32_t u) { return u & ((1U << 31) | 0xFF); };
  auto has_leaf = [](uint32_t u) { return ((u >> 8) & 1) == 1; };
  auto value = [](uint32_t u) { return u & ((1U << 31) - 1); };
  size_t pos = 0;
  uint32_t unit = units_[0];
  pos ^= offset(unit);
  for (unsigned char c : chunk) {
    pos ^= c;
    if (pos >= units_.size()) return nullptr;
    unit = units_[pos];
    if (label(unit) != c) return nullptr;
    pos ^= offset(unit);
    if (pos >= units_.size()) return nullptr;
    if (has_leaf(unit)) {
      size_t idx = value(units_[pos]);
      if (idx >= normalized_.size()) return nullptr;
      size_t end = normalized_.find('\0', idx);
      if (end == std::string::npos) end = normalized_.size();
      *out_len = end - idx;
      return normalized_.data() + idx;
    }
  }
  return nullptr;
}

void PrecompiledCharsmap::apply(NormalizedString* s) const {
  const std::string& text = s->str();
  // Grapheme cluster boundaries.
  std::vector<size_t> bounds;
  size_t n = text.size(), i = 0;
  utf8proc_int32_t state = 0;
  char32_t prev = 0;
  while (i < n) {
    int len;
    char32_t c = decode_utf8(text.data(), n, i, &len);
    if (i == 0 || utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(prev),
                                                   static_cast<utf8proc_int32_t>(c), &state))
      bounds.push_back(i);
    prev = c;
    i += len;
  }
  bounds.push_back(n);
  // HF's Precompiled::normalize: one change list for the whole string, a replaced unit's new
  // characters taking change 0 up to the old character count, +1 beyond it, and a shrink
  // charged to the last change pushed so far (the previous unit's, when the new part is empty).
  std::vector<CharChange> changes;
  changes.reserve(n);
  bool modified = false;
  auto count_chars = [](std::string_view v) {
    size_t c = 0;
    for (unsigned char ch : v) c += (ch & 0xC0) != 0x80;
    return c;
  };
  auto replace = [&](std::string_view old_part, std::string_view new_part) {
    modified = true;
    const size_t first = changes.size();
    for (size_t k = 0; k < new_part.size();) {
      int cl;
      changes.push_back({decode_utf8(new_part.data(), new_part.size(), k, &cl), 0});
      k += static_cast<size_t>(cl);
    }
    const ptrdiff_t diff = static_cast<ptrdiff_t>(changes.size() - first) -
                           static_cast<ptrdiff_t>(count_chars(old_part));
    if (diff > 0) {
      for (size_t k = changes.size() - static_cast<size_t>(diff); k < changes.size(); ++k)
        changes[k].change = 1;
    } else if (diff < 0 && !changes.empty()) {
      changes.back().change += static_cast<int32_t>(diff);
    }
  };
  for (size_t g = 0; g + 1 < bounds.size(); ++g) {
    size_t b = bounds[g], e = bounds[g + 1];
    size_t len = 0;
    std::string_view grapheme = std::string_view(text).substr(b, e - b);
    if (e - b < 6) {
      if (const char* r = transform(grapheme, &len)) {
        replace(grapheme, std::string_view(r, len));
        continue;
      }
    }
    for (size_t k = b; k < e;) {
      int cl;
      char32_t c = decode_utf8(text.data(), e, k, &cl);
      std::string_view part = std::string_view(text).substr(k, static_cast<size_t>(cl));
      if (const char* r = transform(part, &len))
        replace(part, std::string_view(r, len));
      else
        changes.push_back({c, 0});
      k += static_cast<size_t>(cl);
    }
  }
  if (!modified) return;
  NormalizedString::Rewriter rw(*s);
  rw.rewrite(0, n, 0, changes.data(), changes.size());
  *s = rw.finish();
}

}  // namespace deepfuse::tok
