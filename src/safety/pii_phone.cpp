// Phone numbers: Chinese mobile (1[3-9]x, 11 digits), international numbers written with a
// leading '+' or "00" (E.164, up to 15 digits), North American (555) 123-4567 / 555-123-4567,
// and trunk-prefixed national numbers (020 7946 0958, 010-12345678, 01 23 45 67 89).
//
// A candidate is a short sequence of digit groups (the first may be in parentheses) joined by
// single separators; we parse at most kMaxGroups groups / kMaxDigits digits from each start,
// then try the longest prefix of groups that matches one of the layouts above.
#include <string>

#include "safety/pii_scan.h"

namespace deepfuse::pii_detail {

namespace {

constexpr int kMaxGroups = 8;
constexpr int kMaxDigits = 16;

struct Group {
  size_t begin, end;  // digits only, excluding parentheses
  bool paren;
  char sep_before;  // ' ', '-', '.', ')' (after a parenthesised group) or 0 for the first
  size_t span_end;  // end of the group in the text, including a closing ')'
};

struct Parsed {
  bool plus = false;
  Group g[kMaxGroups];
  int n = 0;
};

bool all_seps(const Parsed& p, int ng, const char* allowed) {
  for (int k = 1; k < ng; ++k) {
    char s = p.g[k].sep_before;
    bool found = false;
    for (const char* a = allowed; *a; ++a) found |= *a == s;
    if (!found) return false;
  }
  return true;
}

// Classifies groups [0, ng). `d` holds their digits concatenated.
bool phone_layout(const Parsed& p, int ng, const std::string& d, const int* len) {
  const size_t nd = d.size();
  if (p.plus) {
    // E.164: country code 1-3 digits, 8-15 digits in all.
    if (d[0] == '0' || nd < 8 || nd > 15) return false;
    if (ng > 1 && len[0] > 3) return false;
    return all_seps(p, ng, " -.)");
  }
  bool any_paren = false;
  for (int k = 0; k < ng; ++k) any_paren |= p.g[k].paren;
  // International with a "00" prefix: 0086 138 1234 5678.
  if (ng >= 2 && len[0] >= 3 && len[0] <= 5 && d[0] == '0' && d[1] == '0' && d[2] != '0' &&
      nd - 2 >= 8 && nd - 2 <= 15 && !any_paren) {
    return all_seps(p, ng, " -");
  }
  // Chinese mobile: 13812345678 or 138 1234 5678 / 138-1234-5678.
  if (nd == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && !any_paren) {
    if (ng == 1) return true;
    if (ng == 3 && len[0] == 3 && len[1] == 4 && len[2] == 4) return all_seps(p, ng, " -");
  }
  // North American: [1] (NXX) NXX-XXXX.
  {
    int k = 0;
    if (ng == 4 && len[0] == 1 && d[0] == '1' && !p.g[0].paren) k = 1;
    if (ng - k == 3 && len[k] == 3 && len[k + 1] == 3 && len[k + 2] == 4) {
      size_t off = k;  // digits before the area code
      // Area codes start with 2-9; the exchange rule (also 2-9) is not enforced because
      // documentation and fiction use 555-123-4567 style numbers.
      char area = d[off];
      bool paren_ok = !p.g[k + 1].paren && !p.g[k + 2].paren;
      if (area >= '2' && paren_ok) {
        if (p.g[k].paren) return all_seps(p, ng, " -.)") && (k == 0 || p.g[k].sep_before == ' ');
        // 555-123-4567, 555.123.4567, 555 123 4567 (one separator kind throughout).
        char s = p.g[k + 1].sep_before;
        return (s == '-' || s == '.' || s == ' ') && p.g[k + 2].sep_before == s &&
               (k == 0 || p.g[1].sep_before == s);
      }
    }
  }
  // Trunk-prefixed national numbers: leading 0 (not 00), 9-12 digits, 2+ groups of 2+ digits
  // with space or dash separators; dots are left to dates and versions.
  if (d[0] == '0' && d[1] != '0' && nd >= 9 && nd <= 12 && ng >= 2) {
    for (int k = 0; k < ng; ++k) {
      if (len[k] < 2) return false;
      if (p.g[k].paren && k != 0) return false;
    }
    // Groups of two only in the French layout 0X XX XX XX XX.
    bool all_two = true;
    for (int k = 0; k < ng; ++k) all_two &= len[k] == 2;
    if (all_two && ng != 5) return false;
    if (!all_two) {
      for (int k = 1; k < ng; ++k) {
        if (len[k] < 3) return false;
      }
    }
    return all_seps(p, ng, " -)");
  }
  return false;
}

// True when the digit run at `i` continues a space-grouped number ("1044 1381 0826"): the
// previous token is a plain digit group. A date or version before the space ("2024-01-02
// 13812345678") ends its own token, so a phone may start after it.
bool inside_space_grouped_number(const ScanText& t, size_t i) {
  if (t.before(i) != ' ' || i < 2 || !is_digit(t.at(i - 2))) return false;
  size_t j = i - 2;
  while (j > 0 && is_digit(t.at(j - 1))) --j;
  const char lead = j > 0 ? t.at(j - 1) : ' ';
  return !(lead == '-' || lead == '.' || lead == '/' || lead == ':');
}

}  // namespace

void scan_phones(const ScanText& t, std::vector<Candidate>* out) {
  const size_t n = t.size();
  for (size_t i = 0; i < n; ++i) {
    char c = t.at(i);
    bool start = false;
    if (c == '+' || c == '(') {
      start = is_digit(t.at(i + 1)) && !is_alnum(t.before(i));
    } else if (is_digit(c)) {
      // Not inside a space-grouped number either ("PL73 1044 1381 0826 2864 6266 8829").
      start = !is_digit(t.before(i)) && numeric_left_boundary(t, i) &&
              !inside_space_grouped_number(t, i);
    }
    if (!start) continue;

    Parsed p;
    size_t pos = i;
    if (c == '+') {
      p.plus = true;
      ++pos;
    }
    int total = 0;
    char sep = 0;
    while (p.n < kMaxGroups) {
      bool paren = t.at(pos) == '(';
      size_t gb = pos + (paren ? 1 : 0);
      size_t ge = gb;
      while (is_digit(t.at(ge)) && total + static_cast<int>(ge - gb) <= kMaxDigits) ++ge;
      if (ge == gb || is_digit(t.at(ge))) break;  // empty or too many digits
      size_t span_end = ge;
      if (paren) {
        if (t.at(ge) != ')') break;
        span_end = ge + 1;
      }
      p.g[p.n++] = {gb, ge, paren, sep, span_end};
      total += static_cast<int>(ge - gb);
      // Next separator: one of " -." or, after ')', nothing / a space / a dash.
      size_t q = span_end;
      char s = t.at(q);
      if (paren && (is_digit(s) || s == '(')) {
        sep = ')';
      } else if ((s == ' ' || s == '-' || s == '.') &&
                 (is_digit(t.at(q + 1)) || t.at(q + 1) == '(')) {
        sep = s;
        ++q;
      } else {
        break;
      }
      pos = q;
    }
    if (p.n == 0) continue;

    std::string d;
    int len[kMaxGroups];
    size_t digits_after[kMaxGroups];
    for (int k = 0; k < p.n; ++k) {
      for (size_t x = p.g[k].begin; x < p.g[k].end; ++x) d.push_back(t.at(x));
      len[k] = static_cast<int>(p.g[k].end - p.g[k].begin);
      digits_after[k] = d.size();
    }
    // The whole group sequence must be the number: a prefix of a longer grouped number (an
    // IBAN, a card with a bad checksum) is not a phone.
    if (p.n == kMaxGroups) continue;
    for (int ng = p.n; ng >= 1; --ng) {
      size_t end = p.g[ng - 1].span_end;
      if (ng < p.n) continue;
      if (!numeric_right_boundary(t, end)) continue;
      std::string dd = d.substr(0, digits_after[ng - 1]);
      if (dd.size() < 2) continue;
      if (phone_layout(p, ng, dd, len)) {
        out->push_back({PiiType::kPhone, i, end});
        break;
      }
    }
  }
}

}  // namespace deepfuse::pii_detail
