// Incremental detokenisation (the prefix/read offset scheme used by TGI and vLLM): decode a
// small window of recent ids twice (with and without the new ones) and emit the difference,
// holding text back while it ends in an incomplete UTF-8 sequence (decoded as U+FFFD).
#include "deepfuse/tokenizer.h"

namespace deepfuse {

namespace {
bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

StreamingDecoder::StreamingDecoder(std::shared_ptr<const Tokenizer> tokenizer, bool skip_special)
    : tok_(std::move(tokenizer)), skip_special_(skip_special) {}

void StreamingDecoder::reset() {
  ids_.clear();
  prefix_offset_ = read_offset_ = 0;
}

std::string StreamingDecoder::step(int32_t id) {
  ids_.push_back(id);
  std::vector<int32_t> prefix(ids_.begin() + prefix_offset_, ids_.begin() + read_offset_);
  std::vector<int32_t> window(ids_.begin() + prefix_offset_, ids_.end());
  std::string prefix_text = tok_->decode(prefix, skip_special_);
  std::string new_text = tok_->decode(window, skip_special_);
  if (new_text.size() > prefix_text.size() && !ends_with_replacement(new_text) &&
      new_text.compare(0, prefix_text.size(), prefix_text) == 0) {
    std::string out = new_text.substr(prefix_text.size());
    prefix_offset_ = read_offset_;
    read_offset_ = ids_.size();
    return out;
  }
  return {};
}

std::string StreamingDecoder::flush() {
  if (read_offset_ >= ids_.size()) return {};
  std::vector<int32_t> prefix(ids_.begin() + prefix_offset_, ids_.begin() + read_offset_);
  std::vector<int32_t> window(ids_.begin() + prefix_offset_, ids_.end());
  std::string prefix_text = tok_->decode(prefix, skip_special_);
  std::string new_text = tok_->decode(window, skip_special_);
  prefix_offset_ = read_offset_;
  read_offset_ = ids_.size();
  if (new_text.size() > prefix_text.size() &&
      new_text.compare(0, prefix_text.size(), prefix_text) == 0)
    return new_text.substr(prefix_text.size());
  return {};
}

}  // namespace deepfuse
