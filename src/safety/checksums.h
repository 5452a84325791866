// Check-digit and calendar validation used by the PII scanners; exposed for tests.
#pragma once

#include <string_view>

namespace deepfuse::safety_checks {

// Luhn (mod 10) over ASCII digits; non-digits are skipped. False for fewer than 2 digits.
bool luhn_valid(std::string_view digits);

// ISO 7064 MOD 11-2 check of an 18-character Chinese resident ID (17 digits + digit or X/x).
bool cn_id_checksum_valid(std::string_view id18);

// IBAN check: moves the first four characters to the end, maps letters A=10..Z=35 and tests
// value mod 97 == 1. Spaces are skipped; any other non-alphanumeric byte makes it invalid.
bool iban_mod97_valid(std::string_view iban);

// Expected IBAN length for a two-letter country code, 0 when the country does not use IBANs.
int iban_length_for_country(char c0, char c1);

// Gregorian calendar check; years outside [1000, 2999] are rejected.
bool valid_date(int year, int month, int day);

}  // namespace deepfuse::safety_checks
