// UTF-8 and Unicode character helpers used by the tokenizer pipeline (utf8proc underneath).
// Predicates follow the Rust definitions HF tokenizers uses (char::is_whitespace, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace deepfuse::tok {

// Decodes the code point at s[i] (s valid UTF-8); sets *len to its byte length.
inline char32_t decode_utf8(const char* s, size_t n, size_t i, int* len) {
  auto b = static_cast<uint8_t>(s[i]);
  if (b < 0x80) {
    *len = 1;
    return b;
  }
  if ((b >> 5) == 6 && i + 1 < n) {
    *len = 2;
    return ((b & 0x1F) << 6) | (static_cast<uint8_t>(s[i + 1]) & 0x3F);
  }
  if ((b >> 4) == 14 && i + 2 < n) {
    *len = 3;
    return ((b & 0x0F) << 12) | ((static_cast<uint8_t>(s[i + 1]) & 0x3F) << 6) |
           (static_cast<uint8_t>(s[i + 2]) & 0x3F);
  }
  if ((b >> 3) == 30 && i + 3 < n) {
    *len = 4;
    return ((b & 0x07) << 18) | ((static_cast<uint8_t>(s[i + 1]) & 0x3F) << 12) |
           ((static_cast<uint8_t>(s[i + 2]) & 0x3F) << 6) | (static_cast<uint8_t>(s[i + 3]) & 0x3F);
  }
  *len = 1;
  return 0xFFFD;
}

inline int utf8_len_of_lead(uint8_t b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 6) return 2;
  if ((b >> 4) == 14) return 3;
  if ((b >> 3) == 30) return 4;
  return 1;
}

void append_utf8(std::string* out, char32_t cp);

// True when `s` is well-formed UTF-8.
bool is_valid_utf8(std::string_view s);
// Replaces each maximal ill-formed subpart with U+FFFD (the WHATWG / Python errors='replace'
// rule, which is also what Node's Buffer.toString and a JS TextDecoder do).
std::string sanitize_utf8(std::string_view s);
// Same, and `spans` receives, per byte of the result, the byte span [begin, end) of `s` it came
// from: a U+FFFD's three bytes all map to the whole ill-formed subpart it replaces, so offsets
// computed on the sanitized text can be reported in the caller's bytes.
std::string sanitize_utf8(std::string_view s, std::vector<std::pair<uint32_t, uint32_t>>* spans);
// Length of the character unit starting at byte i of `s`: the well-formed sequence's length, or
// the length of the maximal ill-formed subpart (which sanitize_utf8 turns into one U+FFFD).
size_t utf8_unit_len(std::string_view s, size_t i);
// Lossy decode of raw bytes as Rust's String::from_utf8_lossy does (same maximal-subpart rule).
inline std::string from_utf8_lossy(std::string_view s) {
  return sanitize_utf8(s);
}

bool is_whitespace(char32_t c);  // Rust char::is_whitespace (White_Space)
bool is_numeric(char32_t c);     // Rust char::is_numeric (Nd | Nl | No)
bool is_alphabetic(char32_t c);  // approx. Alphabetic: L* | Nl | Other_Alphabetic marks (Mn/Mc)
inline bool is_alphanumeric(char32_t c) {
  return is_alphabetic(c) || is_numeric(c);
}
bool is_bert_punctuation(char32_t c);  // ASCII symbols or Unicode P*
bool is_bert_whitespace(char32_t c);   // \t \n \r or White_Space (HF: char::is_whitespace)
bool is_bert_control(char32_t c);      // C* except \t \n \r
bool is_chinese_char(char32_t c);      // CJK ideograph blocks (BERT's definition)
bool is_combining_mark(char32_t c);    // General_Category Mark (Mn, Mc, Me)
bool is_nonspacing_mark(char32_t c);   // Mn (BertNormalizer's accent test)
// Appends the lowercase of c (Rust char::to_lowercase: may be two code points for U+0130).
void append_lowercase(std::string* out, char32_t c);
int combining_class(char32_t c);

enum class NormForm { NFC, NFD, NFKC, NFKD };
// Normalizes valid UTF-8 text.
std::string normalize_utf8(std::string_view s, NormForm form);

// A rewritten character and its HF alignment "change": <= 0 replaces the next original
// character (taking its span) and drops -change more; +1 is inserted (takes the span of the
// original character before it). See NormalizedString::Rewriter.
struct CharChange {
  char32_t c;
  int32_t change;
};
// Normalizes code points in[0, n) and gives each output character the change HF's
// unicode-normalization-alignments assigns: a decomposition's first character 0 and the others
// +1; canonical reordering moves characters with their changes; a composition adds the
// absorbed character's change minus one to its starter. (Alignment is positional, so after a
// reordering a character may take the span of a different input character; HF does the same.)
void normalize_with_changes(const char32_t* in, size_t n, NormForm form,
                            std::vector<CharChange>* out);

}  // namespace deepfuse::tok
