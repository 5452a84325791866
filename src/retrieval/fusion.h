// Combining ranked lists (hybrid search).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace deepfuse::retrieval {

using Ranked = std::vector<std::pair<uint32_t, float>>;  // (slot, score), best first

// Reciprocal rank fusion: score = sum over lists of 1 / (k + rank), rank starting at 1.
Ranked fuse_rrf(const std::vector<Ranked>& lists, double k);
// Weighted score fusion: each list min-max normalised to [0, 1] (all equal -> 1), then
// sum of weight[i] * normalised score; a slot missing from a list gets 0 from it.
Ranked fuse_weighted(const std::vector<Ranked>& lists, const std::vector<double>& weights);

}  // namespace deepfuse::retrieval
