// Normalizers: NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, Strip, Replace, Prepend,
// BertNormalizer, Precompiled (SentencePiece charsmap) and Sequence.
#include <memory>

#include "core/error.h"
#include "tokenizer/components.h"
#include "tokenizer/precompiled_charsmap.h"
#include "tokenizer/regex.h"

namespace deepfuse::tok {

namespace {

class UnicodeNorm : public Normalizer {
 public:
  explicit UnicodeNorm(NormForm f) : f_(f) {}
  void normalize(NormalizedString* s) const override { s->normalize(f_); }

 private:
  NormForm f_;
};

class Lowercase : public Normalizer {
 public:
  void normalize(NormalizedString* s) const override {
    s->map_chars([](char32_t c, std::string* out) { append_lowercase(out, c); });
  }
};

class StripAccents : public Normalizer {
 public:
  void normalize(NormalizedString* s) const override {
    s->map_chars([](char32_t c, std::string* out) {
      if (!is_combining_mark(c)) append_utf8(out, c);
    });
  }
};

class Strip : public Normalizer {
 public:
  Strip(bool l, bool r) : l_(l), r_(r) {}
  void normalize(NormalizedString* s) const override { s->strip(l_, r_); }

 private:
  bool l_, r_;
};

class Prepend : public Normalizer {
 public:
  explicit Prepend(std::string p) : p_(std::move(p)) {}
  void normalize(NormalizedString* s) const override {
    if (!s->empty()) s->prepend(p_);
  }

 private:
  std::string p_;
};

class Replace : public Normalizer {
 public:
  Replace(std::string lit, std::unique_ptr<Regex> re, std::string content)
      : lit_(std::move(lit)), re_(std::move(re)), content_(std::move(content)) {}
  void normalize(NormalizedString* s) const override {
    std::vector<std::pair<size_t, size_t>> m;
    find(s->str(), &m);
    if (!m.empty()) s->replace_ranges(m, content_);
  }
  void find(const std::string& text, std::vector<std::pair<size_t, size_t>>* m) const {
    if (re_) {
      re_->find_all(text, m);
      return;
    }
    if (lit_.empty()) return;
    size_t pos = 0;
    while ((pos = text.find(lit_, pos)) != std::string::npos) {
      m->emplace_back(pos, pos + lit_.size());
      pos += lit_.size();
    }
  }

 private:
  std::string lit_;
  std::unique_ptr<Regex> re_;
  std::string content_;
};

class BertNormalizer : public Normalizer {
 public:
  BertNormalizer(bool clean, bool chinese, bool strip, bool lower)
      : clean_(clean), chinese_(chinese), strip_(strip), lower_(lower) {}
  void normalize(NormalizedString* s) const override {
    if (clean_)
      s->map_chars([](char32_t c, std::string* out) {
        if (c == 0 || c == 0xFFFD || is_bert_control(c)) return;
        if (is_bert_whitespace(c))
          out->push_back(' ');
        else
          append_utf8(out, c);
      });
    if (chinese_)
      s->map_chars([](char32_t c, std::string* out) {
        if (is_chinese_char(c)) {
          out->push_back(' ');
          append_utf8(out, c);
          out->push_back(' ');
        } else {
          append_utf8(out, c);
        }
      });
    if (strip_) {
      // HF's BertNormalizer strips only nonspacing marks (Mn), unlike StripAccents.
      s->normalize(NormForm::NFD);
      s->map_chars([](char32_t c, std::string* out) {
        if (!is_nonspacing_mark(c)) append_utf8(out, c);
      });
    }
    if (lower_) Lowercase().normalize(s);
  }

 private:
  bool clean_, chinese_, strip_, lower_;
};

class Precompiled : public Normalizer {
 public:
  explicit Precompiled(std::shared_ptr<PrecompiledCharsmap> m) : map_(std::move(m)) {}
  void normalize(NormalizedString* s) const override { map_->apply(s); }

 private:
  std::shared_ptr<PrecompiledCharsmap> map_;
};

class SequenceNorm : public Normalizer {
 public:
  explicit SequenceNorm(std::vector<std::unique_ptr<Normalizer>> v) : v_(std::move(v)) {}
  void normalize(NormalizedString* s) const override {
    for (auto& n : v_) n->normalize(s);
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> v_;
};

}  // namespace

// Reads a {"String": s} / {"Regex": r} pattern.
static void read_pattern(const json& j, const std::string& path, std::string* lit,
                         std::unique_ptr<Regex>* re) {
  if (!j.is_object()) bad(path, "expected {\"String\": ...} or {\"Regex\": ...}");
  if (j.contains("String")) {
    *lit = get_string(j, "String", path);
  } else if (j.contains("Regex")) {
    *re = std::make_unique<Regex>(get_string(j, "Regex", path), path + ".Regex");
  } else {
    bad(path, "expected {\"String\": ...} or {\"Regex\": ...}");
  }
}

std::unique_ptr<Normalizer> make_normalizer(const json& j, const std::string& path) {
  if (j.is_null()) return nullptr;
  std::string type = get_string(j, "type", path);
  if (type == "NFC") return std::make_unique<UnicodeNorm>(NormForm::NFC);
  if (type == "NFD") return std::make_unique<UnicodeNorm>(NormForm::NFD);
  if (type == "NFKC") return std::make_unique<UnicodeNorm>(NormForm::NFKC);
  if (type == "NFKD") return std::make_unique<UnicodeNorm>(NormForm::NFKD);
  if (type == "Lowercase") return std::make_unique<Lowercase>();
  if (type == "StripAccents") return std::make_unique<StripAccents>();
  if (type == "Strip")
    return std::make_unique<Strip>(opt_bool(j, "strip_left", path, true),
                                   opt_bool(j, "strip_right", path, true));
  if (type == "Prepend") return std::make_unique<Prepend>(get_string(j, "prepend", path));
  if (type == "Replace") {
    std::string lit;
    std::unique_ptr<Regex> re;
    read_pattern(field(j, "pattern", path), path + ".pattern", &lit, &re);
    return std::make_unique<Replace>(lit, std::move(re), get_string(j, "content", path));
  }
  if (type == "BertNormalizer") {
    bool lower = opt_bool(j, "lowercase", path, true);
    auto it = j.find("strip_accents");
    bool strip = lower;
    if (it != j.end() && !it->is_null()) strip = opt_bool(j, "strip_accents", path, lower);
    return std::make_unique<BertNormalizer>(opt_bool(j, "clean_text", path, true),
                                            opt_bool(j, "handle_chinese_chars", path, true), strip,
                                            lower);
  }
  if (type == "Precompiled") {
    const json& m = field(j, "precompiled_charsmap", path);
    if (m.is_null()) return nullptr;  // an empty charsmap is the identity
    if (!m.is_string()) bad(path + ".precompiled_charsmap", "expected a base64 string");
    return std::make_unique<Precompiled>(
        PrecompiledCharsmap::from_base64(m.get<std::string>(), path + ".precompiled_charsmap"));
  }
  if (type == "Sequence") {
    const json& arr = field(j, "normalizers", path);
    if (!arr.is_array()) bad(path + ".normalizers", "expected an array");
    std::vector<std::unique_ptr<Normalizer>> v;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto n = make_normalizer(arr[i], path + ".normalizers[" + std::to_string(i) + "]");
      if (n) v.push_back(std::move(n));
    }
    if (v.empty()) return nullptr;
    if (v.size() == 1) return std::move(v[0]);
    return std::make_unique<SequenceNorm>(std::move(v));
  }
  if (type == "ByteLevel")
    throw Unsupported(path +
                      ".type: normalizer 'ByteLevel' is not supported (expected NFC, NFD, "
                      "NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, "
                      "BertNormalizer, Precompiled or Sequence)");
  bad(path + ".type", "unknown normalizer type '" + type +
                          "' (expected NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, "
                          "Replace, Prepend, BertNormalizer, Precompiled or Sequence)");
}

}  // namespace deepfuse::tok
