#include "safety/checksums.h"

#include <cstring>

namespace deepfuse::safety_checks {

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  int n = 0;
  // Walk from the rightmost digit; every second digit is doubled.
  for (size_t k = digits.size(); k-- > 0;) {
    char c = digits[k];
    if (c < '0' || c > '9') continue;
    int d = c - '0';
    if (n % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++n;
  }
  return n >= 2 && sum % 10 == 0;
}

bool cn_id_checksum_valid(std::string_view id) {
  if (id.size() != 18) return false;
  // Weights are 2^(17-i) mod 11 (ISO 7064 MOD 11-2).
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[11] = {'1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'};
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') return false;
    sum += (id[i] - '0') * kWeights[i];
  }
  char last = id[17] == 'x' ? 'X' : id[17];
  return kCheck[sum % 11] == last;
}

namespace {

struct IbanCountry {
  const char* code;
  int length;
};

// SWIFT IBAN registry lengths (release 2024).
constexpr IbanCountry kIbanCountries[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

}  // namespace

int iban_length_for_country(char c0, char c1) {
  for (const auto& c : kIbanCountries) {
    if (c.code[0] == c0 && c.code[1] == c1) return c.length;
  }
  return 0;
}

bool iban_mod97_valid(std::string_view iban) {
  // Collect the compact form (no spaces), then rotate by 4.
  char compact[40];
  size_t n = 0;
  for (char c : iban) {
    if (c == ' ') continue;
    bool alnum = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    if (!alnum || n >= sizeof(compact)) return false;
    compact[n++] = c;
  }
  if (n < 5) return false;
  int rem = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = compact[(k + 4) % n];
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else {
      int v = (c >= 'a' ? c - 'a' : c - 'A') + 10;  // two decimal digits
      rem = (rem * 100 + v) % 97;
    }
  }
  return rem == 1;
}

bool valid_date(int year, int month, int day) {
  if (year < 1000 || year > 2999 || month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int max_day = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  return day <= max_day;
}

}  // namespace deepfuse::safety_checks
