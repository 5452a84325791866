#include "engine/text_stream.h"

#include <algorithm>

namespace deepfuse::engine {
namespace {

bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && static_cast<unsigned char>(s[s.size() - 3]) == 0xEF &&
         static_cast<unsigned char>(s[s.size() - 2]) == 0xBF &&
         static_cast<unsigned char>(s[s.size() - 1]) == 0xBD;
}

std::vector<int32_t> slice(const std::vector<int32_t>& v, size_t b, size_t e) {
  return {v.begin() + static_cast<std::ptrdiff_t>(b), v.begin() + static_cast<std::ptrdiff_t>(e)};
}

}  // namespace

TextStream::TextStream(const TokenTextSource* source, std::vector<std::string> stop_strings)
    : source_(source), stops_(std::move(stop_strings)) {
  for (const auto& s : stops_) max_stop_ = std::max(max_stop_, s.size());
}

void TextStream::append(const std::string& delta) {
  if (matched_ || delta.empty()) return;
  const size_t old = text_.size();
  text_ += delta;
  if (stops_.empty()) return;
  // A new match must end inside the new text; search from where it could start.
  const size_t from = old >= max_stop_ ? old - max_stop_ + 1 : 0;
  size_t best = std::string::npos;
  for (const auto& s : stops_) {
    const size_t p = text_.find(s, from);
    if (p != std::string::npos && p < best) best = p, matched_ = s;
  }
  if (matched_) text_.resize(best);
}

bool TextStream::update(const std::vector<int32_t>& gen) {
  if (!source_ || matched_) return matched_.has_value();
  const std::string prefix_text = source_->decode(slice(gen, prefix_, read_));
  const std::string new_text = source_->decode(slice(gen, prefix_, gen.size()));
  if (new_text.size() > prefix_text.size() && !ends_with_replacement(new_text)) {
    if (new_text.compare(0, prefix_text.size(), prefix_text) == 0) {
      append(new_text.substr(prefix_text.size()));
    } else {
      // The decoder rewrote earlier text (rare): fall back to the full decode.
      const std::string full = source_->decode(gen);
      if (full.size() > text_.size() && full.compare(0, text_.size(), text_) == 0)
        append(full.substr(text_.size()));
    }
    prefix_ = read_;
    read_ = gen.size();
  }
  return matched_.has_value();
}

void TextStream::finish(const std::vector<int32_t>& gen) {
  if (!source_ || matched_ || read_ == gen.size()) return;
  const std::string prefix_text = source_->decode(slice(gen, prefix_, read_));
  const std::string new_text = source_->decode(slice(gen, prefix_, gen.size()));
  if (new_text.size() > prefix_text.size() &&
      new_text.compare(0, prefix_text.size(), prefix_text) == 0)
    append(new_text.substr(prefix_text.size()));
  prefix_ = read_ = gen.size();
}

size_t TextStream::holdback() const {
  // Longest suffix of the text that is a proper prefix of some stop string.
  size_t best = 0;
  for (const auto& s : stops_) {
    const size_t lim = std::min(s.size() - 1, text_.size());
    for (size_t k = lim; k > best; --k)
      if (text_.compare(text_.size() - k, k, s, 0, k) == 0) {
        best = k;
        break;
      }
  }
  return best;
}

std::string TextStream::take_delta(bool final) {
  size_t end = text_.size();
  if (!final && !matched_) end -= holdback();
  if (end <= emitted_) return {};
  std::string d = text_.substr(emitted_, end - emitted_);
  emitted_ = end;
  return d;
}

}  // namespace deepfuse::engine
