// Scanners for digit-heavy identifiers with check digits: payment cards (Luhn + issuer prefix),
// Chinese resident IDs (MOD 11-2 + birth date + province) and IBANs (country length + mod-97).
#include <cstring>
#include <string>

#include "safety/checksums.h"
#include "safety/pii_scan.h"

namespace deepfuse::pii_detail {

namespace {

using safety_checks::cn_id_checksum_valid;
using safety_checks::iban_length_for_country;
using safety_checks::iban_mod97_valid;
using safety_checks::luhn_valid;
using safety_checks::valid_date;

constexpr int kMinCardDigits = 13;
constexpr int kMaxCardDigits = 19;

struct IinRule {
  int lo, hi;  // inclusive range of the first `digits` digits
  int digits;  // prefix length the range applies to
  int min_len, max_len;
};

// Issuer identification number ranges and the lengths each network issues (ISO/IEC 7812 as
// published by the networks). Deliberately broad (Maestro 56-69 covers many domestic schemes);
// the point is to reject 0/1/7/8/9-prefixed order and tracking numbers that pass Luhn by chance.
constexpr IinRule kIinRules[] = {
    {4, 4, 1, 13, 19},        // Visa (13, 16, 19 issued; 14-18 seen on Visa Electron tests)
    {51, 55, 2, 16, 16},      // Mastercard
    {2221, 2720, 4, 16, 16},  // Mastercard 2-series
    {34, 34, 2, 15, 15},      // American Express
    {37, 37, 2, 15, 15},      // American Express
    {62, 62, 2, 16, 19},      // UnionPay
    {81, 81, 2, 16, 19},      // UnionPay 81 range
    {6011, 6011, 4, 16, 19},  // Discover
    {644, 649, 3, 16, 19},    // Discover
    {65, 65, 2, 16, 19},      // Discover / RuPay
    {3528, 3589, 4, 16, 19},  // JCB
    {300, 305, 3, 14, 19},    // Diners Club
    {36, 36, 2, 14, 19},      // Diners Club
    {38, 39, 2, 16, 19},      // Diners Club
    {2200, 2204, 4, 16, 19},  // Mir
    {50, 50, 2, 13, 19},      // Maestro
    {56, 69, 2, 13, 19},      // Maestro and domestic debit schemes
};

bool iin_plausible(const char* d, int n) {
  for (const IinRule& r : kIinRules) {
    if (n < r.min_len || n > r.max_len) continue;
    int v = 0;
    for (int k = 0; k < r.digits; ++k) v = v * 10 + (d[k] - '0');
    if (v >= r.lo && v <= r.hi) return true;
  }
  return false;
}

// Reads the digit run starting at `i`, stopping after `max` digits. Returns its length.
size_t digit_run(const ScanText& t, size_t i, size_t max) {
  size_t n = 0;
  while (n <= max && is_digit(t.at(i + n))) ++n;
  return n;
}

}  // namespace

void scan_cards(const ScanText& t, const PiiOptions& opts, std::vector<Candidate>* out) {
  const size_t n = t.size();
  size_t i = 0;
  while (i < n) {
    if (!is_digit(t.at(i)) || is_digit(t.before(i))) {
      ++i;
      continue;
    }
    // A card may start at a number boundary, or after a short quantity in a space-separated
    // run ("qty 2 4111 1111 1111 1111"); never in the middle of a longer grouped number such as
    // an IBAN or another card ("DE41 3831 8093 5107 8418 13").
    bool after_number = t.before(i) == ' ' && i >= 2 && is_digit(t.at(i - 2));
    bool boundary = numeric_left_boundary(t, i) && !after_number;
    bool in_space_run = false;
    if (after_number) {
      size_t qe = i - 1;  // the space after the quantity
      size_t qs = qe;
      while (qs > 0 && qe - qs < 3 && is_digit(t.at(qs - 1))) --qs;
      size_t len = qe - qs;
      in_space_run = len <= 2 && !is_digit(t.before(qs)) && numeric_left_boundary(t, qs);
    }
    if (!boundary && !in_space_run) {
      i += digit_run(t, i, kMaxCardDigits + 1);
      continue;
    }
    // Collect up to 19 digits of groups joined by one consistent separator (' ' or '-').
    char digits[kMaxCardDigits + 1];
    int nd = 0;
    size_t group_ends[kMaxCardDigits + 1];
    int group_digits[kMaxCardDigits + 1];
    int ng = 0;
    char sep = 0;
    size_t pos = i;
    bool ok = true;
    while (true) {
      size_t len = digit_run(t, pos, kMaxCardDigits + 1);
      if (nd + static_cast<int>(len) > kMaxCardDigits) {
        ok = false;  // the grouped number is longer than any card
        break;
      }
      for (size_t k = 0; k < len; ++k) digits[nd++] = t.at(pos + k);
      pos += len;
      group_ends[ng] = pos;
      group_digits[ng] = nd;
      ++ng;
      char c = t.at(pos);
      if ((c == ' ' || c == '-') && (sep == 0 || c == sep) && is_digit(t.at(pos + 1))) {
        sep = c;
        ++pos;
        continue;
      }
      break;
    }
    if (ok && in_space_run && sep == '-') ok = false;
    if (ok) {
      // Group layout: every group but the last has 3-8 digits (4-4-4-4, 4-6-5, 4-4-4-4-3).
      for (int g = 0; g + 1 < ng && ok; ++g) {
        int gl = group_digits[g] - (g ? group_digits[g - 1] : 0);
        ok = gl >= 3 && gl <= 8;
      }
    }
    // The whole grouped number must be the card: a prefix of a longer one is not.
    if (ok && nd >= kMinCardDigits && numeric_right_boundary(t, group_ends[ng - 1]) &&
        !(t.at(group_ends[ng - 1]) == ' ' && is_digit(t.at(group_ends[ng - 1] + 1)))) {
      std::string_view d(digits, nd);
      if (luhn_valid(d) && (!opts.card_require_iin || iin_plausible(digits, nd))) {
        out->push_back({PiiType::kCard, i, group_ends[ng - 1]});
      }
    }
    i += digit_run(t, i, kMaxCardDigits + 1);
  }
}

namespace {

bool cn_province_valid(int p) {
  return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
         (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
         p == 81 || p == 82 || p == 83 || p == 91;
}

bool cn_id_valid(const char* id) {
  int province = (id[0] - '0') * 10 + (id[1] - '0');
  if (!cn_province_valid(province)) return false;
  int year = 0, month = 0, day = 0;
  for (int k = 6; k < 10; ++k) year = year * 10 + (id[k] - '0');
  month = (id[10] - '0') * 10 + (id[11] - '0');
  day = (id[12] - '0') * 10 + (id[13] - '0');
  if (year < 1900 || year > 2099 || !valid_date(year, month, day)) return false;
  return cn_id_checksum_valid(std::string_view(id, 18));
}

}  // namespace

void scan_cn_ids(const ScanText& t, std::vector<Candidate>* out) {
  const size_t n = t.size();
  size_t i = 0;
  while (i < n) {
    if (!is_digit(t.at(i)) || !numeric_left_boundary(t, i)) {
      ++i;
      continue;
    }
    // Contiguous (110101199003071234) or grouped 6-8-4 with one space or dash between groups.
    char id[18];
    size_t pos = i;
    int got = 0;
    char sep = 0;
    bool ok = true;
    while (got < 18) {
      char c = t.at(pos);
      if (is_digit(c) || (got == 17 && (c == 'X' || c == 'x'))) {
        id[got++] = c;
        ++pos;
        continue;
      }
      // Only a grouped layout may continue: separator right after digit 6 or 14.
      bool at_group_end = got == 6 || got == 14;
      bool consistent = got == 6 ? sep == 0 : sep != 0 && c == sep;
      if (at_group_end && consistent && (c == ' ' || c == '-') && is_digit(t.at(pos + 1))) {
        sep = c;
        ++pos;
        continue;
      }
      ok = false;
      break;
    }
    // A grouped ID must be grouped throughout (6-8-4), not 6-12.
    if (ok && sep != 0 && pos - i != 20) ok = false;
    if (ok) {
      bool right_ok =
          id[17] == 'X' || id[17] == 'x' ? !is_alnum(t.at(pos)) : numeric_right_boundary(t, pos);
      if (right_ok && cn_id_valid(id)) out->push_back({PiiType::kCnId, i, pos});
    }
    i += digit_run(t, i, 19);
  }
}

void scan_ibans(const ScanText& t, std::vector<Candidate>* out) {
  const size_t n = t.size();
  for (size_t i = 0; i + 4 < n; ++i) {
    char c0 = t.at(i);
    if (!is_upper(c0)) continue;
    char c1 = t.at(i + 1);
    if (!is_upper(c1) || !is_digit(t.at(i + 2)) || !is_digit(t.at(i + 3))) continue;
    if (is_alnum(t.before(i))) continue;
    int len = iban_length_for_country(c0, c1);
    if (len == 0) continue;
    // Compact ("DE89370400440532013000") or printed in groups of four ("DE89 3704 0044 ...").
    bool spaced = t.at(i + 4) == ' ';
    size_t pos = i + 4;
    int got = 4;
    int in_group = 0;
    bool ok = true;
    while (got < len) {
      char c = t.at(pos);
      if (spaced && in_group == 0) {
        if (c != ' ') {
          ok = false;
          break;
        }
        ++pos;
        c = t.at(pos);
      }
      if (!is_digit(c) && !is_upper(c)) {
        ok = false;
        break;
      }
      ++got;
      ++pos;
      if (spaced) in_group = (in_group + 1) % 4;
    }
    if (!ok || is_alnum(t.at(pos))) continue;
    std::string compact;
    for (size_t k = i; k < pos; ++k) {
      char c = t.at(k);
      if (c != ' ') compact.push_back(c);
    }
    if (iban_mod97_valid(compact)) {
      out->push_back({PiiType::kIban, i, pos});
      i = pos - 1;
    }
  }
}

}  // namespace deepfuse::pii_detail
