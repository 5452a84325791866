// Pre-tokenizers: ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit,
// BertPreTokenizer, Punctuation, CharDelimiterSplit and Sequence.
#include <memory>

#include "core/error.h"
#include "tokenizer/components.h"
#include "tokenizer/regex.h"

namespace deepfuse::tok {

namespace {

const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

using Matches = std::vector<std::pair<size_t, size_t>>;

// Applies `fn(split, &out)` to every non-added split.
template <typename F>
void for_each_split(std::vector<Split>* splits, F&& fn) {
  std::vector<Split> out;
  out.reserve(splits->size() * 2);
  for (auto& s : *splits) {
    if (s.added_id >= 0) {
      out.push_back(std::move(s));
      continue;
    }
    fn(s, &out);
  }
  *splits = std::move(out);
}

template <typename Pred>
void char_matches(const std::string& t, Pred&& pred, Matches* m) {
  size_t i = 0, n = t.size();
  while (i < n) {
    int len;
    char32_t c = decode_utf8(t.data(), n, i, &len);
    if (pred(c)) m->emplace_back(i, i + len);
    i += len;
  }
}

class ByteLevelPre : public PreTokenizer {
 public:
  ByteLevelPre(bool prefix, bool use_regex)
      : prefix_(prefix),
        re_(use_regex ? std::make_unique<Regex>(kGpt2Pattern, "ByteLevel") : nullptr) {}
  void pre_tokenize(std::vector<Split>* splits) const override {
    for_each_split(splits, [&](Split& s, std::vector<Split>* out) {
      if (prefix_ && (s.ns.empty() || s.ns.str()[0] != ' ')) s.ns.prepend(" ");
      s.byte_level = true;
      if (!re_) {
        out->push_back(std::move(s));
        return;
      }
      Matches m;
      re_->find_all(s.ns.str(), &m);
      split_by_matches(s, m, SplitBehavior::Isolated, false, out);
    });
  }
  bool is_byte_level() const override { return true; }

 private:
  bool prefix_;
  std::unique_ptr<Regex> re_;
};

class SplitPre : public PreTokenizer {
 public:
  SplitPre(std::string lit, std::unique_ptr<Regex> re, SplitBehavior b, bool invert)
      : lit_(std::move(lit)), re_(std::move(re)), b_(b), invert_(invert) {}
  void pre_tokenize(std::vector<Split>* splits) const override {
    Matches m;
    for_each_split(splits, [&](Split& s, std::vector<Split>* out) {
      m.clear();
      const std::string& t = s.ns.str();
      if (re_) {
        re_->find_all(t, &m);
      } else if (!lit_.empty()) {
        size_t pos = 0;
        while ((pos = t.find(lit_, pos)) != std::string::npos) {
          m.emplace_back(pos, pos + lit_.size());
          pos += lit_.size();
        }
      }
      split_by_matches(s, m, b_, invert_, out);
    });
  }

 private:
  std::string lit_;
  std::unique_ptr<Regex> re_;
  SplitBehavior b_;
  bool invert_;
};

// Splits on a character predicate.
template <typename Pred>
class CharSplitPre : public PreTokenizer {
 public:
  CharSplitPre(Pred p, SplitBehavior b) : p_(p), b_(b) {}
  void pre_tokenize(std::vector<Split>* splits) const override {
    Matches m;
    for_each_split(splits, [&](Split& s, std::vector<Split>* out) {
      m.clear();
      char_matches(s.ns.str(), p_, &m);
      split_by_matches(s, m, b_, false, out);
    });
  }

 private:
  Pred p_;
  SplitBehavior b_;
};

template <typename Pred>
std::unique_ptr<PreTokenizer> char_split(Pred p, SplitBehavior b) {
  return std::make_unique<CharSplitPre<Pred>>(p, b);
}

class WhitespacePre : public PreTokenizer {
 public:
  WhitespacePre() : re_(R"(\w+|[^\w\s]+)", "Whitespace") {}
  void pre_tokenize(std::vector<Split>* splits) const override {
    Matches m;
    for_each_split(splits, [&](Split& s, std::vector<Split>* out) {
      m.clear();
      re_.find_all(s.ns.str(), &m);
      split_by_matches(s, m, SplitBehavior::Removed, true, out);
    });
  }

 private:
  Regex re_;
};

class BertPre : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<Split>* splits) const override {
    Matches m;
    for_each_split(splits, [&](Split& s, std::vector<Split>* out) {
      m.clear();
      char_matches(
          s.ns.str(), [](char32_t c) { return is_whitespace(c); }, &m);
      std::vector<Split> words;
      split_by_matches(s, m, SplitBehavior::Removed, false, &words);
      for (auto& w : words) {
        m.clear();
        char_matches(
            w.ns.str(), [](char32_t c) { return is_bert_punctuation(c); }, &m);
        split_by_matches(w, m, SplitBehavior::Isolated, false, out);
      }
    });
  }
};

class MetaspacePre : public PreTokenizer {
 public:
  enum class Scheme { First, Always, Never };
  MetaspacePre(std::string rep, Scheme scheme, bool split)
      : rep_(std::move(rep)), scheme_(scheme), split_(split) {}
  void pre_tokenize(std::vector<Split>* splits) const override {
    Matches m;
    for_each_split(splits, [&](Split& s, std::vector<Split>* out) {
      m.clear();
      const std::string& t = s.ns.str();
      for (size_t i = 0; i < t.size(); ++i)
        if (t[i] == ' ') m.emplace_back(i, i + 1);
      if (!m.empty()) s.ns.replace_ranges(m, rep_);
      bool starts = s.ns.str().compare(0, rep_.size(), rep_) == 0;
      if (!starts &&
          (scheme_ == Scheme::Always || (scheme_ == Scheme::First && s.ns.original_begin() == 0)))
        s.ns.prepend(rep_);
      if (!split_) {
        out->push_back(std::move(s));
        return;
      }
      m.clear();
      const std::string& t2 = s.ns.str();
      size_t pos = 0;
      while ((pos = t2.find(rep_, pos)) != std::string::npos) {
        m.emplace_back(pos, pos + rep_.size());
        pos += rep_.size();
      }
      split_by_matches(s, m, SplitBehavior::MergedWithNext, false, out);
    });
  }

 private:
  std::string rep_;
  Scheme scheme_;
  bool split_;
};

class SequencePre : public PreTokenizer {
 public:
  explicit SequencePre(std::vector<std::unique_ptr<PreTokenizer>> v) : v_(std::move(v)) {}
  void pre_tokenize(std::vector<Split>* splits) const override {
    for (auto& p : v_) p->pre_tokenize(splits);
  }
  bool is_byte_level() const override {
    for (auto& p : v_)
      if (p->is_byte_level()) return true;
    return false;
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> v_;
};

}  // namespace

std::unique_ptr<PreTokenizer> make_pre_tokenizer(const json& j, const std::string& path) {
  if (j.is_null()) return nullptr;
  std::string type = get_string(j, "type", path);
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPre>(opt_bool(j, "add_prefix_space", path, true),
                                          opt_bool(j, "use_regex", path, true));
  if (type == "Split") {
    const json& p = field(j, "pattern", path);
    std::string lit;
    std::unique_ptr<Regex> re;
    if (p.is_object() && p.contains("String")) {
      lit = get_string(p, "String", path + ".pattern");
    } else if (p.is_object() && p.contains("Regex")) {
      re = std::make_unique<Regex>(get_string(p, "Regex", path + ".pattern"),
                                   path + ".pattern.Regex");
    } else {
      bad(path + ".pattern", "expected {\"String\": ...} or {\"Regex\": ...}");
    }
    return std::make_unique<SplitPre>(
        lit, std::move(re), parse_behavior(field(j, "behavior", path), path + ".behavior"),
        opt_bool(j, "invert", path, false));
  }
  if (type == "Digits") {
    bool individual = opt_bool(j, "individual_digits", path, false);
    return char_split([](char32_t c) { return is_numeric(c); },
                      individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous);
  }
  if (type == "Metaspace") {
    std::string rep = opt_string(j, "replacement", path, "\xE2\x96\x81");
    if (rep.empty()) bad(path + ".replacement", "expected one character");
    auto scheme = MetaspacePre::Scheme::Always;
    if (j.contains("prepend_scheme") && !j["prepend_scheme"].is_null()) {
      std::string s = get_string(j, "prepend_scheme", path);
      if (s == "first")
        scheme = MetaspacePre::Scheme::First;
      else if (s == "always")
        scheme = MetaspacePre::Scheme::Always;
      else if (s == "never")
        scheme = MetaspacePre::Scheme::Never;
      else
        bad(path + ".prepend_scheme",
            "unknown value '" + s + "' (expected first, always or never)");
    } else if (j.contains("add_prefix_space")) {
      scheme = opt_bool(j, "add_prefix_space", path, true) ? MetaspacePre::Scheme::Always
                                                           : MetaspacePre::Scheme::Never;
    }
    return std::make_unique<MetaspacePre>(rep, scheme, opt_bool(j, "split", path, true));
  }
  if (type == "Whitespace") return std::make_unique<WhitespacePre>();
  if (type == "WhitespaceSplit")
    return char_split([](char32_t c) { return is_whitespace(c); }, SplitBehavior::Removed);
  if (type == "BertPreTokenizer") return std::make_unique<BertPre>();
  if (type == "Punctuation") {
    SplitBehavior b = SplitBehavior::Isolated;
    if (j.contains("behavior")) b = parse_behavior(j["behavior"], path + ".behavior");
    return char_split([](char32_t c) { return is_bert_punctuation(c); }, b);
  }
  if (type == "CharDelimiterSplit") {
    std::string d = get_string(j, "delimiter", path);
    int len;
    if (d.empty()) bad(path + ".delimiter", "expected one character");
    char32_t dc = decode_utf8(d.data(), d.size(), 0, &len);
    return char_split([dc](char32_t c) { return c == dc; }, SplitBehavior::Removed);
  }
  if (type == "Sequence") {
    const json& arr = field(j, "pretokenizers", path);
    if (!arr.is_array()) bad(path + ".pretokenizers", "expected an array");
    std::vector<std::unique_ptr<PreTokenizer>> v;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto p = make_pre_tokenizer(arr[i], path + ".pretokenizers[" + std::to_string(i) + "]");
      if (p) v.push_back(std::move(p));
    }
    if (v.empty()) return nullptr;
    if (v.size() == 1) return std::move(v[0]);
    return std::make_unique<SequencePre>(std::move(v));
  }
  if (type == "UnicodeScripts")
    throw Unsupported(path + ".type: pre-tokenizer 'UnicodeScripts' is not supported");
  bad(path + ".type", "unknown pre_tokenizer type '" + type +
                          "' (expected ByteLevel, Split, Digits, Metaspace, Whitespace, "
                          "WhitespaceSplit, BertPreTokenizer, Punctuation, CharDelimiterSplit or "
                          "Sequence)");
}

}  // namespace deepfuse::tok
