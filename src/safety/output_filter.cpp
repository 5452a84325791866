#include "safety/output_filter.h"

#include "core/error.h"

namespace deepfuse {
namespace {

size_t useful_chars(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if (!(c == ' ' || c == '\t' || c == '\n' || c == '\r') && (c & 0xC0) != 0x80) ++n;
  return n;
}

}  // namespace

OutputFilter::OutputFilter(std::vector<std::string> phrases,
                           std::shared_ptr<const TokenTextSource> vocab,
                           OutputFilterOptions options)
    : index_(std::make_shared<engine::BannedPhraseIndex>(std::move(phrases), std::move(vocab))),
      options_(std::move(options)) {}

std::shared_ptr<OutputFilter> OutputFilter::from_file(const std::string& path,
                                                      std::shared_ptr<const TokenTextSource> vocab,
                                                      OutputFilterOptions options) {
  return std::make_shared<OutputFilter>(engine::BannedPhraseIndex::read_phrase_file(path),
                                        std::move(vocab), std::move(options));
}

std::shared_ptr<engine::BannedPhraseProcessor> OutputFilter::make_processor() const {
  return std::make_shared<engine::BannedPhraseProcessor>(index_);
}

std::vector<engine::PhraseMatch> OutputFilter::check(std::string_view text) const {
  return index_->find(text);
}

FilterVerdict OutputFilter::finalize(std::string_view text,
                                     const engine::BannedPhraseProcessor* proc) const {
  FilterVerdict v;
  v.text = std::string(text);
  v.blocked = proc && proc->interventions() > 0;
  const auto matches = index_->find(text);
  if (!matches.empty()) {
    v.blocked = true;
    for (const auto& m : matches) v.phrases.push_back(index_->phrases()[m.phrase]);
    v.text = std::string(text.substr(0, matches.front().begin));
  }
  if (v.blocked && useful_chars(v.text) < options_.min_useful_chars) {
    v.text = options_.refusal;
    v.refused = true;
  }
  return v;
}

FilteredStream::FilteredStream(const OutputFilter& filter,
                               std::function<void(std::string_view)> sink)
    : filter_(filter), sink_(std::move(sink)), scanner_(filter.index()) {}

void FilteredStream::on_text(std::string_view delta) {
  text_.append(delta);
  scanner_.append(delta);
  const size_t safe = scanner_.safe_length();
  // Until the safe text is long enough, a block later on could still turn the whole answer
  // into the refusal: show nothing yet.
  if (safe <= emitted_ ||
      useful_chars(std::string_view(text_).substr(0, safe)) < filter_.options().min_useful_chars)
    return;
  const std::string_view d = std::string_view(text_).substr(emitted_, safe - emitted_);
  emitted_ = safe;
  if (sink_) sink_(d);
}

FilterVerdict FilteredStream::finish(std::string_view final_text,
                                     const engine::BannedPhraseProcessor* proc) {
  FilterVerdict v = filter_.finalize(final_text, proc);
  // What was shown is a prefix of the verdict's text: the scanner never passes the start of
  // a phrase (where the final check cuts), and nothing is shown while a refusal is possible.
  DF_CHECK(v.text.compare(0, emitted_, text_, 0, emitted_) == 0 && v.text.size() >= emitted_,
           InternalError, "streamed text is not a prefix of the filtered reply");
  if (v.text.size() > emitted_ && sink_) sink_(std::string_view(v.text).substr(emitted_));
  emitted_ = v.text.size();
  return v;
}

}  // namespace deepfuse
