// Banned phrases, blocked however the model would tokenise them.
//
// A phrase can be spelled by many token sequences ("kill" = "kill" | "k"+"ill" | "ki"+"ll"...,
// Chinese phrases by whole-character or byte tokens). Instead of listing sequences, the
// processor follows the generated text itself: an Aho-Corasick automaton over the normalised
// phrases (NFKC + case folding, text_normalize.h) is advanced over the text generated so far;
// at each step every candidate token whose normalised text, appended to that text, would
// complete a phrase is masked to -inf. The per-token texts are computed once per vocabulary
// (TokenTextSource::token_bytes) and the banned set of each automaton state is cached, so a
// step usually costs one lookup plus masking.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "deepfuse/generation.h"

namespace deepfuse::engine {

struct PhraseMatch {
  size_t begin = 0, end = 0;  // byte span in the original text
  size_t phrase = 0;          // index into phrases()
};

class BannedPhraseIndex {
 public:
  // `vocab` (may be null) is needed only for processors; find() works without it.
  // InvalidArgument when the list is empty after normalisation or too large (> 1 MiB).
  BannedPhraseIndex(std::vector<std::string> phrases, std::shared_ptr<const TokenTextSource> vocab);

  // One phrase per line (UTF-8); blank lines and lines starting with '#' are skipped.
  static std::vector<std::string> read_phrase_file(const std::string& path);

  const std::vector<std::string>& phrases() const { return phrases_; }
  // Every occurrence of a phrase in `text` (normalised matching), in text order.
  std::vector<PhraseMatch> find(std::string_view text) const;

  // Automaton interface used by the processor.
  int32_t advance(int32_t state, std::string_view normalized_bytes, bool* hit) const;
  // Tokens that would complete a phrase from `state` (cached; thread-safe).
  std::shared_ptr<const std::vector<int32_t>> banned_from(int32_t state) const;
  const std::string& token_raw(int32_t id) const { return token_raw_[static_cast<size_t>(id)]; }
  int64_t vocab_size() const { return static_cast<int64_t>(token_raw_.size()); }

 private:
  std::vector<std::string> phrases_;      // as given
  std::vector<std::string> phrase_norm_;  // normalised, space runs collapsed (per phrase)
  std::vector<int32_t> goto_;             // [states, 256] dense transitions
  std::vector<int32_t> out_;              // per state: a phrase ends here (-1: none)
  std::vector<std::string> token_raw_;    // raw bytes per token
  std::vector<std::string> token_norm_;   // normalised bytes per token (incomplete tail raw)
  mutable std::mutex cache_mu_;
  mutable std::map<int32_t, std::shared_ptr<const std::vector<int32_t>>> cache_;
};

// One processor per sequence (it follows that sequence's text). `interventions()` counts the
// steps where the best-scoring token was masked, i.e. where blocking changed the output.
class BannedPhraseProcessor : public LogitsProcessor {
 public:
  explicit BannedPhraseProcessor(std::shared_ptr<const BannedPhraseIndex> index);
  void process(const GenerationState& state, std::span<float> scores) override;
  int64_t interventions() const { return interventions_; }

 private:
  void consume(int32_t token);
  std::shared_ptr<const BannedPhraseIndex> index_;
  int64_t consumed_ = 0;  // generated tokens folded into state_
  int32_t state_ = 0;
  std::string pending_;  // raw bytes of an incomplete trailing character
  int64_t interventions_ = 0;
};

}  // namespace deepfuse::engine
