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
#include <optional>
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

  // Byte-level automaton access for incremental scanners (BannedPhraseScanner).
  int32_t step(int32_t state, unsigned char c) const {
    return goto_[static_cast<size_t>(state) * 256 + c];
  }
  int32_t phrase_ending_at(int32_t state) const { return out_[static_cast<size_t>(state)]; }
  // The normalised phrase prefix a state stands for (the longest suffix of the text read so
  // far that could still grow into a phrase; runs of spaces count as one space).
  std::string state_prefix(int32_t state) const;
  // Where, in normalised text `norm`, a match of `pattern` that ends at norm[end - 1] starts
  // (each pattern space may have matched a run of spaces).
  static size_t match_start(std::string_view norm, size_t end, std::string_view pattern);
  const std::string& phrase_normalized(size_t phrase) const { return phrase_norm_[phrase]; }

 private:
  std::vector<std::string> phrases_;      // as given
  std::vector<std::string> phrase_norm_;  // normalised, space runs collapsed (per phrase)
  std::vector<int32_t> goto_;             // [states, 256] dense transitions
  std::vector<int32_t> out_;              // per state: a phrase ends here (-1: none)
  std::vector<int32_t> parent_;           // trie parent per state (-1 for the root)
  std::string edge_;                      // trie edge byte into each state
  std::vector<std::string> token_raw_;    // raw bytes per token
  std::vector<std::string> token_norm_;   // normalised bytes per token (incomplete tail raw)
  mutable std::mutex cache_mu_;
  mutable std::map<int32_t, std::shared_ptr<const std::vector<int32_t>>> cache_;
};

// Follows a text that grows piece by piece (a streamed reply) and says how much of it is safe
// to show: no banned phrase can start inside the first safe_length() bytes, whatever text
// follows, and a phrase found complete stops the safe part before it for good (where the
// final check cuts). Incremental: each appended byte costs one automaton step.
class BannedPhraseScanner {
 public:
  explicit BannedPhraseScanner(std::shared_ptr<const BannedPhraseIndex> index);
  void append(std::string_view bytes);
  size_t safe_length() const;
  // Start (byte offset) of the first phrase found complete, if any.
  std::optional<size_t> match_begin() const { return match_begin_; }

 private:
  std::shared_ptr<const BannedPhraseIndex> index_;
  std::string pending_;      // trailing bytes of an incomplete character
  size_t consumed_ = 0;      // bytes normalised so far
  std::string norm_;         // normalised text
  std::vector<size_t> src_;  // per normalised byte: offset of its source character
  int32_t state_ = 0;
  std::optional<size_t> match_begin_;
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
