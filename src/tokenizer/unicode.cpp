#include "tokenizer/unicode.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "core/error.h"

namespace deepfuse::tok {

void append_utf8(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// Length of the well-formed sequence starting at s[i], or -(length of the maximal ill-formed
// subpart) when it is not well-formed (Unicode Table 3-7 boundaries).
static int utf8_seq(const uint8_t* s, size_t n, size_t i) {
  uint8_t b = s[i];
  if (b < 0x80) return 1;
  int need;
  uint8_t lo = 0x80, hi = 0xBF;
  if (b >= 0xC2 && b <= 0xDF) {
    need = 1;
  } else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
  } else {
    return -1;
  }
  for (int k = 1; k <= need; ++k) {
    if (i + k >= n) return -k;
    uint8_t c = s[i + k];
    uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (c < l || c > h) return -k;
  }
  return need + 1;
}

bool is_valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  size_t i = 0, n = s.size();
  while (i < n) {
    if (p[i] < 0x80) {
      ++i;
      continue;
    }
    int l = utf8_seq(p, n, i);
    if (l < 0) return false;
    i += l;
  }
  return true;
}

std::string sanitize_utf8(std::string_view s) {
  if (is_valid_utf8(s)) return std::string(s);
  return sanitize_utf8(s, nullptr);
}

std::string sanitize_utf8(std::string_view s, std::vector<std::pair<uint32_t, uint32_t>>* spans) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  std::string out;
  out.reserve(s.size() + 8);
  if (spans) {
    spans->clear();
    spans->reserve(s.size() + 8);
  }
  size_t i = 0, n = s.size();
  while (i < n) {
    int l = utf8_seq(p, n, i);
    if (l > 0) {
      out.append(s.data() + i, l);
      if (spans)
        for (int k = 0; k < l; ++k)
          spans->emplace_back(static_cast<uint32_t>(i + k), static_cast<uint32_t>(i + k + 1));
      i += l;
    } else {
      out += "\xEF\xBF\xBD";
      if (spans)
        spans->insert(
            spans->end(), 3,
            {static_cast<uint32_t>(i), static_cast<uint32_t>(i + static_cast<size_t>(-l))});
      i += -l;
    }
  }
  return out;
}

size_t utf8_unit_len(std::string_view s, size_t i) {
  int l = utf8_seq(reinterpret_cast<const uint8_t*>(s.data()), s.size(), i);
  return static_cast<size_t>(l > 0 ? l : -l);
}

bool is_whitespace(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

static utf8proc_category_t cat(char32_t c) {
  return static_cast<utf8proc_category_t>(utf8proc_category(static_cast<utf8proc_int32_t>(c)));
}

bool is_numeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  auto k = cat(c);
  return k == UTF8PROC_CATEGORY_ND || k == UTF8PROC_CATEGORY_NL || k == UTF8PROC_CATEGORY_NO;
}

bool is_alphabetic(char32_t c) {
  if (c < 0x80) return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
  auto k = cat(c);
  return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
         k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO || k == UTF8PROC_CATEGORY_NL;
}

bool is_bert_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  if (c < 0x80) return false;
  auto k = cat(c);
  return k >= UTF8PROC_CATEGORY_PC && k <= UTF8PROC_CATEGORY_PO;
}

bool is_bert_whitespace(char32_t c) {
  // HF's BertNormalizer uses char::is_whitespace (U+2028, U+2029 too, not only Zs); the C0/C1
  // controls among White_Space (\v, \f, U+0085) are removed as controls before this test.
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || is_whitespace(c);
}

bool is_bert_control(char32_t c) {
  if (c == '\t' || c == '\n' || c == '\r') return false;
  auto k = cat(c);
  return k == UTF8PROC_CATEGORY_CC || k == UTF8PROC_CATEGORY_CF || k == UTF8PROC_CATEGORY_CN ||
         k == UTF8PROC_CATEGORY_CO || k == UTF8PROC_CATEGORY_CS;
}

bool is_chinese_char(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_nonspacing_mark(char32_t c) {
  return c >= 0x300 && cat(c) == UTF8PROC_CATEGORY_MN;
}

bool is_combining_mark(char32_t c) {
  // unicode-normalization's is_combining_mark (HF StripAccents): General_Category=Mark, so
  // spacing (Mc, e.g. Indic vowel signs) and enclosing (Me) marks are stripped too.
  if (c < 0x300) return false;
  auto k = cat(c);
  return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

void append_lowercase(std::string* out, char32_t c) {
  if (c < 0x80) {
    out->push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    return;
  }
  if (c == 0x130) {  // İ -> i + combining dot above (Rust's full lowercase mapping)
    out->push_back('i');
    append_utf8(out, 0x307);
    return;
  }
  append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(c))));
}

int combining_class(char32_t c) {
  if (c < 0x300) return 0;
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(c))->combining_class;
}

std::string normalize_utf8(std::string_view s, NormForm form) {
  if (s.empty()) return {};
  bool ascii = true;
  for (unsigned char ch : s)
    if (ch >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return std::string(s);
  int opts = UTF8PROC_STABLE;
  switch (form) {
    case NormForm::NFC:
      opts |= UTF8PROC_COMPOSE;
      break;
    case NormForm::NFD:
      opts |= UTF8PROC_DECOMPOSE;
      break;
    case NormForm::NFKC:
      opts |= UTF8PROC_COMPOSE | UTF8PROC_COMPAT;
      break;
    case NormForm::NFKD:
      opts |= UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT;
      break;
  }
  utf8proc_uint8_t* out = nullptr;
  utf8proc_ssize_t r = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(s.data()),
                                    static_cast<utf8proc_ssize_t>(s.size()), &out,
                                    static_cast<utf8proc_option_t>(opts));
  if (r < 0)
    throw InternalError(std::string("utf8proc normalization failed: ") + utf8proc_errmsg(r));
  std::string res(reinterpret_cast<char*>(out), static_cast<size_t>(r));
  std::free(out);
  return res;
}

// Canonical composition of a starter and a following character, or 0 (utf8proc's table, which
// already leaves out the composition exclusions; Hangul LV / LVT included).
static char32_t compose_pair(char32_t a, char32_t b) {
  utf8proc_int32_t buf[2] = {static_cast<utf8proc_int32_t>(a), static_cast<utf8proc_int32_t>(b)};
  utf8proc_ssize_t r = utf8proc_normalize_utf32(
      buf, 2, static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  return r == 1 ? static_cast<char32_t>(buf[0]) : 0;
}

void normalize_with_changes(const char32_t* in, size_t n, NormForm form,
                            std::vector<CharChange>* out) {
  const bool compat = form == NormForm::NFKC || form == NormForm::NFKD;
  const bool compose = form == NormForm::NFC || form == NormForm::NFKC;
  const int opts = UTF8PROC_DECOMPOSE | (compat ? UTF8PROC_COMPAT : 0);
  std::vector<CharChange>& v = *out;
  v.clear();
  utf8proc_int32_t buf[32];  // the longest full decomposition is 18 (U+FDFA)
  for (size_t i = 0; i < n; ++i) {
    int boundclass = 0;
    utf8proc_ssize_t k =
        in[i] < 0x80 ? 0
                     : utf8proc_decompose_char(static_cast<utf8proc_int32_t>(in[i]), buf, 32,
                                               static_cast<utf8proc_option_t>(opts), &boundclass);
    if (k <= 0 || k > 32) {
      v.push_back({in[i], 0});
      continue;
    }
    for (utf8proc_ssize_t j = 0; j < k; ++j)
      v.push_back({static_cast<char32_t>(buf[j]), j == 0 ? 0 : 1});
  }
  // Canonical ordering: each run of non-starters sorted (stably) by combining class.
  auto ccc = [](const CharChange& x) { return combining_class(x.c); };
  for (size_t i = 0; i < v.size();) {
    if (ccc(v[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < v.size() && ccc(v[j]) != 0) ++j;
    if (j - i > 1)
      std::stable_sort(v.begin() + static_cast<std::ptrdiff_t>(i),
                       v.begin() + static_cast<std::ptrdiff_t>(j),
                       [&](const CharChange& a, const CharChange& b) { return ccc(a) < ccc(b); });
    i = j;
  }
  if (!compose) return;
  // Canonical composition: C joins the last starter S unless a character between them has
  // class 0 or >= class(C); after the ordering above that is the last kept character.
  size_t w = 0;
  ptrdiff_t s = -1;
  int last_cc = 0;
  for (size_t r = 0; r < v.size(); ++r) {
    CharChange d = v[r];
    int cc = ccc(d);
    if (s >= 0 && (w == static_cast<size_t>(s) + 1 || last_cc < cc)) {
      if (char32_t p = compose_pair(v[s].c, d.c)) {
        v[s].c = p;
        v[s].change += d.change - 1;
        continue;
      }
    }
    if (cc == 0) s = static_cast<ptrdiff_t>(w);
    last_cc = cc;
    v[w++] = d;
  }
  v.resize(w);
}

}  // namespace deepfuse::tok
