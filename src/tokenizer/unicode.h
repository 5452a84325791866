// UTF-8 and Unicode character helpers used by the tokenizer pipeline (utf8proc underneath).
// Predicates follow the Rust definitions HF tokenizers uses (char::is_whitespace, ...).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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
bool is_bert_whitespace(char32_t c);   // \t \n \r space or Zs
bool is_bert_control(char32_t c);      // C* except \t \n \r
bool is_chinese_char(char32_t c);      // CJK ideograph blocks (BERT's definition)
bool is_combining_mark(char32_t c);    // Mn
// Appends the lowercase of c (Rust char::to_lowercase: may be two code points for U+0130).
void append_lowercase(std::string* out, char32_t c);
int combining_class(char32_t c);

enum class NormForm { NFC, NFD, NFKC, NFKD };
// Normalizes valid UTF-8 text.
std::string normalize_utf8(std::string_view s, NormForm form);

}  // namespace deepfuse::tok
