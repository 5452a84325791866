// Decoders: ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse, Strip, Replace, BPEDecoder and
// Sequence, each a decode_chain over the token strings (HF semantics).
#include <memory>

#include "core/error.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"

namespace deepfuse::tok {

namespace {

class ByteLevelDec : public Decoder {
 public:
  void decode_chain(std::vector<std::string>* toks) const override {
    std::string bytes;
    for (auto& t : *toks) {
      size_t start = bytes.size();
      bool ok = true;
      size_t i = 0;
      while (i < t.size()) {
        int len;
        char32_t c = decode_utf8(t.data(), t.size(), i, &len);
        int b = unicode_to_byte(c);
        if (b < 0) {
          ok = false;
          break;
        }
        bytes.push_back(static_cast<char>(b));
        i += len;
      }
      if (!ok) {
        bytes.resize(start);
        bytes += t;
      }
    }
    toks->assign(1, from_utf8_lossy(bytes));
  }
};

void replace_all(std::string* s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  size_t pos = 0;
  std::string out;
  bool any = false;
  while (true) {
    size_t f = s->find(from, pos);
    if (f == std::string::npos) break;
    any = true;
    out.append(*s, pos, f - pos);
    out.append(to);
    pos = f + from.size();
  }
  if (!any) return;
  out.append(*s, pos, std::string::npos);
  *s = std::move(out);
}

std::string cleanup(std::string s) {
  replace_all(&s, " .", ".");
  replace_all(&s, " ?", "?");
  replace_all(&s, " !", "!");
  replace_all(&s, " ,", ",");
  replace_all(&s, " ' ", "'");
  replace_all(&s, " n't", "n't");
  replace_all(&s, " 'm", "'m");
  replace_all(&s, " do not", " don't");
  replace_all(&s, " 's", "'s");
  replace_all(&s, " 've", "'ve");
  replace_all(&s, " 're", "'re");
  return s;
}

class WordPieceDec : public Decoder {
 public:
  WordPieceDec(std::string prefix, bool clean) : prefix_(std::move(prefix)), clean_(clean) {}
  void decode_chain(std::vector<std::string>* toks) const override {
    for (size_t i = 0; i < toks->size(); ++i) {
      std::string& t = (*toks)[i];
      if (i != 0) {
        if (t.compare(0, prefix_.size(), prefix_) == 0)
          t.erase(0, prefix_.size());
        else
          t.insert(0, " ");
      }
      if (clean_) t = cleanup(std::move(t));
    }
  }

 private:
  std::string prefix_;
  bool clean_;
};

class MetaspaceDec : public Decoder {
 public:
  MetaspaceDec(std::string rep, bool strip_first)
      : rep_(std::move(rep)), strip_first_(strip_first) {}
  void decode_chain(std::vector<std::string>* toks) const override {
    for (size_t i = 0; i < toks->size(); ++i) {
      std::string& t = (*toks)[i];
      replace_all(&t, rep_, " ");
      if (i == 0 && strip_first_ && !t.empty() && t[0] == ' ') t.erase(0, 1);
    }
  }

 private:
  std::string rep_;
  bool strip_first_;
};

class ByteFallbackDec : public Decoder {
 public:
  void decode_chain(std::vector<std::string>* toks) const override {
    std::vector<std::string> out;
    std::string pending;
    auto flush = [&] {
      if (pending.empty()) return;
      if (is_valid_utf8(pending)) {
        out.push_back(pending);
      } else {
        for (size_t k = 0; k < pending.size(); ++k) out.push_back("\xEF\xBF\xBD");
      }
      pending.clear();
    };
    for (auto& t : *toks) {
      int b = parse_byte(t);
      if (b >= 0) {
        pending.push_back(static_cast<char>(b));
        continue;
      }
      flush();
      out.push_back(std::move(t));
    }
    flush();
    *toks = std::move(out);
  }
  static int parse_byte(const std::string& t) {
    if (t.size() != 6 || t[0] != '<' || t[1] != '0' || t[2] != 'x' || t[5] != '>') return -1;
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      return -1;
    };
    int h = hex(t[3]), l = hex(t[4]);
    if (h < 0 || l < 0) return -1;
    return h * 16 + l;
  }
};

class FuseDec : public Decoder {
 public:
  void decode_chain(std::vector<std::string>* toks) const override {
    std::string all;
    for (auto& t : *toks) all += t;
    toks->assign(1, std::move(all));
  }
};

class StripDec : public Decoder {
 public:
  StripDec(char32_t c, size_t start, size_t stop) : c_(c), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>* toks) const override {
    for (auto& t : *toks) {
      std::vector<std::pair<size_t, char32_t>> chars;
      size_t i = 0;
      while (i < t.size()) {
        int len;
        chars.push_back({i, decode_utf8(t.data(), t.size(), i, &len)});
        i += len;
      }
      size_t sc = 0;
      for (size_t k = 0; k < std::min(start_, chars.size()); ++k) {
        if (chars[k].second == c_)
          sc = k + 1;
        else
          break;
      }
      size_t ec = chars.size();
      for (size_t k = 0; k < std::min(stop_, chars.size()); ++k) {
        size_t idx = chars.size() - k - 1;
        if (chars[idx].second == c_)
          ec = idx;
        else
          break;
      }
      if (ec < sc) ec = sc;
      size_t bb = sc < chars.size() ? chars[sc].first : t.size();
      size_t eb = ec < chars.size() ? chars[ec].first : t.size();
      t = t.substr(bb, eb - bb);
    }
  }

 private:
  char32_t c_;
  size_t start_, stop_;
};

class ReplaceDec : public Decoder {
 public:
  ReplaceDec(std::string lit, std::unique_ptr<Regex> re, std::string content)
      : lit_(std::move(lit)), re_(std::move(re)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>* toks) const override {
    for (auto& t : *toks) {
      if (!re_) {
        replace_all(&t, lit_, content_);
        continue;
      }
      std::vector<std::pair<size_t, size_t>> m;
      re_->find_all(t, &m);
      if (m.empty()) continue;
      std::string out;
      size_t pos = 0;
      for (auto [b, e] : m) {
        out.append(t, pos, b - pos);
        out += content_;
        pos = e;
      }
      out.append(t, pos, std::string::npos);
      t = std::move(out);
    }
  }

 private:
  std::string lit_;
  std::unique_ptr<Regex> re_;
  std::string content_;
};

class BpeDec : public Decoder {
 public:
  explicit BpeDec(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>* toks) const override {
    for (size_t i = 0; i < toks->size(); ++i)
      replace_all(&(*toks)[i], suffix_, i + 1 == toks->size() ? "" : " ");
  }

 private:
  std::string suffix_;
};

class SequenceDec : public Decoder {
 public:
  explicit SequenceDec(std::vector<std::unique_ptr<Decoder>> v) : v_(std::move(v)) {}
  void decode_chain(std::vector<std::string>* toks) const override {
    for (auto& d : v_) d->decode_chain(toks);
  }

 private:
  std::vector<std::unique_ptr<Decoder>> v_;
};

}  // namespace

std::unique_ptr<Decoder> make_decoder(const json& j, const std::string& path) {
  if (j.is_null()) return nullptr;
  std::string type = get_string(j, "type", path);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
  if (type == "WordPiece")
    return std::make_unique<WordPieceDec>(opt_string(j, "prefix", path, "##"),
                                          opt_bool(j, "cleanup", path, true));
  if (type == "Metaspace") {
    std::string rep = opt_string(j, "replacement", path, "\xE2\x96\x81");
    bool strip = true;
    if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string())
      strip = j["prepend_scheme"].get<std::string>() != "never";
    else if (j.contains("add_prefix_space"))
      strip = opt_bool(j, "add_prefix_space", path, true);
    return std::make_unique<MetaspaceDec>(rep, strip);
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
  if (type == "Fuse") return std::make_unique<FuseDec>();
  if (type == "Strip") {
    std::string c = get_string(j, "content", path);
    if (c.empty()) bad(path + ".content", "expected one character");
    int len;
    char32_t cp = decode_utf8(c.data(), c.size(), 0, &len);
    auto num = [&](const char* k) -> size_t {
      if (!j.contains(k)) return 0;
      if (!j[k].is_number_unsigned()) bad(path + "." + k, "expected a non-negative integer");
      return j[k].get<size_t>();
    };
    return std::make_unique<StripDec>(cp, num("start"), num("stop"));
  }
  if (type == "Replace") {
    const json& p = field(j, "pattern", path);
    std::string lit;
    std::unique_ptr<Regex> re;
    if (p.is_object() && p.contains("String"))
      lit = get_string(p, "String", path + ".pattern");
    else if (p.is_object() && p.contains("Regex"))
      re = std::make_unique<Regex>(get_string(p, "Regex", path + ".pattern"),
                                   path + ".pattern.Regex");
    else
      bad(path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
    return std::make_unique<ReplaceDec>(lit, std::move(re), get_string(j, "content", path));
  }
  if (type == "BPEDecoder") return std::make_unique<BpeDec>(opt_string(j, "suffix", path, "</w>"));
  if (type == "Sequence") {
    const json& arr = field(j, "decoders", path);
    if (!arr.is_array()) bad(path + ".decoders", "expected an array");
    std::vector<std::unique_ptr<Decoder>> v;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto d = make_decoder(arr[i], path + ".decoders[" + std::to_string(i) + "]");
      if (d) v.push_back(std::move(d));
    }
    return std::make_unique<SequenceDec>(std::move(v));
  }
  bad(path + ".type", "unknown decoder type '" + type +
                          "' (expected ByteLevel, WordPiece, Metaspace, ByteFallback, Fuse, Strip, "
                          "Replace, BPEDecoder or Sequence)");
}

}  // namespace deepfuse::tok
