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

}  // namespace deepfuse
