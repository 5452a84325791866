// Output safety filter: a banned-phrase list (Chinese and English, case/width-insensitive via
// NFKC + case folding) enforced while generating by the engine's banned-phrase logits
// processor, so a phrase is never emitted however it would be tokenised, plus a final check
// on the text and a configurable refusal when blocking leaves nothing useful.
//
//   auto filter = OutputFilter::from_file("banned.txt", text_source);
//   auto proc = filter->make_processor();          // one per sequence
//   request.logits_processors.push_back(proc);
//   auto result = generator.generate(request);
//   FilterVerdict v = filter->finalize(result.text, proc.get());
//   print(v.text);
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "deepfuse/generation.h"
#include "engine/banned_phrases.h"

namespace deepfuse {

struct OutputFilterOptions {
  // Text returned instead of an answer that blocking left (nearly) empty.
  std::string refusal = "I'm sorry, but I can't help with that.";
  // After blocking, an answer with fewer non-space characters than this is replaced by the
  // refusal.
  size_t min_useful_chars = 16;
};

struct FilterVerdict {
  std::string text;                  // what to show
  bool blocked = false;              // a phrase was masked during generation or cut from the text
  bool refused = false;              // `text` is the refusal
  std::vector<std::string> phrases;  // phrases found by the final check (normally none)
};

class OutputFilter {
 public:
  // `vocab` may be null when only check()/finalize() are used (no generation-time blocking).
  OutputFilter(std::vector<std::string> phrases, std::shared_ptr<const TokenTextSource> vocab,
               OutputFilterOptions options = {});
  // One phrase per line; '#' comments and blank lines skipped (NotFound / InvalidArgument).
  static std::shared_ptr<OutputFilter> from_file(const std::string& path,
                                                 std::shared_ptr<const TokenTextSource> vocab,
                                                 OutputFilterOptions options = {});

  // A fresh processor for one sequence (it follows that sequence's text).
  std::shared_ptr<engine::BannedPhraseProcessor> make_processor() const;
  // Occurrences of banned phrases in `text`.
  std::vector<engine::PhraseMatch> check(std::string_view text) const;
  // Final check: cuts the text before the first banned phrase (if the processor was not used
  // or normalisation across token borders let one through), then applies the refusal policy.
  // `proc` (may be null) tells whether blocking happened during generation.
  FilterVerdict finalize(std::string_view text,
                         const engine::BannedPhraseProcessor* proc = nullptr) const;

  const std::vector<std::string>& phrases() const { return index_->phrases(); }
  const OutputFilterOptions& options() const { return options_; }
  const std::shared_ptr<const engine::BannedPhraseIndex>& index() const { return index_; }

 private:
  std::shared_ptr<const engine::BannedPhraseIndex> index_;
  OutputFilterOptions options_;
};

// Streams one reply through the filter. The generator's text deltas go to on_text(); text
// reaches `sink` only once no banned phrase can start in it (whatever the model writes next)
// and once it holds enough useful characters that the refusal policy can no longer replace
// the answer. finish() runs the final check and emits the rest, so the concatenation of
// everything sent to `sink` is exactly FilterVerdict::text, and no part of a banned phrase
// is ever shown.
//
//   FilteredStream fs(*filter, [](std::string_view d) { std::cout << d; });
//   request.on_text = [&](std::string_view d) { fs.on_text(d); };
//   auto result = generator.generate(request);
//   FilterVerdict v = fs.finish(result.text, proc.get());
class FilteredStream {
 public:
  FilteredStream(const OutputFilter& filter, std::function<void(std::string_view)> sink);
  void on_text(std::string_view delta);
  // `final_text` is the generation result's text (the deltas' concatenation).
  FilterVerdict finish(std::string_view final_text, const engine::BannedPhraseProcessor* proc);
  size_t emitted() const { return emitted_; }

 private:
  const OutputFilter& filter_;
  std::function<void(std::string_view)> sink_;
  engine::BannedPhraseScanner scanner_;
  std::string text_;  // received so far
  size_t emitted_ = 0;
};

}  // namespace deepfuse
