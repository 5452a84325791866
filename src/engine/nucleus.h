// Nucleus (top_p) and locally typical (typical_p) selection without sorting the vocabulary.
//
// Both warpers keep the smallest prefix of some order (descending score for top_p, ascending
// |-log p - entropy| for typical_p) whose probability mass reaches a bound. transformers sorts
// the whole row for that; on a 129k vocabulary the sort alone costs more than half a decode
// step. The fast paths here pick a candidate set from a histogram of the order key, verify
// with an exact mass check that the answer lies inside it, and locate the boundary with a
// mass-weighted quickselect, so only the tokens near the boundary are ever ordered. When the
// check fails (a flat row, a bound close to 1) they fall back to the full sort.
//
// Cumulative sums are exact (ExactSum) and rounded to float once, so the result does not
// depend on the order in which masses are added and the fast path gives bit-identical rows to
// the plain full-sort definitions (the *_sorted functions, kept as the reference).
#pragma once

#include <algorithm>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace deepfuse::engine {

// exp(x) in float, branch-free so loops over a vocabulary vectorise (Cephes' expf: two-part
// ln 2 reduction, degree-6 polynomial; within 2 ulp of std::exp on [-87, 88], the accuracy of
// the SLEEF exp torch uses on the CPU). Inputs below -87 (and -inf) give 0.
inline float exp_approx(float x) {
  constexpr float kLog2e = 1.44269504088896341f, kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding and subtracting rounds to nearest
  // Plain selects with every operation unconditional: GCC if-converts and vectorises them.
  float xc = x < -87.0f ? -87.0f : x;
  xc = xc > 88.0f ? 88.0f : xc;
  const float n = (xc * kLog2e + kRound) - kRound;
  float r = xc - n * kLn2Hi;
  r = r - n * kLn2Lo;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  const float scale =
      std::bit_cast<float>(static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23);
  const float y = p * scale;
  return x < -87.0f ? 0.0f : y;
}
// Softmax numerators and normaliser as the warpers use them: prob[i] = exp(s[i] - mx) (0 for
// -inf), returns their sum (double, eight interleaved partial sums in a fixed order), then
// divides: prob[i] /= float(sum). NaN/inf scores give a non-finite sum.
double softmax_probs(std::span<const float> s, float mx, std::vector<float>& prob);

// Exact sum of non-negative finite floats: a 320-bit fixed-point integer in units of 2^-149
// (the smallest float subnormal), so adding is associative and the total is independent of
// order. to_float() rounds monotonically (a larger sum never gives a smaller float).
class ExactSum {
 public:
  void add(float p);
  // Adds `mantissas` * 2^(exp_field - 150) (2^-149 for exp_field 0): the summed 24-bit
  // significands of floats sharing the biased exponent `exp_field` (bucketed bulk adds).
  void add_bucket(uint64_t mantissas, uint32_t exp_field);
  double value() const;
  float to_float() const { return static_cast<float>(value()); }

 private:
  void add_shifted(uint64_t m, uint32_t shift);
  uint64_t limb_[5] = {};
};

// TopPLogitsWarper: sort ascending by score (ties: lower id first), cumulative softmax, remove
// tokens whose cumulative probability <= 1 - p, never the `min_keep` best.
void top_p_sorted(float p, std::span<float> s, int64_t min_keep = 1);
// `kept`, when given, receives the ids of the finite scores left (ascending) when the row was
// filtered without the full sort (empty otherwise: then scan the row).
void top_p_fast(float p, std::span<float> s, int64_t min_keep = 1,
                std::vector<int32_t>* kept = nullptr);

// TypicalLogitsWarper: sort ascending by |-log p - H| (ties: lower id first), keep the tokens
// up to the first whose cumulative probability reaches `mass` (and every token whose key
// equals that one's), never the `min_keep` most typical.
void typical_p_sorted(float mass, std::span<float> s, int64_t min_keep = 1);
void typical_p_fast(float mass, std::span<float> s, int64_t min_keep = 1);

}  // namespace deepfuse::engine
