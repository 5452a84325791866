#include "retrieval/chunker.h"

#include <algorithm>
#include <cstdint>

namespace deepfuse::retrieval {
namespace {

struct Tok {
  size_t start, end;
  bool sentence_end;  // a sentence ends after this token
};

// Decodes the code point at s[i]. Invalid UTF-8 (a stray continuation byte, a truncated or
// overlong sequence, a surrogate) decodes as U+FFFD of length 1, so a stray 0xA0 byte is text
// to index, not a no-break space.
uint32_t decode(std::string_view s, size_t i, size_t* len) {
  constexpr uint32_t kInvalid = 0xFFFD;
  *len = 1;
  const auto c = static_cast<uint8_t>(s[i]);
  if (c < 0x80) return c;
  const int n = (c >= 0xC2 && c <= 0xDF)   ? 2
                : (c >> 4) == 0xE          ? 3
                : (c >= 0xF0 && c <= 0xF4) ? 4
                                           : 0;
  if (n == 0 || i + static_cast<size_t>(n) > s.size()) return kInvalid;
  uint32_t cp = c & (0x7F >> n);
  for (int k = 1; k < n; ++k) {
    const auto b = static_cast<uint8_t>(s[i + static_cast<size_t>(k)]);
    if ((b & 0xC0) != 0x80) return kInvalid;
    cp = (cp << 6) | (b & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return kInvalid;
  *len = static_cast<size_t>(n);
  return cp;
}

bool is_space(uint32_t cp) {
  return cp == ' ' || (cp >= 9 && cp <= 13) || cp == 0x3000 || cp == 0xA0;
}
bool is_cjk(uint32_t cp) {
  return (cp >= 0x2E80 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0xFF00 && cp <= 0xFFEF) ||
         (cp >= 0x20000 && cp <= 0x3134F);
}
bool is_cjk_terminator(uint32_t cp) {
  return cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF1B || cp == 0x2026;
}

std::vector<Tok> tokenize(std::string_view s) {
  std::vector<Tok> toks;
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    uint32_t cp = decode(s, i, &len);
    if (is_space(cp)) {
      // A blank line ends the sentence before it.
      if (cp == '\n' && !toks.empty()) {
        size_t j = i + 1;
        while (j < s.size() && (s[j] == ' ' || s[j] == '\t' || s[j] == '\r')) ++j;
        if (j < s.size() && s[j] == '\n') toks.back().sentence_end = true;
      }
      i += len;
      continue;
    }
    if (is_cjk(cp)) {
      bool end = is_cjk_terminator(cp);
      // Closing quotes/brackets after a terminator stay in the sentence.
      size_t j = i + len;
      toks.push_back({i, j, end});
      if (end && toks.size() >= 2 && !toks[toks.size() - 2].sentence_end) {
        // A terminator joins the token before it, so it never starts a chunk.
        toks[toks.size() - 2].end = j;
        toks[toks.size() - 2].sentence_end = true;
        toks.pop_back();
      }
      i = j;
      continue;
    }
    size_t start = i;
    uint32_t last = cp;
    while (i < s.size()) {
      size_t l;
      uint32_t c = decode(s, i, &l);
      if (is_space(c) || is_cjk(c)) break;
      last = c;
      i += l;
    }
    // English sentence end: the word ends in . ! ? (optionally followed by a quote/bracket)
    // and white space or the end of the text follows.
    bool end = false;
    size_t k = i;
    while (k > start && (s[k - 1] == '"' || s[k - 1] == '\'' || s[k - 1] == ')')) --k;
    if (k > start && (s[k - 1] == '.' || s[k - 1] == '!' || s[k - 1] == '?')) end = true;
    (void)last;
    toks.push_back({start, i, end});
  }
  return toks;
}

}  // namespace

std::vector<ChunkSpan> chunk_text(std::string_view text, int budget, int overlap) {
  std::vector<ChunkSpan> out;
  std::vector<Tok> toks = tokenize(text);
  if (toks.empty()) return out;
  if (budget <= 0 || static_cast<int64_t>(toks.size()) <= budget) {
    out.push_back({toks.front().start, toks.back().end});
    return out;
  }
  overlap = std::clamp(overlap, 0, budget / 2);
  // Sentences as token ranges [b, e), long ones cut into budget-sized pieces.
  std::vector<std::pair<size_t, size_t>> sents;
  size_t b = 0;
  for (size_t t = 0; t < toks.size(); ++t) {
    bool cut =
        toks[t].sentence_end || t + 1 == toks.size() || static_cast<int>(t + 1 - b) >= budget;
    if (cut) {
      sents.emplace_back(b, t + 1);
      b = t + 1;
    }
  }
  size_t i = 0;  // first sentence of the current chunk
  while (i < sents.size()) {
    size_t j = i;  // one past the last sentence
    size_t tokens = 0;
    while (j < sents.size()) {
      size_t n = sents[j].second - sents[j].first;
      if (j > i && static_cast<int>(tokens + n) > budget) break;
      tokens += n;
      ++j;
    }
    out.push_back({toks[sents[i].first].start, toks[sents[j - 1].second - 1].end});
    if (j >= sents.size()) break;
    // Overlap: the next chunk starts with the trailing sentences of this one that fit in the
    // overlap budget, but always moves forward.
    size_t next = j;
    size_t shared = 0;
    while (next > i + 1) {
      size_t n = sents[next - 1].second - sents[next - 1].first;
      if (static_cast<int>(shared + n) > overlap) break;
      shared += n;
      --next;
    }
    i = next;
  }
  return out;
}

}  // namespace deepfuse::retrieval
