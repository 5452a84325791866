// Incremental detokenisation and stop strings for one generated sequence.
//
// Text grows by decoding a small window of recent ids (the vLLM scheme: decode the window with
// and without the newest ids, take the difference), so a step costs O(window) however long the
// output is, and a character split over several byte tokens appears only once complete.
// Stop strings are searched in the decoded text; the text that streams out stops short of any
// suffix that could still become a stop string, so a stop string is never partially emitted.
//
// The window starts on the last few prompt ids (`context`), so the text is transformers'
// decode(prompt + generated) minus decode(prompt): a SentencePiece decoder strips the leading
// space of a sequence's first token, which decoding the generated ids alone would lose
// ("Lily went" + "▁to" printed "Lily wentto": issue 13).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "deepfuse/generation.h"

namespace deepfuse::engine {

class TextStream {
 public:
  // `context`: the prompt ids (only the last kContextIds are kept).
  TextStream(const TokenTextSource* source, std::vector<std::string> stop_strings,
             const std::vector<int32_t>& context = {});

  // Prompt ids kept as context: enough for a decoder to see the sequence does not start here,
  // and for a character whose bytes straddle the prompt's end (vLLM uses 5).
  static constexpr size_t kContextIds = 6;

  // Call after appending a token to `generated` (generated ids only). Returns true when a stop
  // string now appears in the text; text() is then cut before it.
  bool update(const std::vector<int32_t>& generated);
  // At the end: decodes whatever the window still holds back (e.g. an invalid byte sequence
  // that never completed), unless a stop string already cut the text.
  void finish(const std::vector<int32_t>& generated);

  const std::string& text() const { return text_; }
  const std::optional<std::string>& matched_stop() const { return matched_; }
  // Next chunk that is safe to show (complete characters, no possible stop-string prefix);
  // `final` releases everything.
  std::string take_delta(bool final);

 private:
  void append(const std::string& delta);
  // Ids [b, e) of context_ + generated.
  std::vector<int32_t> window(const std::vector<int32_t>& generated, size_t b, size_t e) const;
  size_t holdback() const;

  const TokenTextSource* source_;
  std::vector<std::string> stops_;
  std::vector<int32_t> context_;
  size_t max_stop_ = 0;
  size_t prefix_ = 0, read_ = 0;
  std::string text_;
  size_t emitted_ = 0;
  std::optional<std::string> matched_;
};

}  // namespace deepfuse::engine
