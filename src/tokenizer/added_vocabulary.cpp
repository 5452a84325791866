#include "tokenizer/added_vocabulary.h"

#include <algorithm>

namespace deepfuse::tok {

void AddedVocabulary::insert(Trie* t, const std::string& key, int32_t token) {
  if (key.empty()) return;
  if (t->nodes.empty()) t->nodes.emplace_back();
  int32_t cur = 0;
  for (unsigned char c : key) {
    int32_t nxt = -1;
    for (auto& [b, idx] : t->nodes[cur].next)
      if (b == c) {
        nxt = idx;
        break;
      }
    if (nxt < 0) {
      nxt = static_cast<int32_t>(t->nodes.size());
      t->nodes[cur].next.emplace_back(c, nxt);
      t->nodes.emplace_back();
    }
    cur = nxt;
  }
  // First token with this content wins (HF keeps one entry per content).
  if (t->nodes[cur].token < 0) t->nodes[cur].token = token;
  t->first_byte[static_cast<uint8_t>(key[0])] = true;
}

void AddedVocabulary::build(std::vector<AddedToken> tokens, const Normalizer* normalizer) {
  tokens_ = std::move(tokens);
  raw_ = Trie();
  norm_ = Trie();
  for (size_t i = 0; i < tokens_.size(); ++i) {
    const auto& t = tokens_[i];
    by_id_.emplace(t.id, i);
    by_content_.emplace(t.content, i);
    if (t.normalized && normalizer) {
      NormalizedString ns(t.content, 0);
      normalizer->normalize(&ns);
      insert(&norm_, ns.str(), static_cast<int32_t>(i));
    } else if (t.normalized) {
      insert(&norm_, t.content, static_cast<int32_t>(i));
    } else {
      insert(&raw_, t.content, static_cast<int32_t>(i));
    }
  }
}

const AddedToken* AddedVocabulary::by_id(int32_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

int32_t AddedVocabulary::longest(const Trie& t, std::string_view text, size_t i,
                                 size_t* len) const {
  int32_t cur = 0, best = -1;
  for (size_t k = i; k < text.size(); ++k) {
    auto c = static_cast<uint8_t>(text[k]);
    int32_t nxt = -1;
    for (auto& [b, idx] : t.nodes[cur].next)
      if (b == c) {
        nxt = idx;
        break;
      }
    if (nxt < 0) break;
    cur = nxt;
    if (t.nodes[cur].token >= 0) {
      best = t.nodes[cur].token;
      *len = k + 1 - i;
    }
  }
  return best;
}

namespace {
bool is_word_char(char32_t c) {
  return is_alphanumeric(c) || c == '_';
}

char32_t last_char(std::string_view s) {
  if (s.empty()) return 0;
  size_t k = s.size() - 1;
  while (k > 0 && (static_cast<uint8_t>(s[k]) & 0xC0) == 0x80) --k;
  int len;
  return decode_utf8(s.data(), s.size(), k, &len);
}
}  // namespace

void AddedVocabulary::split(const Split& s, bool normalized_trie, std::vector<Split>* out) const {
  const Trie& t = normalized_trie ? norm_ : raw_;
  const std::string& text = s.ns.str();
  if (t.empty() || text.empty()) {
    if (!text.empty()) out->push_back(s);
    return;
  }
  struct M {
    size_t b, e;
    int32_t tok;
  };
  std::vector<M> ms;
  size_t start_offset = 0;  // end of the previous match
  size_t i = 0, n = text.size();
  while (i < n) {
    if (!t.first_byte[static_cast<uint8_t>(text[i])]) {
      ++i;
      continue;
    }
    size_t len = 0;
    int32_t tok = longest(t, text, i, &len);
    if (tok < 0) {
      ++i;
      continue;
    }
    size_t b = i, e = i + len;
    const AddedToken& at = tokens_[tok];
    if (at.single_word) {
      bool start_ok = b == 0 || !is_word_char(last_char(std::string_view(text).substr(0, b)));
      int l2;
      bool stop_ok = e == n || !is_word_char(decode_utf8(text.data(), n, e, &l2));
      if (!start_ok || !stop_ok) {
        // HF's automaton continues after this (rejected) match's end.
        i = e;
        continue;
      }
    }
    if (at.lstrip) {
      size_t nb = b;
      while (nb > 0) {
        size_t k = nb - 1;
        while (k > 0 && (static_cast<uint8_t>(text[k]) & 0xC0) == 0x80) --k;
        int l;
        if (!is_whitespace(decode_utf8(text.data(), n, k, &l))) break;
        nb = k;
      }
      b = std::max(nb, start_offset);
    }
    if (at.rstrip) {
      while (e < n) {
        int l;
        if (!is_whitespace(decode_utf8(text.data(), n, e, &l))) break;
        e += l;
      }
    }
    ms.push_back({b, e, at.id});
    start_offset = e;
    i = e;
  }
  if (ms.empty()) {
    out->push_back(s);
    return;
  }
  size_t pos = 0;
  for (auto& m : ms) {
    if (m.b > pos) {
      Split p;
      p.ns = s.ns.slice(pos, m.b);
      out->push_back(std::move(p));
    }
    Split a;
    a.ns = s.ns.slice(m.b, m.e);
    a.added_id = m.tok;
    out->push_back(std::move(a));
    pos = m.e;
  }
  if (pos < n) {
    Split p;
    p.ns = s.ns.slice(pos, n);
    out->push_back(std::move(p));
  }
}

}  // namespace deepfuse::tok
