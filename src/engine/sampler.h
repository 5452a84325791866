// Token choice: greedy argmax, seeded sampling and log-probabilities over processed scores.
//
// Reproducibility: the random number for step `step` of a sequence comes from a counter-based
// Philox4x32-10 generator keyed by (seed, step). It depends on nothing else (not the batch, the
// thread that runs it or whether the output is streamed), so the same seed gives the same
// tokens however requests are batched.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "deepfuse/generation.h"

namespace deepfuse::engine {

// Philox4x32-10: four 32-bit outputs for a 128-bit counter and 64-bit key.
std::array<uint32_t, 4> philox4x32(std::array<uint32_t, 4> counter, uint64_t key);
// Uniform double in [0, 1) for (seed, step), 53 random bits.
double uniform01(uint64_t seed, uint64_t step);

// Index of the first maximum (torch.argmax).
int32_t argmax(std::span<const float> s);
// Draws from softmax(s) with the uniform `u`: the first index whose cumulative probability
// exceeds u * total. -inf entries have probability 0 and are never drawn.
int32_t sample_index(std::span<const float> s, double u);
// The next token: argmax when !sample, else a draw with `u`, among `candidates` (ids of the
// only finite scores, ascending) when non-empty — the same token a full scan would give.
int32_t choose_token(bool sample, std::span<const float> s, const std::vector<int32_t>& candidates,
                     double u);
// log-softmax of `s` at `id`, and the `k` best alternatives (finite only, best first).
GeneratedToken token_logprobs(std::span<const float> s, int32_t id, int64_t k);

}  // namespace deepfuse::engine
