// Public safety API: PII detection and masking (safety/pii.h) and the output safety filter
// (safety/output_filter.h).
//
//   deepfuse::PiiOptions opts;            // every type on, "[CARD]"-style tags
//   opts.date = false;                     // keep dates
//   deepfuse::MaskResult r = deepfuse::mask_pii("card 4111 1111 1111 1111", opts);
//   // r.text == "card [CARD]", r.spans == {{PiiType::kCard, 5, 24}} (byte offsets)
//
// Thread safety: mask_pii / find_pii are pure functions, safe from any number of threads.
#pragma once

#include "safety/output_filter.h"
#include "safety/pii.h"
