// TokenTextSource: the text view of a tokenizer that generation needs, and its adapter over
// deepfuse::Tokenizer with raw bytes for byte-fallback (<0xE4>) and byte-level (GPT-2) tokens.
#include <mutex>
#include <optional>
#include <unordered_map>

#include "core/error.h"
#include "deepfuse/generation.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse {
namespace {

bool has_replacement(const std::string& s) {
  return s.find("\xEF\xBF\xBD") != std::string::npos;
}

// GPT-2's bytes_to_unicode, inverted: code point -> byte.
const std::unordered_map<uint32_t, uint8_t>& byte_level_inverse() {
  static const auto* table = [] {
    auto* m = new std::unordered_map<uint32_t, uint8_t>();
    uint32_t extra = 0;
    for (uint32_t b = 0; b < 256; ++b) {
      const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
      (*m)[printable ? b : 256 + extra++] = static_cast<uint8_t>(b);
    }
    return m;
  }();
  return *table;
}

// Decodes UTF-8 `s` into code points; nullopt when malformed.
std::optional<std::vector<uint32_t>> code_points(const std::string& s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + static_cast<size_t>(n) > s.size()) return std::nullopt;
    uint32_t cp = n == 1 ? c : (c & (0x7F >> n));
    for (int k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += static_cast<size_t>(n);
  }
  return out;
}

class TokenizerTextSource : public TokenTextSource {
 public:
  explicit TokenizerTextSource(std::shared_ptr<const Tokenizer> tok) : tok_(std::move(tok)) {
    for (const char* cand : {"a",
                             "\xE2\x96\x81"
                             "a",
                             "\xC4\xA0"
                             "a",
                             "x", "the"}) {
      auto id = tok_->token_to_id(cand);
      if (id && !tok_->is_special_token(*id) && !tok_->decode({*id}, true).empty()) {
        anchor_ = *id;
        anchor_text_ = tok_->decode({*id}, true);
        break;
      }
    }
  }
  std::string decode(const std::vector<int32_t>& ids) const override {
    return tok_->decode(ids, true);
  }
  int64_t vocab_size() const override { return static_cast<int64_t>(tok_->vocab_size()); }
  std::string token_bytes(int32_t id) const override {
    if (id < 0 || static_cast<size_t>(id) >= tok_->vocab_size() || tok_->is_special_token(id))
      return {};
    const auto piece = tok_->id_to_token(id);
    if (!piece) return {};
    // Byte fallback piece "<0xE4>".
    if (piece->size() == 6 && piece->compare(0, 3, "<0x") == 0 && (*piece)[5] == '>') {
      try {
        return std::string(1, static_cast<char>(std::stoi(piece->substr(3, 2), nullptr, 16)));
      } catch (...) {
      }
    }
    std::string text;
    if (anchor_) {
      const std::string both = tok_->decode({*anchor_, id}, true);
      if (both.compare(0, anchor_text_.size(), anchor_text_) == 0)
        text = both.substr(anchor_text_.size());
      else
        text = tok_->decode({id}, true);
    } else {
      text = tok_->decode({id}, true);
    }
    if (!has_replacement(text)) return text;
    // Byte-level BPE piece holding part of a character: map its symbols back to bytes.
    if (auto cps = code_points(*piece)) {
      const auto& inv = byte_level_inverse();
      std::string bytes;
      for (uint32_t cp : *cps) {
        auto it = inv.find(cp);
        if (it == inv.end()) return text;
        bytes.push_back(static_cast<char>(it->second));
      }
      return bytes;
    }
    return text;
  }

 private:
  std::shared_ptr<const Tokenizer> tok_;
  std::optional<int32_t> anchor_;
  std::string anchor_text_;
};

}  // namespace

std::string TokenTextSource::token_bytes(int32_t id) const {
  return decode({id});
}

std::shared_ptr<TokenTextSource> make_token_text_source(std::shared_ptr<const Tokenizer> tok) {
  DF_CHECK(tok != nullptr, InvalidArgument, "make_token_text_source: tokenizer is null");
  return std::make_shared<TokenizerTextSource>(std::move(tok));
}

}  // namespace deepfuse
