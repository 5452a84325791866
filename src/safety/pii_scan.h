// Internal to safety/: the scanner interface shared by the per-type scanners (pii_*.cpp).
//
// Every scanner reads the text only through ScanText::at(), which counts reads, so tests can
// prove the linear-time bound by counting work instead of timing. Scanners follow two rules
// that keep them linear:
//   1. a candidate may only start at a "boundary" position and never looks further than a
//      small constant (kMaxLookahead) past its start, or
//   2. it consumes a maximal run of characters of one class and resumes after the run, so each
//      byte belongs to at most one run per scanner.
#pragma once

#include <cstddef>
#include <string_view>
#include <vector>

#include "safety/pii.h"

namespace deepfuse::pii_detail {

class ScanText {
 public:
  explicit ScanText(std::string_view s) : s_(s) {}
  size_t size() const { return s_.size(); }
  // Byte at `i`, or '\0' when `i` is out of range (so lookahead needs no bounds checks).
  char at(size_t i) const {
    ++reads_;
    return i < s_.size() ? s_[i] : '\0';
  }
  // Byte before `i` ('\0' at the start).
  char before(size_t i) const { return i == 0 ? '\0' : at(i - 1); }
  size_t reads() const { return reads_; }

 private:
  std::string_view s_;
  mutable size_t reads_ = 0;
};

struct Candidate {
  PiiType type;
  size_t begin;
  size_t end;
};

inline bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_upper(char c) {
  return c >= 'A' && c <= 'Z';
}
inline bool is_lower(char c) {
  return c >= 'a' && c <= 'z';
}
inline bool is_alpha(char c) {
  return is_upper(c) || is_lower(c);
}
inline bool is_alnum(char c) {
  return is_digit(c) || is_alpha(c);
}
inline bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
inline char to_lower(char c) {
  return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}

// A digit group: a maximal run of ASCII digits [begin, end).
struct DigitGroup {
  size_t begin;
  size_t end;
  size_t len() const { return end - begin; }
};

// True when a number-like token may start at `i`: the previous byte is not an ASCII letter or
// digit, and not a '.', ',' or '-' glued to a preceding digit (so "1.4111..." or "12-4111..."
// do not yield a match starting in the middle of a longer number).
bool numeric_left_boundary(const ScanText& t, size_t i);
// True when a number-like token may end at `i` (exclusive): the next byte is not an ASCII letter
// or digit, and not a '.', ',', '-' or '/' followed by a digit.
bool numeric_right_boundary(const ScanText& t, size_t i);

// Scanners, one per type family. Each appends validated candidates to `out`.
void scan_cards(const ScanText& t, const PiiOptions& opts, std::vector<Candidate>* out);
void scan_cn_ids(const ScanText& t, std::vector<Candidate>* out);
void scan_ibans(const ScanText& t, std::vector<Candidate>* out);
void scan_phones(const ScanText& t, std::vector<Candidate>* out);
void scan_dates(const ScanText& t, std::vector<Candidate>* out);
void scan_emails(const ScanText& t, std::vector<Candidate>* out);
void scan_ipv4(const ScanText& t, std::vector<Candidate>* out);
void scan_ipv6(const ScanText& t, std::vector<Candidate>* out);

}  // namespace deepfuse::pii_detail
