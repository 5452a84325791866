// E-mail addresses and IPv4 / IPv6 addresses.
#include <cstring>

#include "safety/pii_scan.h"

namespace deepfuse::pii_detail {

namespace {

constexpr size_t kMaxLocal = 64;    // RFC 5321 local-part limit
constexpr size_t kMaxDomain = 253;  // RFC 1035 name limit

bool is_local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
bool is_domain_char(char c) {
  return is_alnum(c) || c == '.' || c == '-';
}

}  // namespace

void scan_emails(const ScanText& t, std::vector<Candidate>* out) {
  const size_t n = t.size();
  for (size_t at = 0; at < n; ++at) {
    if (t.at(at) != '@') continue;
    // Local part: walk left over local characters, at most kMaxLocal + 1 of them.
    size_t lb = at;
    while (lb > 0 && at - lb <= kMaxLocal && is_local_char(t.at(lb - 1))) --lb;
    if (at - lb > kMaxLocal) continue;
    while (lb < at && t.at(lb) == '.') ++lb;  // "...john@x" -> "john@x"
    if (lb == at || t.at(at - 1) == '.') continue;
    bool bad = false;
    for (size_t k = lb; k + 1 < at && !bad; ++k) bad = t.at(k) == '.' && t.at(k + 1) == '.';
    if (bad) continue;
    // Domain: walk right over domain characters, then drop a trailing '.' or '-'.
    size_t de = at + 1;
    while (de < n && de - at <= kMaxDomain + 1 && is_domain_char(t.at(de))) ++de;
    if (de - at - 1 > kMaxDomain) continue;
    while (de > at + 1 && (t.at(de - 1) == '.' || t.at(de - 1) == '-')) --de;
    // Labels: 1-63 chars, no leading/trailing '-', 2+ labels, alphabetic TLD of 2+ letters.
    size_t labels = 0, label_start = at + 1;
    bool ok = de > at + 1;
    for (size_t k = at + 1; k <= de && ok; ++k) {
      if (k == de || t.at(k) == '.') {
        size_t len = k - label_start;
        ok = len >= 1 && len <= 63 && t.at(label_start) != '-' && t.at(k - 1) != '-';
        ++labels;
        if (k == de && ok) {
          ok = len >= 2;
          for (size_t q = label_start; q < k && ok; ++q) ok = is_alpha(t.at(q));
        }
        label_start = k + 1;
      }
    }
    if (!ok || labels < 2) continue;
    if (t.at(de) == '@') continue;  // "a@b.com@c": not one address
    out->push_back({PiiType::kEmail, lb, de});
  }
}

namespace {

// True when the text just before `i` (skipping spaces and a colon) ends with a word that
// announces a version number ("version 1.2.3.4", "v 10.0.0.1", "版本 1.2.3.4"). Bounded
// look-behind of at most 24 bytes.
bool after_version_word(const ScanText& t, size_t i) {
  size_t p = i;
  for (int k = 0; k < 3 && p > 0; ++k) {
    char c = t.at(p - 1);
    if (c == ' ' || c == ':') {
      --p;
    } else {
      break;
    }
  }
  // "：" (fullwidth colon, EF BC 9A).
  if (p >= 3 && t.at(p - 1) == '\x9A' && t.at(p - 2) == '\xBC' && t.at(p - 3) == '\xEF') p -= 3;
  static const char* kWords[] = {"version",
                                 "ver",
                                 "ver.",
                                 "v",
                                 "v.",
                                 "release",
                                 "build",
                                 "firmware",
                                 "kernel",
                                 "\xE7\x89\x88\xE6\x9C\xAC" /* 版本 */,
                                 "\xE7\x89\x88\xE6\x9C\xAC\xE5\x8F\xB7" /* 版本号 */,
                                 "\xE5\x9B\xBA\xE4\xBB\xB6" /* 固件 */};
  for (const char* w : kWords) {
    size_t len = std::strlen(w);
    if (p < len) continue;
    bool match = true;
    for (size_t k = 0; k < len && match; ++k) match = to_lower(t.at(p - len + k)) == w[k];
    if (match && (p == len || !is_alpha(t.at(p - len - 1)))) return true;
  }
  return false;
}

}  // namespace

void scan_ipv4(const ScanText& t, std::vector<Candidate>* out) {
  const size_t n = t.size();
  for (size_t i = 0; i < n; ++i) {
    if (!is_digit(t.at(i)) || is_digit(t.before(i))) continue;
    char prev = t.before(i);
    if (is_alpha(prev) || prev == '.' || prev == '-' || prev == '_') continue;
    size_t p = i;
    bool ok = true;
    for (int octet = 0; octet < 4 && ok; ++octet) {
      if (octet > 0) {
        ok = t.at(p) == '.';
        ++p;
      }
      int v = 0, k = 0;
      while (ok && k < 4 && is_digit(t.at(p + k))) {
        v = v * 10 + (t.at(p + k) - '0');
        ++k;
      }
      ok = ok && k >= 1 && k <= 3 && v <= 255;
      p += k;
    }
    if (!ok) continue;
    // "1.2.3.4.5" or "1.2.3.4a" are not addresses; ":8080" and "/24" may follow.
    char next = t.at(p);
    if (is_alnum(next) || next == '_' || ((next == '.' || next == '-') && is_digit(t.at(p + 1))))
      continue;
    if (after_version_word(t, i)) continue;
    out->push_back({PiiType::kIp, i, p});
  }
}

namespace {

// Validates [b, e) as an IPv6 address (RFC 4291 text forms, optional trailing IPv4).
bool ipv6_valid(const ScanText& t, size_t b, size_t e) {
  if (e - b < 2 || e - b > 45) return false;
  int groups = 0;
  bool compressed = false, has_digit = false;
  size_t p = b;
  if (t.at(p) == ':') {
    if (t.at(p + 1) != ':') return false;
    compressed = true;
    p += 2;
    if (p == e) return false;  // "::" alone
  }
  while (p < e) {
    // One group: hex digits, or a dotted IPv4 tail.
    size_t q = p;
    while (q < e && is_hex(t.at(q))) ++q;
    if (q < e && t.at(q) == '.') {
      // IPv4 tail: must be the last thing and take the place of two groups.
      int octets = 0;
      size_t r = p;
      while (r < e) {
        int v = 0, k = 0;
        while (r + k < e && is_digit(t.at(r + k)) && k < 4) {
          v = v * 10 + (t.at(r + k) - '0');
          ++k;
        }
        if (k == 0 || k > 3 || v > 255) return false;
        ++octets;
        r += k;
        if (r < e) {
          if (t.at(r) != '.') return false;
          ++r;
          if (r == e) return false;
        }
      }
      if (octets != 4) return false;
      groups += 2;
      has_digit = true;
      p = e;
      break;
    }
    size_t len = q - p;
    if (len == 0 || len > 4) return false;
    for (size_t k = p; k < q; ++k) has_digit |= is_digit(t.at(k));
    ++groups;
    p = q;
    if (p == e) break;
    if (t.at(p) != ':') return false;
    ++p;
    if (t.at(p) == ':') {
      if (compressed) return false;  // "::" at most once
      compressed = true;
      ++p;
      if (p == e) break;  // trailing "::"
    } else if (p == e) {
      return false;  // trailing single ':'
    }
  }
  if (!has_digit) return false;  // "dead::beef", "abc::def" read as code, not addresses
  return compressed ? groups <= 7 && groups >= 1 : groups == 8;
}

bool is_v6_char(char c) {
  return is_hex(c) || c == ':' || c == '.';
}

}  // namespace

void scan_ipv6(const ScanText& t, std::vector<Candidate>* out) {
  const size_t n = t.size();
  size_t i = 0;
  while (i < n) {
    char c = t.at(i);
    if (!is_v6_char(c)) {
      ++i;
      continue;
    }
    // Maximal run of [0-9A-Fa-f:.]; a candidate only starts where the run does, and only when
    // no letter or digit is glued to its left.
    size_t b = i;
    size_t e = i;
    while (e < n && is_v6_char(t.at(e))) ++e;
    i = e;
    // A label colon glued to the address ("host:fe80::1", "地址：fe80::1" after fullwidth
    // folding) is not part of it: drop one leading ':' unless it starts a "::".
    if (e - b >= 2 && t.at(b) == ':' && (t.at(b + 1) != ':' || t.at(b + 2) == ':')) {
      ++b;
    } else if (is_alnum(t.before(b)) || t.before(b) == '_') {
      continue;
    }
    // Sentence punctuation after an address: "... fe80::1." / "... ::1:".
    while (e > b && t.at(e - 1) == '.') --e;
    if (e - b >= 2 && t.at(e - 1) == ':' && t.at(e - 2) != ':') --e;
    if (b < e && t.at(b) == '.') continue;
    char next = t.at(e);
    if (is_alnum(next) || next == '_') continue;
    bool has_colon = false;
    for (size_t k = b; k < e && k - b <= 45 && !has_colon; ++k) has_colon = t.at(k) == ':';
    if (!has_colon || !ipv6_valid(t, b, e)) continue;
    out->push_back({PiiType::kIp, b, e});
  }
}

}  // namespace deepfuse::pii_detail
