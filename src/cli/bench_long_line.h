// `deepfuse bench tokenizer --long-line-mb 10,50,200`: memory and time of tokenizing (and
// PII-masking) ONE line of N MB, the worst case for per-token and per-byte bookkeeping.
#pragma once

#include <string>
#include <vector>

namespace deepfuse::cli {

// `docs`: text repeated (space-joined) to build each line. Prints one JSON object per model and
// size: seconds, tokens, peak RSS above the baseline (the line itself excluded) and its ratio to
// the line's bytes; and one per size for mask_pii.
void run_long_line_bench(const std::vector<std::string>& models,
                         const std::vector<double>& sizes_mb, const std::vector<std::string>& docs,
                         bool with_mask);

}  // namespace deepfuse::cli
