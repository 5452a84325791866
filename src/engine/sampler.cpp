#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.h"

namespace deepfuse::engine {

std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> c, uint64_t key) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kM0) * c[0];
    const uint64_t p1 = static_cast<uint64_t>(kM1) * c[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

double uniform01(uint64_t seed, uint64_t step) {
  const auto r = philox4x32(
      {static_cast<uint32_t>(step), static_cast<uint32_t>(step >> 32), 0, 0x5EED5EEDu}, seed);
  const uint64_t a = r[0] >> 5, b = r[1] >> 6;  // 27 + 26 bits
  return (static_cast<double>(a) * 67108864.0 + static_cast<double>(b)) / 9007199254740992.0;
}

int32_t argmax(std::span<const float> s) {
  DF_CHECK(!s.empty(), InternalError, "argmax over an empty score row");
  // NaN scores never win (a NaN row falls back to index 0).
  size_t best = 0;
  float bv = s[0];
  for (size_t i = 1; i < s.size(); ++i)
    if (s[i] > bv) bv = s[i], best = i;
  return static_cast<int32_t>(best);
}

int32_t sample_index(std::span<const float> s, double u) {
  const float mx = *std::max_element(s.begin(), s.end());
  if (!std::isfinite(mx)) return argmax(s);  // everything masked or NaN: fall back to argmax
  // Masked (-inf) scores are skipped outright: after top-k most of a large vocabulary is.
  constexpr float kNegInf = -std::numeric_limits<float>::infinity();
  double total = 0;
  for (float v : s)
    if (v != kNegInf) total += std::exp(static_cast<double>(v) - mx);
  const double target = u * total;
  double cum = 0;
  int32_t last_finite = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -std::numeric_limits<float>::infinity()) continue;
    cum += std::exp(static_cast<double>(s[i]) - mx);
    last_finite = static_cast<int32_t>(i);
    if (cum > target) return last_finite;
  }
  return last_finite;  // rounding left u * total at the very end
}

int32_t choose_token(bool sample, std::span<const float> s, const std::vector<int32_t>& cand,
                     double u) {
  if (!sample) return argmax(s);
  if (cand.empty()) return sample_index(s, u);
  std::vector<float> vals(cand.size());
  for (size_t i = 0; i < cand.size(); ++i) vals[i] = s[static_cast<size_t>(cand[i])];
  return cand[static_cast<size_t>(sample_index(vals, u))];
}

GeneratedToken token_logprobs(std::span<const float> s, int32_t id, int64_t k) {
  const float mx = *std::max_element(s.begin(), s.end());
  double total = 0;
  for (float v : s) total += std::exp(static_cast<double>(v) - mx);
  const double lse = mx + std::log(total);
  GeneratedToken g;
  g.id = id;
  g.logprob = static_cast<float>(s[id] - lse);
  if (k > 0) {
    std::vector<int32_t> idx;
    for (size_t i = 0; i < s.size(); ++i)
      if (std::isfinite(s[i])) idx.push_back(static_cast<int32_t>(i));
    const size_t kk = std::min<size_t>(static_cast<size_t>(k), idx.size());
    std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(kk), idx.end(),
                      [&](int32_t a, int32_t b) { return s[a] > s[b] || (s[a] == s[b] && a < b); });
    for (size_t i = 0; i < kk; ++i) g.top.push_back({idx[i], static_cast<float>(s[idx[i]] - lse)});
  }
  return g;
}

}  // namespace deepfuse::engine
