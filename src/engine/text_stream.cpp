#include "engine/text_stream.h"

#include <algorithm>

namespace deepfuse::engine {
namespace {

bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && static_cast<unsigned char>(s[s.size() - 3]) == 0xEF &&
         static_cast<unsigned char>(s[s.size() - 2]) == 0xBF &&
         static_cast<unsigned char>(s[s.size() - 1]) == 0xBD;
}

}  // namespace

TextStream::TextStream(const TokenTextSource* source, std::vector<std::string> stop_strings,
                       const std::vector<int32_t>& context)
    : source_(source), stops_(std::move(stop_strings)) {
  for (const auto& s : stops_) max_stop_ = std::max(max_stop_, s.size());
  const size_t keep = std::min(context.size(), kContextIds);
  context_.assign(context.end() - static_cast<std::ptrdiff_t>(keep), context.end());
  // The context is already "read": only generated ids produce text.
  prefix_ = 0;
  read_ = context_.size();
}

std::vector<int32_t> TextStream::window(const std::vector<int32_t>& gen, size_t b, size_t e) const {
  std::vector<int32_t> out;
  out.reserve(e - b);
  const size_t nc = context_.size();
  for (size_t i = b; i < e; ++i) out.push_back(i < nc ? context_[i] : gen[i - nc]);
  return out;
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
  const size_t total = context_.size() + gen.size();
  const std::string prefix_text = source_->decode(window(gen, prefix_, read_));
  const std::string new_text = source_->decode(window(gen, prefix_, total));
  if (new_text.size() > prefix_text.size() && !ends_with_replacement(new_text)) {
    if (new_text.compare(0, prefix_text.size(), prefix_text) == 0) {
      append(new_text.substr(prefix_text.size()));
    } else {
      // The decoder rewrote earlier text (rare): fall back to the full decode, less the
      // context's own text.
      const std::string ctx = source_->decode(context_);
      const std::string full = source_->decode(window(gen, 0, total));
      if (full.compare(0, ctx.size(), ctx) == 0) {
        const std::string gen_text = full.substr(ctx.size());
        if (gen_text.size() > text_.size() && gen_text.compare(0, text_.size(), text_) == 0)
          append(gen_text.substr(text_.size()));
      }
    }
    prefix_ = read_;
    read_ = total;
  }
  return matched_.has_value();
}

void TextStream::finish(const std::vector<int32_t>& gen) {
  const size_t total = context_.size() + gen.size();
  if (!source_ || matched_ || read_ == total) return;
  const std::string prefix_text = source_->decode(window(gen, prefix_, read_));
  const std::string new_text = source_->decode(window(gen, prefix_, total));
  if (new_text.size() > prefix_text.size() &&
      new_text.compare(0, prefix_text.size(), prefix_text) == 0)
    append(new_text.substr(prefix_text.size()));
  prefix_ = read_ = total;
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
