// JSON field helpers, the byte-level table and split behaviours shared by the stages.
#include "tokenizer/components.h"

#include <algorithm>
#include <array>

#include "core/error.h"
#include "core/json_reader.h"

namespace deepfuse::tok {

void bad(const std::string& path, const std::string& what) {
  throw FormatError(path + ": " + what);
}

const json& field(const json& j, const char* key, const std::string& path) {
  if (!j.is_object()) bad(path, "expected a JSON object");
  auto it = j.find(key);
  if (it == j.end()) bad(path + "." + key, "missing (required field)");
  return *it;
}

std::string get_string(const json& j, const char* key, const std::string& path) {
  const json& v = field(j, key, path);
  if (!v.is_string()) bad(path + "." + key, "expected a string");
  return v.get<std::string>();
}

std::string opt_string(const json& j, const char* key, const std::string& path,
                       const std::string& dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_string()) bad(path + "." + key, "expected a string or null");
  return it->get<std::string>();
}

bool opt_bool(const json& j, const char* key, const std::string& path, bool dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  if (!it->is_boolean()) bad(path + "." + key, "expected true or false");
  return it->get<bool>();
}

int64_t int_in(const json& v, int64_t lo, int64_t hi, const std::string& path) {
  const bool ok = v.is_number_unsigned() ? v.get<uint64_t>() <= static_cast<uint64_t>(hi) &&
                                               static_cast<int64_t>(v.get<uint64_t>()) >= lo
                  : v.is_number_integer() ? v.get<int64_t>() >= lo && v.get<int64_t>() <= hi
                                          : false;
  if (!ok)
    bad(path, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                  "], got " + json_excerpt(v));
  return v.get<int64_t>();
}

int64_t opt_int_in(const json& j, const char* key, int64_t lo, int64_t hi, const std::string& path,
                   int64_t dflt) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return dflt;
  return int_in(*it, lo, hi, path + "." + key);
}

namespace {
struct ByteTable {
  std::array<std::string, 256> fwd;
  std::array<int, 0x200> back;  // all mapped code points are < 0x144
  ByteTable() {
    back.fill(-1);
    std::array<bool, 256> direct{};
    for (int b = '!'; b <= '~'; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      char32_t cp = direct[b] ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      append_utf8(&fwd[b], cp);
      back[cp] = b;
    }
  }
};
const ByteTable& table() {
  static const ByteTable t;
  return t;
}
}  // namespace

const std::string& byte_to_unicode(uint8_t b) {
  return table().fwd[b];
}
int unicode_to_byte(char32_t c) {
  return c < 0x200 ? table().back[c] : -1;
}

SplitBehavior parse_behavior(const json& j, const std::string& path) {
  if (!j.is_string()) bad(path, "expected a split behavior string");
  std::string s = j.get<std::string>();
  if (s == "Removed") return SplitBehavior::Removed;
  if (s == "Isolated") return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext") return SplitBehavior::MergedWithNext;
  if (s == "Contiguous") return SplitBehavior::Contiguous;
  bad(path, "unknown split behavior '" + s +
                "' (expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous)");
}

void split_by_matches(const Split& s, const std::vector<std::pair<size_t, size_t>>& matches,
                      SplitBehavior behavior, bool invert, std::vector<Split>* out) {
  const size_t n = s.ns.size();
  // (range, is_match) covering the whole text.
  struct Piece {
    size_t b, e;
    bool m;
  };
  std::vector<Piece> pieces;
  pieces.reserve(matches.size() * 2 + 1);
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev != b) pieces.push_back({prev, b, invert});
    pieces.push_back({b, e, !invert});
    prev = e;
  }
  if (prev != n) pieces.push_back({prev, n, invert});

  std::vector<Piece> res;
  res.reserve(pieces.size());
  switch (behavior) {
    case SplitBehavior::Removed:
      for (auto& p : pieces)
        if (!p.m) res.push_back(p);
      break;
    case SplitBehavior::Isolated:
      res = std::move(pieces);
      break;
    case SplitBehavior::MergedWithPrevious: {
      bool prev_match = false;
      for (auto& p : pieces) {
        if (p.m && !prev_match && !res.empty())
          res.back().e = p.e;
        else
          res.push_back(p);
        prev_match = p.m;
      }
      break;
    }
    case SplitBehavior::MergedWithNext: {
      bool prev_match = false;
      for (size_t k = pieces.size(); k-- > 0;) {
        auto& p = pieces[k];
        if (p.m && !prev_match && !res.empty())
          res.back().b = p.b;
        else
          res.push_back(p);
        prev_match = p.m;
      }
      std::reverse(res.begin(), res.end());
      break;
    }
    case SplitBehavior::Contiguous: {
      bool prev_match = false;
      for (auto& p : pieces) {
        if (p.m == prev_match && !res.empty())
          res.back().e = p.e;
        else
          res.push_back(p);
        prev_match = p.m;
      }
      break;
    }
  }
  for (auto& p : res) {
    if (p.e <= p.b) continue;
    Split sp;
    sp.ns = (p.b == 0 && p.e == n) ? s.ns : s.ns.slice(p.b, p.e);
    sp.byte_level = s.byte_level;
    out->push_back(std::move(sp));
  }
}

}  // namespace deepfuse::tok
