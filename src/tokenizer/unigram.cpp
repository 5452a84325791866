// Unigram (SentencePiece) model: Viterbi over the scored pieces, unknown characters scored
// min_score - 10 and fused, optional byte fallback (<0xXX> pieces) for unknown spans.
#include <algorithm>
#include <array>
#include <cmath>

#include "core/error.h"
#include "tokenizer/model_common.h"

namespace deepfuse::tok {

namespace {

class Unigram : public Model {
 public:
  Unigram(std::vector<std::pair<std::string, double>> pieces, std::optional<int32_t> unk,
          bool byte_fallback)
      : pieces_(std::move(pieces)), unk_(unk), byte_fallback_(byte_fallback) {
    min_score_ = 0;
    for (size_t i = 0; i < pieces_.size(); ++i) {
      map_.emplace(pieces_[i].first, static_cast<int32_t>(i));
      max_len_ = std::max(max_len_, pieces_[i].first.size());
      if (i == 0 || pieces_[i].second < min_score_) min_score_ = pieces_[i].second;
    }
    for (int b = 0; b < 256; ++b) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
      auto it = map_.find(std::string_view(buf));
      byte_ids_[b] = it == map_.end() ? -1 : it->second;
    }
  }

  void tokenize(std::string_view text, bool, std::vector<Token>* out) const override {
    size_t n = text.size();
    if (n == 0) return;
    const double kUnkPenalty = 10.0;
    double unk_score = min_score_ - kUnkPenalty;
    std::vector<double> best(n + 1, -INFINITY);
    std::vector<int32_t> best_id(n + 1, -2);  // -1 = unk node
    std::vector<size_t> best_start(n + 1, 0);
    best[0] = 0;
    size_t i = 0;
    while (i < n) {
      int clen = utf8_len_of_lead(static_cast<uint8_t>(text[i]));
      if (i + clen > n) clen = static_cast<int>(n - i);
      if (best[i] > -INFINITY) {
        bool single = false;
        size_t maxl = std::min(max_len_, n - i);
        for (size_t l = 1; l <= maxl; ++l) {
          // Only char-aligned ends.
          if (i + l < n && (static_cast<uint8_t>(text[i + l]) & 0xC0) == 0x80) continue;
          auto it = map_.find(text.substr(i, l));
          if (it == map_.end()) continue;
          if (l == static_cast<size_t>(clen)) single = true;
          double sc = best[i] + pieces_[it->second].second;
          if (sc > best[i + l]) {
            best[i + l] = sc;
            best_id[i + l] = it->second;
            best_start[i + l] = i;
          }
        }
        if (!single) {
          double sc = best[i] + unk_score;
          if (sc > best[i + clen]) {
            best[i + clen] = sc;
            best_id[i + clen] = -1;
            best_start[i + clen] = i;
          }
        }
      }
      i += clen;
    }
    // Backtrack.
    std::vector<std::pair<int32_t, Span>> path;
    size_t e = n;
    while (e > 0) {
      size_t b = best_start[e];
      path.push_back({best_id[e], {static_cast<uint32_t>(b), static_cast<uint32_t>(e)}});
      e = b;
    }
    std::reverse(path.begin(), path.end());
    // Fuse consecutive unknowns, then byte fallback / unk id.
    for (size_t k = 0; k < path.size(); ++k) {
      if (path[k].first >= 0) {
        out->push_back({path[k].first, path[k].second});
        continue;
      }
      Span sp = path[k].second;
      while (k + 1 < path.size() && path[k + 1].first < 0) sp.second = path[++k].second.second;
      std::string_view piece = text.substr(sp.first, sp.second - sp.first);
      if (byte_fallback_) {
        bool all = true;
        for (unsigned char c : piece)
          if (byte_ids_[c] < 0) all = false;
        if (all) {
          // Every byte token carries the whole unknown span (HF Unigram).
          for (unsigned char q : piece) out->push_back({byte_ids_[q], sp});
          continue;
        }
      }
      if (!unk_)
        throw InvalidArgument(
            "Unigram: text contains characters outside the vocabulary and the "
            "model has no unk_id");
      out->push_back({*unk_, sp});
    }
  }
  std::optional<int32_t> token_to_id(std::string_view t) const override {
    auto it = map_.find(t);
    if (it == map_.end()) return std::nullopt;
    return it->second;
  }
  const std::string* id_to_token(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= pieces_.size()) return nullptr;
    return &pieces_[id].first;
  }
  size_t vocab_size() const override { return pieces_.size(); }

 private:
  std::vector<std::pair<std::string, double>> pieces_;
  VocabMap map_;
  std::optional<int32_t> unk_;
  bool byte_fallback_;
  double min_score_ = 0;
  size_t max_len_ = 1;
  std::array<int32_t, 256> byte_ids_{};
};

}  // namespace

std::unique_ptr<Model> make_unigram(const json& j, const std::string& path) {
  const json& voc = field(j, "vocab", path);
  if (!voc.is_array()) bad(path + ".vocab", "expected an array of [piece, score]");
  std::vector<std::pair<std::string, double>> pieces;
  pieces.reserve(voc.size());
  for (size_t i = 0; i < voc.size(); ++i) {
    const json& e = voc[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      bad(path + ".vocab[" + std::to_string(i) + "]", "expected [piece, score]");
    pieces.emplace_back(e[0].get<std::string>(), e[1].get<double>());
  }
  std::optional<int32_t> unk;
  if (j.contains("unk_id") && !j["unk_id"].is_null()) {
    if (!j["unk_id"].is_number_integer()) bad(path + ".unk_id", "expected an integer or null");
    int64_t u = j["unk_id"].get<int64_t>();
    if (u < 0 || static_cast<size_t>(u) >= pieces.size())
      bad(path + ".unk_id", "id " + std::to_string(u) + " is outside the vocab (size " +
                                std::to_string(pieces.size()) + ")");
    unk = static_cast<int32_t>(u);
  }
  return std::make_unique<Unigram>(std::move(pieces), unk,
                                   opt_bool(j, "byte_fallback", path, false));
}

}  // namespace deepfuse::tok
