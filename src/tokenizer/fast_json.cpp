#include "tokenizer/fast_json.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/json_reader.h"
#include "tokenizer/unicode.h"

namespace deepfuse::tok {

namespace {

struct Scanner {
  const char* p;
  const char* end;
  bool ok = true;

  void ws() {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) ++p;
  }
  // Skips a string starting at '"'; returns false if unterminated.
  bool skip_string() {
    ++p;
    while (p < end) {
      const char* q = static_cast<const char*>(std::memchr(p, '"', end - p));
      if (!q) return false;
      // Count preceding backslashes.
      const char* b = q;
      while (b > p && b[-1] == '\\') --b;
      if (((q - b) & 1) == 0) {
        p = q + 1;
        return true;
      }
      p = q + 1;
    }
    return false;
  }
  bool skip_value() {
    ws();
    if (p >= end) return false;
    char c = *p;
    if (c == '"') return skip_string();
    if (c == '{' || c == '[') {
      int depth = 0;
      while (p < end) {
        char d = *p;
        if (d == '"') {
          if (!skip_string()) return false;
          continue;
        }
        if (d == '{' || d == '[') ++depth;
        if (d == '}' || d == ']') {
          --depth;
          if (depth == 0) {
            ++p;
            return true;
          }
        }
        ++p;
      }
      return false;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
           *p != '\r' && *p != '\t')
      ++p;
    return true;
  }
  // Decodes the JSON string at p into *out.
  bool read_string(std::string* out) {
    if (p >= end || *p != '"') return false;
    ++p;
    out->clear();
    while (p < end) {
      const char* start = p;
      while (p < end && *p != '"' && *p != '\\') ++p;
      out->append(start, p - start);
      if (p >= end) return false;
      if (*p == '"') {
        ++p;
        return true;
      }
      ++p;  // backslash
      if (p >= end) return false;
      char e = *p++;
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          auto hex4 = [&](uint32_t* v) {
            if (end - p < 4) return false;
            *v = 0;
            for (int k = 0; k < 4; ++k) {
              char h = p[k];
              int d = (h >= '0' && h <= '9')   ? h - '0'
                      : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                      : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                               : -1;
              if (d < 0) return false;
              *v = *v * 16 + d;
            }
            p += 4;
            return true;
          };
          uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            uint32_t lo;
            if (end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
              p += 2;
              if (!hex4(&lo)) return false;
              if (lo >= 0xDC00 && lo <= 0xDFFF)
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
              else
                return false;
            } else {
              return false;
            }
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            return false;
          }
          append_utf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }
  bool read_int(int64_t* v) {
    ws();
    bool neg = false;
    if (p < end && *p == '-') {
      neg = true;
      ++p;
    }
    if (p >= end || *p < '0' || *p > '9') return false;
    int64_t x = 0;
    while (p < end && *p >= '0' && *p <= '9') {
      x = x * 10 + (*p - '0');
      if (x > (1LL << 40)) return false;
      ++p;
    }
    *v = neg ? -x : x;
    return true;
  }
};

[[noreturn]] void fail(const std::string& source, const std::string& path,
                       const std::string& what) {
  throw FormatError(source + ": " + path + ": " + what);
}

void parse_vocab(std::string_view s, const std::string& source, ModelData* data) {
  Scanner sc{s.data(), s.data() + s.size()};
  sc.ws();
  ++sc.p;  // '{'
  std::string key;
  size_t idx = 0;
  data->vocab.reserve(s.size() / 16);
  while (true) {
    sc.ws();
    if (sc.p < sc.end && *sc.p == '}') break;
    // Built only on failure: an allocation per entry was a measurable part of the load.
    auto where = [&] { return "model.vocab (entry " + std::to_string(idx) + ")"; };
    if (!sc.read_string(&key)) fail(source, where(), "expected a \"token\" string key");
    sc.ws();
    if (sc.p >= sc.end || *sc.p != ':') fail(source, where(), "expected ':'");
    ++sc.p;
    int64_t v;
    if (!sc.read_int(&v) || v < 0 || v > (1LL << 30))
      fail(source, "model.vocab[\"" + key + "\"]", "expected a non-negative integer id");
    data->vocab.emplace_back(std::move(key), static_cast<int32_t>(v));
    ++idx;
    sc.ws();
    if (sc.p < sc.end && *sc.p == ',') {
      ++sc.p;
      continue;
    }
    if (sc.p < sc.end && *sc.p == '}') break;
    fail(source, where(), "expected ',' or '}'");
  }
  data->have_vocab = true;
}

void parse_merges(std::string_view s, const std::string& source, ModelData* data) {
  Scanner sc{s.data(), s.data() + s.size()};
  sc.ws();
  ++sc.p;  // '['
  std::string a, b;
  size_t idx = 0;
  data->merges.reserve(s.size() / 12, s.size() / 2);
  while (true) {
    sc.ws();
    if (sc.p < sc.end && *sc.p == ']') break;
    auto where = [&] { return "model.merges[" + std::to_string(idx) + "]"; };
    if (sc.p < sc.end && *sc.p == '"') {
      if (!sc.read_string(&a)) fail(source, where(), "malformed string");
      size_t sp = a.find(' ');
      if (sp == std::string::npos)
        fail(source, where(), "expected \"left right\" (two tokens separated by a space)");
      data->merges.add(std::string_view(a).substr(0, sp), std::string_view(a).substr(sp + 1));
    } else if (sc.p < sc.end && *sc.p == '[') {
      ++sc.p;
      sc.ws();
      if (!sc.read_string(&a)) fail(source, where(), "expected [\"left\", \"right\"]");
      sc.ws();
      if (sc.p >= sc.end || *sc.p != ',') fail(source, where(), "expected [\"left\", \"right\"]");
      ++sc.p;
      sc.ws();
      if (!sc.read_string(&b)) fail(source, where(), "expected [\"left\", \"right\"]");
      sc.ws();
      if (sc.p >= sc.end || *sc.p != ']') fail(source, where(), "expected [\"left\", \"right\"]");
      ++sc.p;
      data->merges.add(a, b);
    } else {
      fail(source, where(), "expected \"left right\" or [\"left\", \"right\"]");
    }
    ++idx;
    sc.ws();
    if (sc.p < sc.end && *sc.p == ',') {
      ++sc.p;
      continue;
    }
    if (sc.p < sc.end && *sc.p == ']') break;
    fail(source, where(), "expected ',' or ']'");
  }
  data->have_merges = true;
}

// Finds the [begin, end) spans of model.vocab (object) and model.merges (array).
bool locate(std::string_view text, std::pair<size_t, size_t>* vocab,
            std::pair<size_t, size_t>* merges) {
  Scanner sc{text.data(), text.data() + text.size()};
  std::string key;
  auto iterate_object = [&](auto&& on_key) -> bool {
    sc.ws();
    if (sc.p >= sc.end || *sc.p != '{') return false;
    ++sc.p;
    while (true) {
      sc.ws();
      if (sc.p < sc.end && *sc.p == '}') {
        ++sc.p;
        return true;
      }
      if (!sc.read_string(&key)) return false;
      sc.ws();
      if (sc.p >= sc.end || *sc.p != ':') return false;
      ++sc.p;
      sc.ws();
      if (!on_key(key)) return false;
      sc.ws();
      if (sc.p < sc.end && *sc.p == ',') {
        ++sc.p;
        continue;
      }
      if (sc.p < sc.end && *sc.p == '}') {
        ++sc.p;
        return true;
      }
      return false;
    }
  };
  return iterate_object([&](const std::string& k) {
    if (k == "model" && sc.p < sc.end && *sc.p == '{') {
      return iterate_object([&](const std::string& mk) {
        const char* start = sc.p;
        bool is_obj = sc.p < sc.end && *sc.p == '{';
        bool is_arr = sc.p < sc.end && *sc.p == '[';
        if (!sc.skip_value()) return false;
        size_t b = start - text.data(), e = sc.p - text.data();
        if (mk == "vocab" && is_obj) *vocab = {b, e};
        if (mk == "merges" && is_arr) *merges = {b, e};
        return true;
      });
    }
    return sc.skip_value();
  });
}

}  // namespace

void parse_tokenizer_json(std::string_view text, const std::string& source, json* rest,
                          ModelData* data) {
  std::pair<size_t, size_t> vs{0, 0}, ms{0, 0};
  std::string cut;
  std::string_view doc = text;
  if (locate(text, &vs, &ms) && (vs.second > vs.first || ms.second > ms.first)) {
    // Cut the spans out (replace by empty containers), last one first.
    std::vector<std::pair<std::pair<size_t, size_t>, const char*>> spans;
    if (vs.second > vs.first) spans.push_back({vs, "{}"});
    if (ms.second > ms.first) spans.push_back({ms, "[]"});
    std::sort(spans.begin(), spans.end(),
              [](auto& x, auto& y) { return x.first.first < y.first.first; });
    cut.reserve(text.size() - (vs.second - vs.first) - (ms.second - ms.first) + 8);
    size_t pos = 0;
    for (auto& [sp, rep] : spans) {
      cut.append(text.substr(pos, sp.first - pos));
      cut.append(rep);
      pos = sp.second;
    }
    cut.append(text.substr(pos));
    doc = cut;
  }
  // The size limit applies to the whole file; the rest (everything but the two big arrays, which
  // the flat parsers below read without recursion) goes through the program's one JSON reader
  // and its depth limit.
  const JsonLimits limits;
  if (text.size() > limits.max_bytes)
    throw FormatError(source + ": JSON document of " + std::to_string(text.size()) +
                      " bytes is larger than the limit of " + std::to_string(limits.max_bytes) +
                      " bytes");
  *rest = parse_json(doc, source, limits);
  if (vs.second > vs.first) parse_vocab(text.substr(vs.first, vs.second - vs.first), source, data);
  if (ms.second > ms.first) parse_merges(text.substr(ms.first, ms.second - ms.first), source, data);
}

}  // namespace deepfuse::tok
