// Post-processors: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel (offset
// trimming) and Sequence.
#include <algorithm>
#include <map>
#include <optional>

#include "core/error.h"
#include "tokenizer/components.h"

namespace deepfuse::tok {

namespace {

void append_seq(Seq* out, const Seq& s, int32_t type_id) {
  out->ids.insert(out->ids.end(), s.ids.begin(), s.ids.end());
  out->special.insert(out->special.end(), s.special.begin(), s.special.end());
  out->offsets.insert(out->offsets.end(), s.offsets.begin(), s.offsets.end());
  out->tokens.insert(out->tokens.end(), s.tokens.begin(), s.tokens.end());
  if (type_id >= 0)
    out->type_ids.insert(out->type_ids.end(), s.ids.size(), type_id);
  else
    out->type_ids.insert(out->type_ids.end(), s.type_ids.begin(), s.type_ids.end());
}

void append_special(Seq* out, const std::vector<int32_t>& ids, const std::vector<std::string>& toks,
                    int32_t type_id) {
  for (size_t i = 0; i < ids.size(); ++i) {
    out->ids.push_back(ids[i]);
    out->special.push_back(1);
    out->offsets.push_back({0, 0});
    out->tokens.push_back(i < toks.size() ? toks[i] : std::string());
    out->type_ids.push_back(type_id);
  }
}

// No special tokens: concatenation (type ids 0 for a, 1 for b as HF's default_process).
void plain(Seq a, Seq* b, Seq* out) {
  append_seq(out, a, 0);
  if (b) append_seq(out, *b, 1);
}

class Template : public PostProcessor {
 public:
  struct Piece {
    bool special;
    std::string id;  // special token name, or "A"/"B"
    int32_t type_id;
  };
  struct SpecialTok {
    std::vector<int32_t> ids;
    std::vector<std::string> tokens;
  };
  std::vector<Piece> single, pair;
  std::map<std::string, SpecialTok> specials;

  size_t count(const std::vector<Piece>& t) const {
    size_t n = 0;
    for (auto& p : t)
      if (p.special) n += specials.at(p.id).ids.size();
    return n;
  }
  size_t added_tokens(bool is_pair) const override { return count(is_pair ? pair : single); }
  void process(Seq a, Seq* b, bool add_special, Seq* out) const override {
    if (!add_special) return plain(std::move(a), b, out);
    const auto& t = b ? pair : single;
    for (auto& p : t) {
      if (p.special) {
        const auto& st = specials.at(p.id);
        append_special(out, st.ids, st.tokens, p.type_id);
      } else if (p.id == "A") {
        append_seq(out, a, p.type_id);
      } else if (b) {
        append_seq(out, *b, p.type_id);
      }
    }
  }
};

class BertLike : public PostProcessor {
 public:
  BertLike(std::pair<std::string, int32_t> sep, std::pair<std::string, int32_t> cls, bool roberta)
      : sep_(std::move(sep)), cls_(std::move(cls)), roberta_(roberta) {}
  size_t added_tokens(bool pair) const override { return pair ? (roberta_ ? 4 : 3) : 2; }
  void process(Seq a, Seq* b, bool add_special, Seq* out) const override {
    if (!add_special) return plain(std::move(a), b, out);
    append_special(out, {cls_.second}, {cls_.first}, 0);
    append_seq(out, a, 0);
    append_special(out, {sep_.second}, {sep_.first}, 0);
    if (b) {
      int32_t t = roberta_ ? 0 : 1;
      if (roberta_) append_special(out, {sep_.second}, {sep_.first}, t);
      append_seq(out, *b, t);
      append_special(out, {sep_.second}, {sep_.first}, t);
    }
  }

 private:
  std::pair<std::string, int32_t> sep_, cls_;
  bool roberta_;
};

// HF ByteLevel::process_offsets: drop leading/trailing spaces ('Ġ') from the offsets.
void trim_offsets(Seq* s, bool add_prefix_space) {
  static const std::string kG = "\xC4\xA0";  // 'Ġ' (byte-level space)
  for (size_t i = 0; i < s->ids.size(); ++i) {
    if (s->special[i]) continue;
    const std::string& t = s->tokens[i];
    size_t lead = 0, trail = 0;
    while (t.compare(lead * 2, 2, kG) == 0 && (lead + 1) * 2 <= t.size()) ++lead;
    if (lead * 2 < t.size())
      while (t.size() >= (trail + 1) * 2 && t.compare(t.size() - (trail + 1) * 2, 2, kG) == 0)
        ++trail;
    auto& o = s->offsets[i];
    if (lead > 0) {
      bool is_first = i == 0 || o.first == 0;
      if (is_first && add_prefix_space && lead == 1) lead = 0;
      o.first = std::min<uint32_t>(o.first + static_cast<uint32_t>(lead), o.second);
    }
    if (trail > 0 && o.second >= trail)
      o.second = std::max<uint32_t>(o.second - static_cast<uint32_t>(trail), o.first);
  }
}

class ByteLevelPost : public PostProcessor {
 public:
  ByteLevelPost(bool trim, bool prefix) : trim_(trim), prefix_(prefix) {}
  size_t added_tokens(bool) const override { return 0; }
  void process(Seq a, Seq* b, bool, Seq* out) const override {
    if (trim_) {
      trim_offsets(&a, prefix_);
      if (b) trim_offsets(b, prefix_);
    }
    plain(std::move(a), b, out);
  }

 private:
  bool trim_, prefix_;
};

class SequencePost : public PostProcessor {
 public:
  explicit SequencePost(std::vector<std::unique_ptr<PostProcessor>> v) : v_(std::move(v)) {}
  size_t added_tokens(bool pair) const override {
    size_t n = 0;
    for (auto& p : v_) n += p->added_tokens(pair);
    return n;
  }
  void process(Seq a, Seq* b, bool add_special, Seq* out) const override {
    // HF applies each processor to the encodings in turn; after the first one the pair is merged.
    Seq cur = std::move(a);
    std::optional<Seq> pb;
    if (b) pb = *b;
    for (size_t i = 0; i < v_.size(); ++i) {
      Seq o;
      v_[i]->process(std::move(cur), pb ? &*pb : nullptr, add_special, &o);
      cur = std::move(o);
      pb.reset();
    }
    append_seq(out, cur, -1);
  }

 private:
  std::vector<std::unique_ptr<PostProcessor>> v_;
};

std::pair<std::string, int32_t> read_pair(const json& j, const char* key, const std::string& path) {
  const json& v = field(j, key, path);
  if (!v.is_array() || v.size() != 2 || !v[0].is_string() || !v[1].is_number_integer())
    bad(path + "." + key, "expected [token, id]");
  return {v[0].get<std::string>(),
          static_cast<int32_t>(int_in(v[1], 0, int64_t{1} << 30, path + "." + key + "[1]"))};
}

std::vector<Template::Piece> read_template(const json& j, const std::string& path) {
  if (!j.is_array()) bad(path, "expected an array of {\"SpecialToken\"|\"Sequence\": ...}");
  std::vector<Template::Piece> v;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string p = path + "[" + std::to_string(i) + "]";
    const json& e = j[i];
    if (e.is_object() && e.contains("SpecialToken")) {
      const json& s = e["SpecialToken"];
      v.push_back({true, get_string(s, "id", p + ".SpecialToken"),
                   static_cast<int>(opt_int_in(s, "type_id", 0, 255, p + ".SpecialToken", 0))});
    } else if (e.is_object() && e.contains("Sequence")) {
      const json& s = e["Sequence"];
      std::string id = get_string(s, "id", p + ".Sequence");
      if (id != "A" && id != "B")
        bad(p + ".Sequence.id", "expected \"A\" or \"B\", got '" + id + "'");
      v.push_back(
          {false, id, static_cast<int>(opt_int_in(s, "type_id", 0, 255, p + ".Sequence", 0))});
    } else {
      bad(p, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  return v;
}

}  // namespace

std::unique_ptr<PostProcessor> make_post_processor(const json& j, const std::string& path,
                                                   const TokenLookup& lookup) {
  if (j.is_null()) return nullptr;
  std::string type = get_string(j, "type", path);
  if (type == "TemplateProcessing") {
    auto t = std::make_unique<Template>();
    t->single = read_template(field(j, "single", path), path + ".single");
    t->pair = read_template(field(j, "pair", path), path + ".pair");
    const json& st = field(j, "special_tokens", path);
    if (!st.is_object()) bad(path + ".special_tokens", "expected an object");
    for (auto it = st.begin(); it != st.end(); ++it) {
      std::string p = path + ".special_tokens[\"" + it.key() + "\"]";
      Template::SpecialTok s;
      const json& ids = field(it.value(), "ids", p);
      if (!ids.is_array()) bad(p + ".ids", "expected an array of ids");
      for (auto& x : ids) {
        s.ids.push_back(static_cast<int32_t>(int_in(x, 0, int64_t{1} << 30, p + ".ids")));
      }
      if (it.value().contains("tokens") && it.value()["tokens"].is_array())
        for (auto& x : it.value()["tokens"])
          if (x.is_string()) s.tokens.push_back(x.get<std::string>());
      t->specials[it.key()] = std::move(s);
    }
    for (auto* tpl : {&t->single, &t->pair})
      for (auto& p : *tpl)
        if (p.special && !t->specials.count(p.id))
          bad(path + ".special_tokens", "missing entry for template token '" + p.id + "'");
    return t;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing")
    return std::make_unique<BertLike>(read_pair(j, "sep", path), read_pair(j, "cls", path),
                                      type == "RobertaProcessing");
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPost>(opt_bool(j, "trim_offsets", path, true),
                                           opt_bool(j, "add_prefix_space", path, true));
  if (type == "Sequence") {
    const json& arr = field(j, "processors", path);
    if (!arr.is_array()) bad(path + ".processors", "expected an array");
    std::vector<std::unique_ptr<PostProcessor>> v;
    for (size_t i = 0; i < arr.size(); ++i) {
      auto p = make_post_processor(arr[i], path + ".processors[" + std::to_string(i) + "]", lookup);
      if (p) v.push_back(std::move(p));
    }
    if (v.empty()) return nullptr;
    return std::make_unique<SequencePost>(std::move(v));
  }
  bad(path + ".type", "unknown post_processor type '" + type +
                          "' (expected TemplateProcessing, BertProcessing, RobertaProcessing, "
                          "ByteLevel or Sequence)");
}

}  // namespace deepfuse::tok
