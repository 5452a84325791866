// PII detection and masking: payment cards, dates, e-mail addresses, phone numbers, Chinese
// resident ID numbers, IBANs and IP addresses. Hand-written scanners with explicit validation
// (Luhn, ISO 7064 MOD 11-2, mod-97, calendar checks); every scanner looks at each input byte a
// bounded number of times, so detection is linear in the input size on any input.
//
// Offsets are byte offsets into the UTF-8 input. Thread-safe: no shared mutable state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deepfuse {

enum class PiiType : uint8_t {
  kCard = 0,  // payment card number, 13-19 digits, Luhn valid, known IIN prefix
  kDate,   // calendar date with day, month and year (ISO, US, European, English words, 年月日)
  kEmail,  // e-mail address
  kPhone,  // Chinese mobile, E.164 (+CC...), common national formats
  kCnId,   // Chinese resident identity number (18 chars, MOD 11-2 checksum, valid birth date)
  kIban,   // IBAN (country length + mod-97)
  kIp,     // IPv4 or IPv6 address
};
inline constexpr int kNumPiiTypes = 7;

// Lower-case type name used in JSON and CLI flags: "card", "date", "email", "phone", "id",
// "iban", "ip".
const char* pii_type_name(PiiType t);
// Replacement tag for MaskStyle::kTags: "[CARD]", "[DATE]", "[EMAIL]", "[PHONE]", "[ID]",
// "[IBAN]", "[IP]".
const char* pii_type_tag(PiiType t);
// Parses a name as printed by pii_type_name (also accepts "cn_id"); nullopt when unknown.
std::optional<PiiType> parse_pii_type(std::string_view name);

enum class MaskStyle : uint8_t {
  kTags,  // replace each span by its type tag, e.g. "[CARD]"
  kMask,  // replace each span by "[MASK]"
};

struct PiiOptions {
  bool card = true;
  bool date = true;
  bool email = true;
  bool phone = true;
  bool cn_id = true;
  bool iban = true;
  bool ip = true;
  MaskStyle style = MaskStyle::kTags;
  // Cards must start with a known issuer prefix (Visa, Mastercard, Amex, UnionPay, JCB,
  // Discover, Diners, Maestro, Mir) whose length rule they match. Off: any Luhn-valid 13-19
  // digit number in card layout is masked (more recall on exotic cards, less precision).
  bool card_require_iin = true;

  bool enabled(PiiType t) const;
  void set(PiiType t, bool on);
  // All types off (start from this and enable the ones you want).
  static PiiOptions none();
};

struct PiiSpan {
  PiiType type;
  size_t begin;  // byte offset of the first byte in the input
  size_t end;    // byte offset one past the last byte
  bool operator==(const PiiSpan&) const = default;
};

struct MaskResult {
  std::string text;            // input with every span replaced by its tag / "[MASK]"
  std::vector<PiiSpan> spans;  // masked spans in input order, non-overlapping
};

// Work counter for the linear-time guarantee: `reads` is the number of input bytes the
// scanners examined (each byte may be looked at by each scanner a bounded number of times).
struct PiiScanStats {
  size_t reads = 0;
  size_t candidates = 0;  // spans that passed a scanner before overlap resolution
};

// Finds the PII spans of the enabled types, sorted by begin, non-overlapping. Overlaps are
// resolved by preferring the longer span, then the type order id > iban > card > email > ip >
// phone > date. `stats`, when given, is filled with the work counters.
std::vector<PiiSpan> find_pii(std::string_view text, const PiiOptions& opts,
                              PiiScanStats* stats = nullptr);

// find_pii + replacement.
MaskResult mask_pii(std::string_view text, const PiiOptions& opts);

}  // namespace deepfuse
