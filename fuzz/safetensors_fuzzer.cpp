// libFuzzer target: safetensors files. The input is a whole file: the header parser runs on it
// directly, then the file is written to a scratch path and opened through the mmap reader, and
// every tensor view is touched (first and last byte) so out-of-bounds views trip ASan.
// Contract: malformed input raises a deepfuse::Error; any other exception or crash is a finding.
#include <cstdint>
#include <cstring>
#include <map>
#include <string>

#include "core/error.h"
#include "formats/safetensors.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (size >= 8) {
    uint64_t n = 0;
    std::memcpy(&n, data, 8);  // little-endian hosts only (x86-64, aarch64)
    if (n <= size - 8) {
      std::string header(bytes.substr(8, n));
      std::map<std::string, std::string> meta;
      try {
        auto entries = deepfuse::parse_safetensors_header(header, size - 8 - n, "fuzz", &meta);
        for (const auto& e : entries)
          deepfuse::fuzz::check(e.begin <= e.end && e.end <= size - 8 - n);
      } catch (const deepfuse::Error&) {
      }
    }
  }
  try {
    auto f = deepfuse::SafetensorsFile::open(deepfuse::fuzz::scratch_file(bytes, ".safetensors"));
    volatile unsigned sum = 0;
    for (const auto& e : f->entries()) {
      deepfuse::Tensor t = f->tensor(e);
      if (e.nbytes() > 0) {
        const auto* p = static_cast<const unsigned char*>(t.raw());
        sum += p[0] + p[e.nbytes() - 1];
      }
      deepfuse::fuzz::check(f->find(e.name) != nullptr);
    }
    (void)sum;
  } catch (const deepfuse::Error&) {
  }
  return 0;
}
