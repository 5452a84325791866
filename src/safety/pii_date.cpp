// Dates with day, month and year: ISO 2024-01-02 (also / and .), US 01/02/2024, European
// 02.01.2024, English words (2 January 2024, Jan 2, 2024, 2nd of January 2024) and Chinese
// 2024年1月2日 (日 or 号). Every candidate is checked against the calendar. Month-year or
// day-month without a year are not masked: they rarely identify anyone on their own.
#include <cstring>

#include "safety/checksums.h"
#include "safety/pii_scan.h"

namespace deepfuse::pii_detail {

namespace {

using safety_checks::valid_date;

// Reads 1..max digits at `pos`; returns the count (0 when none or when more than max follow).
int read_num(const ScanText& t, size_t pos, int max, int* value) {
  int v = 0, k = 0;
  while (k <= max && is_digit(t.at(pos + k))) {
    v = v * 10 + (t.at(pos + k) - '0');
    ++k;
  }
  if (k == 0 || k > max) return 0;
  *value = v;
  return k;
}

// Right edge of a date: no more digits, letters, or a separator followed by a digit
// ("2024-01-02-7" is not a date). ISO dates may be followed by 'T' and a time.
bool date_right_boundary(const ScanText& t, size_t i, bool iso) {
  if (iso && t.at(i) == 'T' && is_digit(t.at(i + 1))) return true;
  return numeric_right_boundary(t, i);
}

// Numeric forms starting at a digit-run start `i`. Returns the end or 0.
size_t numeric_date(const ScanText& t, size_t i) {
  int a = 0, b = 0, c = 0;
  int la = read_num(t, i, 4, &a);
  if (la == 0) return 0;
  char s1 = t.at(i + la);
  if (s1 != '-' && s1 != '/' && s1 != '.') return 0;
  int lb = read_num(t, i + la + 1, 2, &b);
  if (lb == 0) return 0;
  size_t p2 = i + la + 1 + lb;
  if (t.at(p2) != s1) return 0;
  int lc = read_num(t, p2 + 1, 4, &c);
  if (lc == 0) return 0;
  size_t end = p2 + 1 + lc;
  if (la == 4) {  // year first: Y-M-D (ISO, 2024/1/2, 2024.01.02)
    if (lc > 2 || !valid_date(a, b, c)) return 0;
    return date_right_boundary(t, end, s1 == '-') ? end : 0;
  }
  if (la > 2 || lc != 4) return 0;
  bool ok = false;
  if (s1 == '.') {
    ok = valid_date(c, b, a);  // European D.M.Y
  } else {
    ok = valid_date(c, a, b) || valid_date(c, b, a);  // US M/D/Y or D/M/Y
  }
  return ok && date_right_boundary(t, end, false) ? end : 0;
}

struct MonthName {
  const char* name;
  int month;
};
// Longest names first so "June" wins over "Jun".
constexpr MonthName kMonths[] = {
    {"september", 9}, {"february", 2}, {"november", 11}, {"december", 12}, {"january", 1},
    {"october", 10},  {"august", 8},   {"march", 3},     {"april", 4},     {"june", 6},
    {"july", 7},      {"sept", 9},     {"jan", 1},       {"feb", 2},       {"mar", 3},
    {"apr", 4},       {"may", 5},      {"jun", 6},       {"jul", 7},       {"aug", 8},
    {"sep", 9},       {"oct", 10},     {"nov", 11},      {"dec", 12},
};

// Matches a month name (case-insensitive, optional '.' after an abbreviation) at `pos`.
// Returns its length (including the dot) and sets *month, or 0.
int read_month(const ScanText& t, size_t pos, int* month) {
  for (const MonthName& m : kMonths) {
    size_t len = std::strlen(m.name);
    bool match = true;
    for (size_t k = 0; k < len && match; ++k) match = to_lower(t.at(pos + k)) == m.name[k];
    if (!match || is_alpha(t.at(pos + len))) continue;
    *month = m.month;
    if (len <= 4 && t.at(pos + len) == '.') ++len;
    return static_cast<int>(len);
  }
  return 0;
}

// Day number with an optional English ordinal suffix. Returns its length or 0.
int read_day(const ScanText& t, size_t pos, int* day) {
  int ld = read_num(t, pos, 2, day);
  if (ld == 0) return 0;
  char s0 = to_lower(t.at(pos + ld)), s1 = to_lower(t.at(pos + ld + 1));
  if ((s0 == 's' && s1 == 't') || (s0 == 'n' && s1 == 'd') || (s0 == 'r' && s1 == 'd') ||
      (s0 == 't' && s1 == 'h')) {
    if (!is_alpha(t.at(pos + ld + 2))) return ld + 2;
  }
  return ld;
}

// "2 January 2024", "2nd of Jan. 2024", "2 January, 2024".
size_t day_month_year(const ScanText& t, size_t i) {
  int day = 0, month = 0, year = 0;
  int ld = read_day(t, i, &day);
  if (ld == 0) return 0;
  size_t p = i + ld;
  if (t.at(p) != ' ') return 0;
  ++p;
  if (t.at(p) == 'o' && t.at(p + 1) == 'f' && t.at(p + 2) == ' ') p += 3;
  int lm = read_month(t, p, &month);
  if (lm == 0) return 0;
  p += lm;
  if (t.at(p) == ',') ++p;
  if (t.at(p) != ' ') return 0;
  ++p;
  int ly = read_num(t, p, 4, &year);
  if (ly != 4 || !valid_date(year, month, day)) return 0;
  p += ly;
  return numeric_right_boundary(t, p) ? p : 0;
}

// "January 2, 2024", "Jan. 2nd 2024".
size_t month_day_year(const ScanText& t, size_t i) {
  int day = 0, month = 0, year = 0;
  int lm = read_month(t, i, &month);
  if (lm == 0) return 0;
  size_t p = i + lm;
  if (t.at(p) != ' ') return 0;
  ++p;
  int ld = read_day(t, p, &day);
  if (ld == 0) return 0;
  p += ld;
  if (t.at(p) == ',') ++p;
  if (t.at(p) != ' ') return 0;
  ++p;
  int ly = read_num(t, p, 4, &year);
  if (ly != 4 || !valid_date(year, month, day)) return 0;
  p += ly;
  return numeric_right_boundary(t, p) ? p : 0;
}

size_t skip_spaces(const ScanText& t, size_t pos, int max) {
  for (int k = 0; k < max && t.at(pos) == ' '; ++k) ++pos;
  return pos;
}

// "2024年1月2日", "2024 年 01 月 02 日", "2024年1月2号".
size_t chinese_date(const ScanText& t, size_t i) {
  int year = 0, month = 0, day = 0;
  int ly = read_num(t, i, 4, &year);
  if (ly != 4) return 0;
  size_t p = skip_spaces(t, i + ly, 1);
  static const char kNian[] = "\xE5\xB9\xB4", kYue[] = "\xE6\x9C\x88", kRi[] = "\xE6\x97\xA5",
                    kHao[] = "\xE5\x8F\xB7";
  auto cjk = [&](size_t pos, const char* u8) -> size_t {
    for (int k = 0; k < 3; ++k) {
      if (t.at(pos + k) != u8[k]) return 0;
    }
    return pos + 3;
  };
  p = cjk(p, kNian);
  if (p == 0) return 0;
  p = skip_spaces(t, p, 1);
  int lmo = read_num(t, p, 2, &month);
  if (lmo == 0) return 0;
  p = skip_spaces(t, p + lmo, 1);
  p = cjk(p, kYue);
  if (p == 0) return 0;
  p = skip_spaces(t, p, 1);
  int ld = read_num(t, p, 2, &day);
  if (ld == 0) return 0;
  p = skip_spaces(t, p + ld, 1);
  size_t e = cjk(p, kRi);
  if (e == 0) e = cjk(p, kHao);
  if (e == 0 || !valid_date(year, month, day)) return 0;
  return e;
}

// Chinese numeral digit (〇零一二三四五六七八九) at `pos`: returns 0-9, 10 for 十, -1 otherwise.
int cn_numeral(const ScanText& t, size_t pos) {
  static const struct {
    const char* u8;
    int value;
  } kNumerals[] = {{"\xE3\x80\x87", 0}, {"\xE9\x9B\xB6", 0}, {"\xE4\xB8\x80", 1},
                   {"\xE4\xBA\x8C", 2}, {"\xE4\xB8\x89", 3}, {"\xE5\x9B\x9B", 4},
                   {"\xE4\xBA\x94", 5}, {"\xE5\x85\xAD", 6}, {"\xE4\xB8\x83", 7},
                   {"\xE5\x85\xAB", 8}, {"\xE4\xB9\x9D", 9}, {"\xE5\x8D\x81", 10}};
  char c0 = t.at(pos);
  if (static_cast<unsigned char>(c0) < 0xE3) return -1;
  char c1 = t.at(pos + 1), c2 = t.at(pos + 2);
  for (const auto& n : kNumerals) {
    if (c0 == n.u8[0] && c1 == n.u8[1] && c2 == n.u8[2]) return n.value;
  }
  return -1;
}

// A number from 1 to 31 written in Chinese numerals (三, 十二, 二十一, 三十): returns the byte
// length and sets *value, or 0.
int read_cn_small(const ScanText& t, size_t pos, int* value) {
  int a = cn_numeral(t, pos);
  if (a < 1) return 0;
  if (a == 10) {  // 十, 十X
    int b = cn_numeral(t, pos + 3);
    if (b >= 1 && b <= 9) {
      *value = 10 + b;
      return 6;
    }
    *value = 10;
    return 3;
  }
  if (cn_numeral(t, pos + 3) == 10) {  // X十, X十Y
    int c = cn_numeral(t, pos + 6);
    if (c >= 1 && c <= 9) {
      *value = a * 10 + c;
      return 9;
    }
    *value = a * 10;
    return 6;
  }
  *value = a;
  return 3;
}

// "二〇二四年一月二日": four numeral digits for the year, then month and day in words.
size_t chinese_numeral_date(const ScanText& t, size_t i) {
  int year = 0;
  size_t p = i;
  for (int k = 0; k < 4; ++k, p += 3) {
    int d = cn_numeral(t, p);
    if (d < 0 || d > 9) return 0;
    year = year * 10 + d;
  }
  static const char kNian[] = "\xE5\xB9\xB4", kYue[] = "\xE6\x9C\x88", kRi[] = "\xE6\x97\xA5",
                    kHao[] = "\xE5\x8F\xB7";
  auto cjk = [&](size_t pos, const char* u8) -> size_t {
    for (int k = 0; k < 3; ++k) {
      if (t.at(pos + k) != u8[k]) return 0;
    }
    return pos + 3;
  };
  if ((p = cjk(p, kNian)) == 0) return 0;
  int month = 0, day = 0;
  int lm = read_cn_small(t, p, &month);
  if (lm == 0 || (p = cjk(p + lm, kYue)) == 0) return 0;
  int ld = read_cn_small(t, p, &day);
  if (ld == 0) return 0;
  size_t e = cjk(p + ld, kRi);
  if (e == 0) e = cjk(p + ld, kHao);
  if (e == 0 || !valid_date(year, month, day)) return 0;
  return e;
}

}  // namespace

void scan_dates(const ScanText& t, std::vector<Candidate>* out) {
  const size_t n = t.size();
  for (size_t i = 0; i < n; ++i) {
    char c = t.at(i);
    if (is_digit(c)) {
      if (is_digit(t.before(i)) || !numeric_left_boundary(t, i)) continue;
      size_t end = numeric_date(t, i);
      if (end == 0) end = day_month_year(t, i);
      if (end == 0) end = chinese_date(t, i);
      if (end) out->push_back({PiiType::kDate, i, end});
    } else if (is_alpha(c) && !is_alpha(t.before(i))) {
      size_t end = month_day_year(t, i);
      if (end) out->push_back({PiiType::kDate, i, end});
    } else if (static_cast<unsigned char>(c) >= 0xE3 && cn_numeral(t, i) >= 0 &&
               (i < 3 || cn_numeral(t, i - 3) < 0)) {
      size_t end = chinese_numeral_date(t, i);
      if (end) out->push_back({PiiType::kDate, i, end});
    }
  }
}

}  // namespace deepfuse::pii_detail
