// libFuzzer target: tokenizer.json loading. The input is the JSON text; when a tokenizer loads,
// it encodes and decodes a fixed multilingual string and the first bytes of the input.
// Contract: malformed files raise a deepfuse::Error; anything else is a finding.
#include <cstdint>
#include <string>

#include "core/error.h"
#include "deepfuse/tokenizer.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::shared_ptr<deepfuse::Tokenizer> tok;
  try {
    tok = deepfuse::Tokenizer::from_json(text, "fuzz.json");
  } catch (const deepfuse::Error&) {
    return 0;
  }
  for (std::string_view s : {std::string_view("Hello world, 你好 123 <s> don't"),
                             text.substr(0, std::min<size_t>(text.size(), 64))}) {
    try {
      deepfuse::Encoding e = tok->encode_full(s, true);
      for (const auto& [b, en] : e.offsets) deepfuse::fuzz::check(b <= en && en <= s.size());
      tok->decode(e.ids, false);
      tok->decode(e.ids, true);
    } catch (const deepfuse::Error&) {
    }
  }
  return 0;
}
