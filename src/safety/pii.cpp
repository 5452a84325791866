// PII front end: type names, options, overlap resolution and replacement. The scanners live in
// pii_numbers.cpp (cards, IDs, IBANs), pii_phone.cpp, pii_date.cpp and pii_net.cpp.
#include "safety/pii.h"

#include <algorithm>
#include <map>

#include "safety/pii_scan.h"

namespace deepfuse {

namespace {

struct TypeInfo {
  const char* name;
  const char* tag;
  int rank;  // overlap tie-break: lower wins
};

constexpr TypeInfo kTypeInfo[kNumPiiTypes] = {
    {"card", "[CARD]", 2}, {"date", "[DATE]", 6}, {"email", "[EMAIL]", 3}, {"phone", "[PHONE]", 5},
    {"id", "[ID]", 0},     {"iban", "[IBAN]", 1}, {"ip", "[IP]", 4},
};

const TypeInfo& info(PiiType t) {
  return kTypeInfo[static_cast<int>(t)];
}

}  // namespace

const char* pii_type_name(PiiType t) {
  return info(t).name;
}
const char* pii_type_tag(PiiType t) {
  return info(t).tag;
}

std::optional<PiiType> parse_pii_type(std::string_view name) {
  for (int i = 0; i < kNumPiiTypes; ++i) {
    if (name == kTypeInfo[i].name) return static_cast<PiiType>(i);
  }
  if (name == "cn_id") return PiiType::kCnId;
  return std::nullopt;
}

bool PiiOptions::enabled(PiiType t) const {
  switch (t) {
    case PiiType::kCard:
      return card;
    case PiiType::kDate:
      return date;
    case PiiType::kEmail:
      return email;
    case PiiType::kPhone:
      return phone;
    case PiiType::kCnId:
      return cn_id;
    case PiiType::kIban:
      return iban;
    case PiiType::kIp:
      return ip;
  }
  return false;
}

void PiiOptions::set(PiiType t, bool on) {
  switch (t) {
    case PiiType::kCard:
      card = on;
      break;
    case PiiType::kDate:
      date = on;
      break;
    case PiiType::kEmail:
      email = on;
      break;
    case PiiType::kPhone:
      phone = on;
      break;
    case PiiType::kCnId:
      cn_id = on;
      break;
    case PiiType::kIban:
      iban = on;
      break;
    case PiiType::kIp:
      ip = on;
      break;
  }
}

PiiOptions PiiOptions::none() {
  PiiOptions o;
  for (int i = 0; i < kNumPiiTypes; ++i) o.set(static_cast<PiiType>(i), false);
  return o;
}

namespace pii_detail {

bool numeric_left_boundary(const ScanText& t, size_t i) {
  char p = t.before(i);
  if (is_alnum(p)) return false;
  if ((p == '.' || p == ',' || p == '-') && i >= 2 && is_digit(t.at(i - 2))) return false;
  return true;
}

bool numeric_right_boundary(const ScanText& t, size_t i) {
  char n = t.at(i);
  if (is_alnum(n)) return false;
  if ((n == '.' || n == ',' || n == '-' || n == '/') && is_digit(t.at(i + 1))) return false;
  return true;
}

}  // namespace pii_detail

namespace {

// Fullwidth forms (U+FF01..U+FF5E, common in Chinese forms: "１３８００１３８０００",
// "ｅｍａｉｌ＠ｑｑ．ｃｏｍ") and the ideographic space U+3000 are folded to ASCII before scanning.
// `orig[k]` is the input offset of folded byte k (orig[folded.size()] == input size), so spans
// map back exactly. Returns false (and leaves the outputs empty) when nothing needs folding.
bool fold_fullwidth(std::string_view text, std::string* folded, std::vector<size_t>* orig) {
  bool any = false;
  for (size_t i = 0; i + 2 < text.size() && !any; ++i) {
    unsigned char c0 = text[i], c1 = text[i + 1];
    any = (c0 == 0xEF && (c1 == 0xBC || c1 == 0xBD)) || (c0 == 0xE3 && c1 == 0x80);
  }
  if (!any) return false;
  folded->reserve(text.size());
  orig->reserve(text.size() + 1);
  for (size_t i = 0; i < text.size();) {
    unsigned char c0 = text[i];
    if (i + 2 < text.size()) {
      unsigned char c1 = text[i + 1], c2 = text[i + 2];
      unsigned cp = 0;
      if (c0 == 0xEF && (c1 == 0xBC || c1 == 0xBD) && c2 >= 0x80 && c2 <= 0xBF) {
        cp = ((c0 & 0x0Fu) << 12) | ((c1 & 0x3Fu) << 6) | (c2 & 0x3Fu);
      } else if (c0 == 0xE3 && c1 == 0x80 && c2 == 0x80) {
        cp = 0x3000;
      }
      if (cp == 0x3000 || (cp >= 0xFF01 && cp <= 0xFF5E)) {
        folded->push_back(cp == 0x3000 ? ' ' : static_cast<char>(cp - 0xFEE0));
        orig->push_back(i);
        i += 3;
        continue;
      }
    }
    folded->push_back(static_cast<char>(c0));
    orig->push_back(i);
    ++i;
  }
  orig->push_back(text.size());
  return true;
}

}  // namespace

std::vector<PiiSpan> find_pii(std::string_view input, const PiiOptions& opts, PiiScanStats* stats) {
  using namespace pii_detail;
  std::string folded;
  std::vector<size_t> orig;
  const bool was_folded = fold_fullwidth(input, &folded, &orig);
  std::string_view text = was_folded ? std::string_view(folded) : input;
  ScanText t(text);
  std::vector<Candidate> cands;
  if (opts.card) scan_cards(t, opts, &cands);
  if (opts.cn_id) scan_cn_ids(t, &cands);
  if (opts.iban) scan_ibans(t, &cands);
  if (opts.phone) scan_phones(t, &cands);
  if (opts.date) scan_dates(t, &cands);
  if (opts.email) scan_emails(t, &cands);
  if (opts.ip) {
    scan_ipv4(t, &cands);
    scan_ipv6(t, &cands);
  }
  if (stats) {
    stats->reads = t.reads();
    stats->candidates = cands.size();
  }
  // Longest first, then type rank, then leftmost; accept a candidate when it overlaps nothing
  // accepted so far. `taken` maps begin -> end of accepted spans (disjoint intervals).
  std::sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    size_t la = a.end - a.begin, lb = b.end - b.begin;
    if (la != lb) return la > lb;
    if (info(a.type).rank != info(b.type).rank) return info(a.type).rank < info(b.type).rank;
    return a.begin < b.begin;
  });
  std::map<size_t, size_t> taken;
  std::vector<PiiSpan> spans;
  for (const Candidate& c : cands) {
    if (c.end <= c.begin) continue;
    auto it = taken.lower_bound(c.end);  // first accepted span starting at or after c.end
    if (it != taken.begin() && std::prev(it)->second > c.begin) continue;
    taken.emplace(c.begin, c.end);
    if (was_folded) {
      spans.push_back({c.type, orig[c.begin], orig[c.end]});
    } else {
      spans.push_back({c.type, c.begin, c.end});
    }
  }
  std::sort(spans.begin(), spans.end(),
            [](const PiiSpan& a, const PiiSpan& b) { return a.begin < b.begin; });
  return spans;
}

MaskResult mask_pii(std::string_view text, const PiiOptions& opts) {
  MaskResult r;
  r.spans = find_pii(text, opts);
  r.text.reserve(text.size());
  size_t pos = 0;
  for (const PiiSpan& s : r.spans) {
    r.text.append(text.substr(pos, s.begin - pos));
    r.text.append(opts.style == MaskStyle::kTags ? pii_type_tag(s.type) : "[MASK]");
    pos = s.end;
  }
  r.text.append(text.substr(pos));
  return r;
}

}  // namespace deepfuse
