// libFuzzer target: the PII masker. Byte 0 selects the enabled types and the style; the rest is
// the text. Checks the invariants callers rely on: spans in order, disjoint and in bounds,
// masking reproduces the text outside spans, and scanner work stays linear in the input size.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "safety/pii.h"

namespace {

// Upper bound on ScanText reads per input byte (measured worst case on adversarial inputs is far
// below; see tests/safety/pii_linear_test.cpp).
constexpr size_t kMaxReadsPerByte = 400;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t sel = data[0];
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  deepfuse::PiiOptions opts;
  for (int t = 0; t < deepfuse::kNumPiiTypes; ++t) {
    opts.set(static_cast<deepfuse::PiiType>(t), ((sel >> t) & 1) == 0);
  }
  opts.style = (sel & 0x80) ? deepfuse::MaskStyle::kMask : deepfuse::MaskStyle::kTags;
  opts.card_require_iin = (sel & 0x40) == 0 || !opts.card;

  deepfuse::PiiScanStats stats;
  auto spans = deepfuse::find_pii(text, opts, &stats);
  check(stats.reads <= kMaxReadsPerByte * text.size() + 4096);
  size_t prev_end = 0;
  for (const auto& s : spans) {
    check(s.begin < s.end && s.end <= text.size() && s.begin >= prev_end);
    check(opts.enabled(s.type));
    prev_end = s.end;
  }
  deepfuse::MaskResult r = deepfuse::mask_pii(text, opts);
  check(r.spans == spans);
  // Rebuild the masked text independently.
  std::string expect;
  size_t pos = 0;
  for (const auto& s : spans) {
    expect.append(text.substr(pos, s.begin - pos));
    expect.append(opts.style == deepfuse::MaskStyle::kTags ? deepfuse::pii_type_tag(s.type)
                                                           : "[MASK]");
    pos = s.end;
  }
  expect.append(text.substr(pos));
  check(expect == r.text);
  return 0;
}
