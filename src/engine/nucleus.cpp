#include "engine/nucleus.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace deepfuse::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
// Histogram of the order key: kBinsPerNat bins per nat over [0, kBins / kBinsPerNat) nats,
// plus one overflow bin. Tokens more than 64 nats below the best carry < 1e-27 of the mass.
constexpr int kBins = 512;
constexpr float kBinsPerNat = 8.0f;
constexpr uint16_t kMaskedBin = 0xFFFF;
// Mass margin over the bound when choosing candidates, so that float rounding of the
// probabilities never makes the exact check fail (it is re-checked exactly anyway).
constexpr double kMassMargin = 1e-5;
// Below this many candidates the weighted quickselect sorts and scans.
constexpr size_t kLinearScan = 32;

uint16_t bin_of(float distance) {
  const float d = distance * kBinsPerNat;
  return d < static_cast<float>(kBins) ? static_cast<uint16_t>(d) : static_cast<uint16_t>(kBins);
}

// Scratch buffers reused across steps (one set per sampling thread).
struct Scratch {
  std::vector<float> prob, key;
  std::vector<uint16_t> bin;
  std::vector<int32_t> cand;
};
Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

float row_max(std::span<const float> s) {
  float mx = kNegInf;
  for (float v : s) mx = std::max(mx, v);
  return mx;
}

// Exact sum of many probabilities through per-exponent buckets: one integer add per token
// instead of a multi-limb add (2^40 tokens fit before a bucket could overflow).
struct BucketSum {
  uint64_t bucket[256] = {};
  void add(float p) {
    const uint32_t bits = std::bit_cast<uint32_t>(p);
    bucket[bits >> 23] += (bits & 0x7FFFFFu) | (bits >= 0x800000u ? 0x800000u : 0u);
  }
  void into(ExactSum& acc) const {
    for (uint32_t e = 0; e < 256; ++e)
      if (bucket[e]) acc.add_bucket(bucket[e], e);
  }
};

// Weighted quickselect: the first position j of `c` in `less` order at which
// crossed(below + mass of c[0..j]) holds, or c.size() when none does. On return c[0..j) hold
// the j lowest elements and c[j] is the j-th; cost O(c.size()) expected.
template <class Less, class Crossed>
size_t first_crossing(std::vector<int32_t>& c, ExactSum below, const float* prob, Less less,
                      Crossed crossed) {
  size_t b = 0, e = c.size();
  while (e - b > kLinearScan) {
    const size_t mid = b + (e - b) / 2;
    std::nth_element(c.begin() + static_cast<std::ptrdiff_t>(b),
                     c.begin() + static_cast<std::ptrdiff_t>(mid),
                     c.begin() + static_cast<std::ptrdiff_t>(e), less);
    ExactSum upto = below;
    for (size_t j = b; j <= mid; ++j) upto.add(prob[c[j]]);
    if (crossed(upto)) {
      e = mid + 1;  // the crossing is at or before mid
    } else {
      below = upto;
      b = mid + 1;
    }
  }
  std::sort(c.begin() + static_cast<std::ptrdiff_t>(b), c.begin() + static_cast<std::ptrdiff_t>(e),
            less);
  for (size_t j = b; j < e; ++j) {
    below.add(prob[c[j]]);
    if (crossed(below)) return j;
  }
  return c.size();
}

}  // namespace

double softmax_probs(std::span<const float> s, float mx, std::vector<float>& prob) {
  const size_t n = s.size();
  prob.resize(n);
  float* e = prob.data();
  for (size_t i = 0; i < n; ++i) e[i] = exp_approx(s[i] - mx);  // vectorised; -inf -> 0
  double part[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t j = 0; j < 8; ++j) part[j] += e[i + j];
  for (; i < n; ++i) part[i & 7] += e[i];
  const double sum =
      ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  const float inv = static_cast<float>(sum);
  for (size_t k = 0; k < n; ++k) e[k] /= inv;
  return sum;
}

void ExactSum::add_shifted(uint64_t m, uint32_t shift) {
  const uint32_t idx = shift >> 6, off = shift & 63;
  const uint64_t lo = m << off, hi = off ? m >> (64 - off) : 0;
  limb_[idx] += lo;
  uint64_t carry = hi + (limb_[idx] < lo ? 1 : 0);  // hi < 2^63: no overflow
  for (uint32_t j = idx + 1; carry && j < 5; ++j) {
    limb_[j] += carry;
    carry = limb_[j] < carry ? 1 : 0;
  }
}

void ExactSum::add_bucket(uint64_t mantissas, uint32_t exp_field) {
  add_shifted(mantissas, exp_field ? exp_field - 1 : 0);
}

void ExactSum::add(float p) {
  const uint32_t bits = std::bit_cast<uint32_t>(p) & 0x7FFFFFFFu;
  const uint32_t e = bits >> 23;
  add_bucket((bits & 0x7FFFFFu) | (e ? 0x800000u : 0u), e);
}

double ExactSum::value() const {
  int t = 4;
  while (t > 0 && limb_[t] == 0) --t;
  if (t == 0) return std::ldexp(static_cast<double>(limb_[0]), -149);
  // Truncate to the top 64 bits, then one rounding to double: monotone in the sum.
  const int lz = std::countl_zero(limb_[t]);
  const uint64_t top = lz ? (limb_[t] << lz) | (limb_[t - 1] >> (64 - lz)) : limb_[t];
  return std::ldexp(static_cast<double>(top), 64 * t - lz - 149);
}

void top_p_sorted(float p, std::span<float> s, int64_t min_keep) {
  if (p >= 1.0f) return;
  std::vector<int32_t> idx;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != kNegInf) idx.push_back(static_cast<int32_t>(i));
  if (idx.empty()) return;
  std::vector<float> prob;
  softmax_probs(s, row_max(s), prob);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return s[a] < s[b]; });
  const float thresh = static_cast<float>(1.0 - static_cast<double>(p));
  const size_t n = idx.size(), mk = static_cast<size_t>(std::max<int64_t>(min_keep, 0));
  const size_t keep_from = n > mk ? n - mk : 0;
  ExactSum cum;
  std::vector<int32_t> removed;
  for (size_t i = 0; i < keep_from; ++i) {
    cum.add(prob[idx[i]]);
    if (cum.to_float() <= thresh) removed.push_back(idx[i]);
  }
  for (int32_t i : removed) s[i] = kNegInf;
}

void top_p_fast(float p, std::span<float> s, int64_t min_keep, std::vector<int32_t>* kept) {
  if (kept) kept->clear();
  if (p >= 1.0f) return;
  const size_t n = s.size();
  const float mx = row_max(s);
  if (mx == kNegInf) return;  // everything masked
  if (!std::isfinite(mx)) return top_p_sorted(p, s, min_keep);
  Scratch& sc = scratch();
  sc.prob.resize(n);
  sc.bin.resize(n);
  const double sum = softmax_probs(s, mx, sc.prob);
  if (!std::isfinite(sum)) return top_p_sorted(p, s, min_keep);  // NaN scores
  // Histogram of the distance below the best score, weighted by probability. Four
  // interleaved copies keep runs of tokens in one bin off a single dependency chain.
  double bin_mass[4][kBins + 1] = {};
  uint32_t bin_count[4][kBins + 1] = {};
  for (size_t i = 0; i < n; ++i) {
    const float v = s[i];
    if (v == kNegInf) {
      sc.bin[i] = kMaskedBin;
      continue;
    }
    const uint16_t b = bin_of(mx - v);
    sc.bin[i] = b;
    bin_mass[i & 3][b] += sc.prob[i];
    ++bin_count[i & 3][b];
  }
  const size_t mk = static_cast<size_t>(std::max<int64_t>(min_keep, 0));
  // Candidates: the best bins holding p (plus a margin) of the mass and >= min_keep tokens.
  // A bin range is an upper set of the (score, id) order, so the rest all rank below.
  const double target = static_cast<double>(p) + kMassMargin;  // probabilities sum to ~1
  int k = 0;
  double mass = 0;
  size_t count = 0;
  for (; k < kBins; ++k) {
    for (int c = 0; c < 4; ++c) mass += bin_mass[c][k], count += bin_count[c][k];
    if (mass >= target && count >= std::max<size_t>(mk, 1)) break;
  }
  std::vector<int32_t>& cand = sc.cand;
  cand.clear();
  BucketSum below[2];  // mass of every finite token ranked below the candidates
  for (size_t i = 0; i < n; ++i) {
    const uint16_t b = sc.bin[i];
    if (b == kMaskedBin) continue;
    if (b <= k)
      cand.push_back(static_cast<int32_t>(i));
    else
      below[i & 1].add(sc.prob[i]);
  }
  ExactSum rest;
  below[0].into(rest);
  below[1].into(rest);
  const float thresh = static_cast<float>(1.0 - static_cast<double>(p));
  // The last of the rest has cumulative probability exactly `rest`: if that is removed, all
  // of the rest is (cumulative sums only grow), and the boundary lies among the candidates.
  if (rest.to_float() > thresh || cand.size() < mk) return top_p_sorted(p, s, min_keep);
  auto less = [&](int32_t a, int32_t b) { return s[a] < s[b] || (s[a] == s[b] && a < b); };
  const size_t boundary = first_crossing(cand, rest, sc.prob.data(), less,
                                         [&](const ExactSum& c) { return c.to_float() > thresh; });
  const size_t cut = std::min(boundary, cand.size() - mk);
  // first_crossing left c[0..boundary) as the lowest elements; fewer may be removed.
  if (cut < boundary)
    std::nth_element(cand.begin(), cand.begin() + static_cast<std::ptrdiff_t>(cut),
                     cand.begin() + static_cast<std::ptrdiff_t>(boundary), less);
  for (size_t i = 0; i < n; ++i)
    if (sc.bin[i] != kMaskedBin && sc.bin[i] > k) s[i] = kNegInf;
  for (size_t j = 0; j < cut; ++j) s[cand[j]] = kNegInf;
  if (kept) {
    kept->assign(cand.begin() + static_cast<std::ptrdiff_t>(cut), cand.end());
    std::sort(kept->begin(), kept->end());
  }
}

namespace {

// TypicalLogitsWarper's order key |-log p - H| for every token (+inf for masked ones), with
// log p = s - logsumexp(s) and H = -nansum(log p * exp(log p)) as transformers computes them;
// `prob` receives the probabilities used for the cumulative mass. Returns false for rows
// with NaN or +inf scores (the caller then takes the reference path).
bool typical_keys(std::span<const float> s, std::vector<float>& prob, std::vector<float>& key) {
  const float mx = row_max(s);
  if (!std::isfinite(mx)) return false;
  const double sum = softmax_probs(s, mx, prob);
  if (!std::isfinite(sum)) return false;
  const float lse = mx + static_cast<float>(std::log(sum));
  const size_t n = s.size();
  key.resize(n);
  float* k = key.data();
  for (size_t i = 0; i < n; ++i) {  // vectorised: log p * p, NaN for masked tokens
    const float logp = s[i] - lse;
    k[i] = logp * exp_approx(logp);
  }
  double part[8] = {};
  for (size_t i = 0; i < n; ++i)
    if (!std::isnan(k[i])) part[i & 7] -= k[i];  // nansum: masked tokens give -inf * 0
  const float entf = static_cast<float>(((part[0] + part[1]) + (part[2] + part[3])) +
                                        ((part[4] + part[5]) + (part[6] + part[7])));
  for (size_t i = 0; i < n; ++i) k[i] = std::fabs(-(s[i] - lse) - entf);
  return true;
}

}  // namespace

void typical_p_sorted(float mass, std::span<float> s, int64_t min_keep) {
  if (mass >= 1.0f || s.empty()) return;
  std::vector<float> prob, key;
  if (!typical_keys(s, prob, key)) {
    // Degenerate row: transformers' arithmetic on NaN/inf leaves nothing meaningful to keep
    // apart from the best token; keep the row as it is.
    return;
  }
  const size_t n = s.size();
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return key[a] < key[b]; });
  ExactSum cum;
  size_t last = 0;  // how many cumulative probabilities are < mass
  while (last < n) {
    cum.add(prob[idx[last]]);
    if (!(cum.to_float() < mass)) break;
    ++last;
  }
  last = std::min(last, n - 1);
  const float cut = key[idx[last]];
  for (size_t i = static_cast<size_t>(std::max<int64_t>(min_keep, 0)); i < n; ++i)
    if (key[idx[i]] > cut) s[idx[i]] = kNegInf;
}

void typical_p_fast(float mass, std::span<float> s, int64_t min_keep) {
  if (mass >= 1.0f || s.empty()) return;
  // The most typical token always survives (its key is <= the cut), so min_keep 1 needs no
  // bookkeeping; larger values are rare (beam search) and take the reference path.
  if (min_keep > 1) return typical_p_sorted(mass, s, min_keep);
  Scratch& sc = scratch();
  if (!typical_keys(s, sc.prob, sc.key)) return;
  const size_t n = s.size();
  // Mass histogram of the key; four interleaved copies keep runs of tokens in one bin off a
  // single dependency chain.
  double bin_mass[4][kBins + 1] = {};
  sc.bin.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const uint16_t b = bin_of(sc.key[i]);
    sc.bin[i] = b;
    bin_mass[i & 3][b] += sc.prob[i];
  }
  // Candidates: the most typical bins holding `mass` (plus a margin); a lower set of the
  // (key, id) order, so the cumulative mass at its last element is its exact total.
  const double target = static_cast<double>(mass) + kMassMargin;
  int k = 0;
  double acc = 0;
  for (; k < kBins; ++k) {
    acc += bin_mass[0][k] + bin_mass[1][k] + bin_mass[2][k] + bin_mass[3][k];
    if (acc >= target) break;
  }
  std::vector<int32_t>& cand = sc.cand;
  cand.clear();
  BucketSum in;
  for (size_t i = 0; i < n; ++i)
    if (sc.bin[i] <= k) {
      cand.push_back(static_cast<int32_t>(i));
      in.add(sc.prob[i]);
    }
  ExactSum total;
  in.into(total);
  if (total.to_float() < mass) return typical_p_sorted(mass, s, min_keep);
  const std::vector<float>& key = sc.key;
  auto less = [&](int32_t a, int32_t b) { return key[a] < key[b] || (key[a] == key[b] && a < b); };
  const size_t last = first_crossing(cand, ExactSum{}, sc.prob.data(), less,
                                     [&](const ExactSum& c) { return !(c.to_float() < mass); });
  const float cut = key[cand[last]];
  for (size_t i = 0; i < n; ++i)
    if (key[i] > cut) s[i] = kNegInf;
}

}  // namespace deepfuse::engine
