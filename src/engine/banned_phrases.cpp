#include "engine/banned_phrases.h"

#include <algorithm>
#include <deque>
#include <fstream>
#include <limits>

#include "core/error.h"
#include "engine/text_normalize.h"

namespace deepfuse::engine {
namespace {

constexpr size_t kMaxPhraseBytes = 1 << 20;
constexpr size_t kMaxCachedStates = 4096;
constexpr char kReplacement[] = "\xEF\xBF\xBD";

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Normalises complete characters; a trailing incomplete sequence is kept raw.
std::string normalize_token(const std::string& raw) {
  const size_t k = complete_utf8_prefix(raw);
  return normalize_for_match(std::string_view(raw).substr(0, k)) + raw.substr(k);
}

}  // namespace

std::vector<std::string> BannedPhraseIndex::read_phrase_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DF_CHECK(in.good(), NotFound, "banned-phrase file " << path << " cannot be read");
  std::vector<std::string> out;
  std::string line;
  size_t total = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() >= 3 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // BOM
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    const auto last = line.find_last_not_of(" \t");
    out.push_back(line.substr(first, last - first + 1));
    total += out.back().size();
    DF_CHECK(total <= kMaxPhraseBytes, InvalidArgument,
             "banned-phrase file " << path << " is larger than " << kMaxPhraseBytes << " bytes");
  }
  DF_CHECK(!out.empty(), InvalidArgument,
           "banned-phrase file " << path << " holds no phrase (expected one phrase per line)");
  return out;
}

BannedPhraseIndex::BannedPhraseIndex(std::vector<std::string> phrases,
                                     std::shared_ptr<const TokenTextSource> vocab)
    : phrases_(std::move(phrases)) {
  // Trie over normalised phrases.
  goto_.assign(256, -1);
  out_.assign(1, -1);
  parent_.assign(1, -1);
  edge_.assign(1, '\0');
  std::vector<bool> entered_by_space(1, false);  // trie states whose edge byte is ' '
  size_t total = 0;
  for (size_t p = 0; p < phrases_.size(); ++p) {
    // Phrases match with any run of spaces where they have one (see the self-loops below).
    std::string norm;
    for (char c : normalize_for_match(phrases_[p]))
      if (c != ' ' || (!norm.empty() && norm.back() != ' ')) norm.push_back(c);
    while (!norm.empty() && norm.back() == ' ') norm.pop_back();
    phrase_norm_.push_back(norm);
    if (norm.empty()) continue;
    total += norm.size();
    DF_CHECK(total <= kMaxPhraseBytes, InvalidArgument,
             "banned phrases: more than " << kMaxPhraseBytes << " bytes after normalisation");
    int32_t s = 0;
    for (unsigned char c : norm) {
      int32_t& nxt = goto_[static_cast<size_t>(s) * 256 + c];
      if (nxt < 0) {
        nxt = static_cast<int32_t>(out_.size());
        out_.push_back(-1);
        parent_.push_back(s);
        edge_.push_back(static_cast<char>(c));
        entered_by_space.push_back(c == ' ');
        goto_.resize(goto_.size() + 256, -1);
      }
      s = goto_[static_cast<size_t>(s) * 256 + c];
    }
    if (out_[static_cast<size_t>(s)] < 0) out_[static_cast<size_t>(s)] = static_cast<int32_t>(p);
  }
  DF_CHECK(out_.size() > 1, InvalidArgument, "banned phrases: the list is empty");
  // BFS: failure links folded into a dense transition table; outputs inherited via failure.
  std::vector<int32_t> fail(out_.size(), 0);
  std::deque<int32_t> q;
  for (int c = 0; c < 256; ++c) {
    int32_t& t = goto_[static_cast<size_t>(c)];
    if (t < 0) {
      t = 0;
    } else {
      fail[static_cast<size_t>(t)] = 0;
      q.push_back(t);
    }
  }
  while (!q.empty()) {
    const int32_t s = q.front();
    q.pop_front();
    if (out_[static_cast<size_t>(s)] < 0)
      out_[static_cast<size_t>(s)] = out_[static_cast<size_t>(fail[static_cast<size_t>(s)])];
    for (int c = 0; c < 256; ++c) {
      int32_t& t = goto_[static_cast<size_t>(s) * 256 + static_cast<size_t>(c)];
      const int32_t via_fail =
          goto_[static_cast<size_t>(fail[static_cast<size_t>(s)]) * 256 + static_cast<size_t>(c)];
      if (t < 0) {
        t = via_fail;
      } else {
        fail[static_cast<size_t>(t)] = via_fail;
        q.push_back(t);
      }
    }
  }
  // Whitespace runs: a state entered by a space stays put on further spaces, so "kill   you"
  // matches the phrase "kill you" whatever the tokens (text, processor and check alike).
  for (size_t st = 0; st < out_.size(); ++st)
    for (int c = 0; c < 256; ++c) {
      const int32_t t = goto_[st * 256 + static_cast<size_t>(c)];
      if (c == ' ' && t > 0 && entered_by_space[static_cast<size_t>(t)])
        goto_[static_cast<size_t>(t) * 256 + ' '] = t;
    }
  if (vocab) {
    const int64_t n = vocab->vocab_size();
    token_raw_.resize(static_cast<size_t>(n));
    token_norm_.resize(static_cast<size_t>(n));
    for (int64_t id = 0; id < n; ++id) {
      token_raw_[static_cast<size_t>(id)] = vocab->token_bytes(static_cast<int32_t>(id));
      token_norm_[static_cast<size_t>(id)] = normalize_token(token_raw_[static_cast<size_t>(id)]);
    }
  }
}

int32_t BannedPhraseIndex::advance(int32_t s, std::string_view bytes, bool* hit) const {
  for (unsigned char c : bytes) {
    s = goto_[static_cast<size_t>(s) * 256 + c];
    if (out_[static_cast<size_t>(s)] >= 0 && hit) *hit = true;
  }
  return s;
}

std::shared_ptr<const std::vector<int32_t>> BannedPhraseIndex::banned_from(int32_t state) const {
  {
    std::lock_guard lock(cache_mu_);
    auto it = cache_.find(state);
    if (it != cache_.end()) return it->second;
  }
  auto banned = std::make_shared<std::vector<int32_t>>();
  for (size_t id = 0; id < token_norm_.size(); ++id) {
    bool hit = false;
    advance(state, token_norm_[id], &hit);
    if (hit) banned->push_back(static_cast<int32_t>(id));
  }
  std::lock_guard lock(cache_mu_);
  if (cache_.size() >= kMaxCachedStates) cache_.clear();
  cache_[state] = banned;
  return banned;
}

std::string BannedPhraseIndex::state_prefix(int32_t state) const {
  std::string w;
  for (int32_t s = state; s > 0; s = parent_[static_cast<size_t>(s)])
    w.push_back(edge_[static_cast<size_t>(s)]);
  std::reverse(w.begin(), w.end());
  return w;
}

size_t BannedPhraseIndex::match_start(std::string_view norm, size_t end, std::string_view pat) {
  if (pat.empty() || end == 0) return end;
  size_t j = end - 1;  // norm[j] matched the last pattern byte
  // A state entered by a space stays there on further spaces (the run ends the text).
  if (pat.back() == ' ')
    while (j > 0 && norm[j - 1] == ' ') --j;
  for (size_t k = pat.size() - 1; k > 0; --k) {
    --j;                    // norm[j] matched pat[k - 1]
    if (pat[k - 1] == ' ')  // a run of spaces matched this one pattern space
      while (j > 0 && norm[j - 1] == ' ') --j;
  }
  return j;
}

std::vector<PhraseMatch> BannedPhraseIndex::find(std::string_view text) const {
  std::vector<size_t> src;
  const std::string norm = normalize_for_match(text, &src);
  std::vector<PhraseMatch> out;
  int32_t s = 0;
  for (size_t i = 0; i < norm.size(); ++i) {
    s = goto_[static_cast<size_t>(s) * 256 + static_cast<unsigned char>(norm[i])];
    const int32_t p = out_[static_cast<size_t>(s)];
    if (p < 0) continue;
    const size_t nb = match_start(norm, i + 1, phrase_norm_[static_cast<size_t>(p)]);
    // End: the start of the next source character after the one holding the last byte.
    size_t k = i + 1;
    while (k + 1 < src.size() && src[k] == src[i]) ++k;
    const size_t end = src[k] > src[i] ? src[k] : text.size();
    out.push_back({src[nb], end, static_cast<size_t>(p)});
  }
  return out;
}

BannedPhraseScanner::BannedPhraseScanner(std::shared_ptr<const BannedPhraseIndex> index)
    : index_(std::move(index)) {
  DF_CHECK(index_ != nullptr, InvalidArgument, "BannedPhraseScanner needs an index");
}

void BannedPhraseScanner::append(std::string_view bytes) {
  if (match_begin_) return;  // the final check cuts at the first match: nothing after counts
  pending_.append(bytes);
  const size_t k = complete_utf8_prefix(pending_);
  if (k == 0) return;
  std::vector<size_t> off;
  const std::string n = normalize_for_match(std::string_view(pending_).substr(0, k), &off);
  for (size_t j = 0; j < n.size(); ++j) {
    norm_.push_back(n[j]);
    src_.push_back(consumed_ + off[j]);
    state_ = index_->step(state_, static_cast<unsigned char>(n[j]));
    const int32_t p = index_->phrase_ending_at(state_);
    if (p >= 0) {
      const size_t nb = BannedPhraseIndex::match_start(
          norm_, norm_.size(), index_->phrase_normalized(static_cast<size_t>(p)));
      match_begin_ = src_[nb];
      break;
    }
  }
  consumed_ += k;
  pending_.erase(0, k);
}

size_t BannedPhraseScanner::safe_length() const {
  if (match_begin_) return *match_begin_;
  if (state_ == 0) return consumed_;
  // Hold back from where the text's longest phrase-prefix suffix starts.
  const size_t nb =
      BannedPhraseIndex::match_start(norm_, norm_.size(), index_->state_prefix(state_));
  return nb < src_.size() ? src_[nb] : consumed_;
}

BannedPhraseProcessor::BannedPhraseProcessor(std::shared_ptr<const BannedPhraseIndex> index)
    : index_(std::move(index)) {
  DF_CHECK(index_ && index_->vocab_size() > 0, InvalidArgument,
           "BannedPhraseProcessor needs an index built with a vocabulary (TokenTextSource)");
}

void BannedPhraseProcessor::consume(int32_t token) {
  if (token < 0 || token >= index_->vocab_size()) return;
  const std::string& raw = index_->token_raw(token);
  if (raw.empty()) return;
  std::string bytes;
  if (!pending_.empty()) {
    if (is_continuation(raw[0])) {
      bytes = pending_;
    } else {
      // The incomplete character can no longer complete: the text shows U+FFFD there.
      state_ = index_->advance(state_, normalize_for_match(kReplacement), nullptr);
    }
    pending_.clear();
  }
  bytes += raw;
  const size_t k = complete_utf8_prefix(bytes);
  state_ =
      index_->advance(state_, normalize_for_match(std::string_view(bytes).substr(0, k)), nullptr);
  pending_ = bytes.substr(k);
}

void BannedPhraseProcessor::process(const GenerationState& st, std::span<float> scores) {
  const int64_t n_gen = st.num_generated();
  for (; consumed_ < n_gen; ++consumed_)
    consume(st.ids[static_cast<size_t>(st.prompt_len + consumed_)]);
  const float ninf = -std::numeric_limits<float>::infinity();
  const size_t v = std::min<size_t>(scores.size(), static_cast<size_t>(index_->vocab_size()));
  // Best candidate before masking, to count interventions.
  size_t best = 0;
  for (size_t i = 1; i < scores.size(); ++i)
    if (scores[i] > scores[best]) best = i;
  bool best_masked = false;
  auto mask = [&](size_t id) {
    if (id >= v) return;
    if (id == best && scores[id] != ninf) best_masked = true;
    scores[id] = ninf;
  };
  if (pending_.empty()) {
    for (int32_t id : *index_->banned_from(state_)) mask(static_cast<size_t>(id));
  } else {
    // Tokens continuing the incomplete character are checked one by one; any other token
    // first turns it into U+FFFD.
    const int32_t broken = index_->advance(state_, normalize_for_match(kReplacement), nullptr);
    for (int32_t id : *index_->banned_from(broken)) {
      const std::string& raw = index_->token_raw(id);
      if (raw.empty() || !is_continuation(raw[0])) mask(static_cast<size_t>(id));
    }
    for (size_t id = 0; id < v; ++id) {
      const std::string& raw = index_->token_raw(static_cast<int32_t>(id));
      if (raw.empty() || !is_continuation(raw[0])) continue;
      const std::string bytes = pending_ + raw;
      const size_t k = complete_utf8_prefix(bytes);
      bool hit = false;
      index_->advance(state_,
                      normalize_for_match(std::string_view(bytes).substr(0, k)) + bytes.substr(k),
                      &hit);
      if (hit) mask(id);
    }
  }
  if (best_masked) ++interventions_;
}

}  // namespace deepfuse::engine
