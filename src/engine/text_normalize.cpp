#include "engine/text_normalize.h"

#include <utf8proc.h>

#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

namespace deepfuse::engine {
namespace {

// Byte length of the UTF-8 sequence starting at s[i] when complete and valid, else 0.
size_t char_len(std::string_view s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  return n;
}

std::string normalize_char(std::string_view ch) {
  utf8proc_uint8_t* out = nullptr;
  const auto opts = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                   UTF8PROC_COMPAT | UTF8PROC_CASEFOLD);
  const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(ch.data()),
                                          static_cast<utf8proc_ssize_t>(ch.size()), &out, opts);
  if (n < 0) {
    std::free(out);
    return std::string(ch);
  }
  std::string r(reinterpret_cast<char*>(out), static_cast<size_t>(n));
  std::free(out);
  return r;
}

// Most text is ASCII or a few thousand distinct characters: cache per character.
const std::string& normalized_cached(std::string_view ch) {
  static std::shared_mutex mu;
  static std::unordered_map<std::string, std::string> cache;
  {
    std::shared_lock lock(mu);
    auto it = cache.find(std::string(ch));
    if (it != cache.end()) return it->second;
  }
  std::string v = normalize_char(ch);
  std::unique_lock lock(mu);
  if (cache.size() > 200000) cache.clear();  // bound memory on hostile input
  return cache.emplace(std::string(ch), std::move(v)).first->second;
}

}  // namespace

size_t complete_utf8_prefix(std::string_view s) {
  // Look back at most 3 bytes for a lead byte whose sequence runs past the end.
  for (size_t back = 1; back <= 3 && back <= s.size(); ++back) {
    const unsigned char c = static_cast<unsigned char>(s[s.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = c < 0x80         ? 1
                        : (c >> 5) == 6  ? 2
                        : (c >> 4) == 14 ? 3
                        : (c >> 3) == 30 ? 4
                                         : 0;
    if (need > back) return s.size() - back;
    return s.size();
  }
  return s.size();
}

std::string normalize_for_match(std::string_view text, std::vector<size_t>* src) {
  std::string out;
  out.reserve(text.size());
  if (src) src->clear();
  for (size_t i = 0; i < text.size();) {
    const size_t n = char_len(text, i);
    if (n == 0) {  // invalid byte: kept as is
      out.push_back(text[i]);
      if (src) src->push_back(i);
      ++i;
      continue;
    }
    if (n == 1) {
      const char c = text[i];
      // ASCII: lower case; every whitespace control becomes a plain space.
      const bool ws = c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
      out.push_back(ws ? ' ' : (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c));
      if (src) src->push_back(i);
    } else {
      const std::string& m = normalized_cached(text.substr(i, n));
      out += m;
      if (src) src->insert(src->end(), m.size(), i);
    }
    i += n;
  }
  if (src) src->push_back(text.size());
  return out;
}

}  // namespace deepfuse::engine
