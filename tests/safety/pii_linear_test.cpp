// Linear-time guarantee, checked by counting work (bytes examined by the scanners) rather than
// timing: on 1 MB adversarial inputs the scanners may read each byte at most kMaxReadsPerByte
// times. A backtracking or quadratic scanner reads ~n^2/2 bytes here and fails by orders of
// magnitude. fuzz/pii_fuzzer.cpp enforces the same bound on every fuzzed input.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "safety/pii.h"

namespace deepfuse {
namespace {

constexpr size_t kMaxReadsPerByte = 400;  // same bound as the fuzzer
constexpr size_t kSize = 1 << 20;

std::string repeat(const std::string& unit) {
  std::string s;
  s.reserve(kSize + unit.size());
  while (s.size() < kSize) s += unit;
  return s;
}

TEST(PiiLinear, AdversarialInputsDoBoundedWork) {
  std::vector<std::string> units = {
      "1",           "1 ",
      "1-",          "1.",
      "12.",         "1/",
      "1:",          "a@",
      "@",           "a.",
      "a@b.",        ".@",
      ":",           "::",
      "f:",          "ff::",
      "1:1.",        "(1) ",
      "+1 ",         "+",
      "0",           "00 ",
      "4111 ",       "1111-",
      "January 1, ", "1 Jan ",
      "Sept. ",      "2024年",
      "2024年1月",   "一",
      "二〇二",      "１",
      "　",          "\xEF\xBC",
      "DE89 ",       "DE",
      "GB82 WEST ",  "11010519491231002",
      "138 1234 ",   "version ",
      "a",           " ",
      "1.1.1.1.",    "255.255.255.",
      "a-b.",        "x@y.co.",
      "(555) 123-",  "1st of ",
  };
  std::mt19937 rng(7);
  std::string mix;
  while (mix.size() < kSize) mix += units[rng() % units.size()];
  units.push_back(mix);
  for (const std::string& unit : units) {
    std::string text = unit.size() > 1000 ? unit : repeat(unit);
    PiiScanStats stats;
    find_pii(text, PiiOptions{}, &stats);
    double per_byte = double(stats.reads) / double(text.size());
    SCOPED_TRACE(unit.size() > 1000 ? std::string("random mix") : "'" + unit + "'");
    EXPECT_LE(stats.reads, kMaxReadsPerByte * text.size());
    RecordProperty("reads_per_byte", std::to_string(per_byte));
    if (per_byte > 60)
      std::cout << "  reads/byte " << per_byte << " for '" << unit.substr(0, 20) << "'\n";
  }
}

TEST(PiiLinear, WorkGrowsLinearly) {
  // Doubling the input doubles the work (within 1%) for the worst unit above.
  for (const std::string unit : {"1 ", "a@", "1.", "::", "January 1, "}) {
    std::string small, big;
    while (small.size() < 100000) small += unit;
    big = small + small;
    PiiScanStats s1, s2;
    find_pii(small, PiiOptions{}, &s1);
    find_pii(big, PiiOptions{}, &s2);
    EXPECT_NEAR(double(s2.reads) / double(s1.reads), 2.0, 0.02) << unit;
  }
}

}  // namespace
}  // namespace deepfuse
