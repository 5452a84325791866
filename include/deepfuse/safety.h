// Public safety API: PII detection and masking (deepfuse/pii.h).
//
//   deepfuse::PiiOptions opts;            // every type on, "[CARD]"-style tags
//   opts.date = false;                     // keep dates
//   deepfuse::MaskResult r = deepfuse::mask_pii("card 4111 1111 1111 1111", opts);
//   // r.text == "card [CARD]", r.spans == {{PiiType::kCard, 5, 24}} (byte offsets)
//
// Thread safety: mask_pii / find_pii are pure functions, safe from any number of threads.
// The output safety filter (banned phrases over streamed text) stays internal for now
// (src/safety/output_filter.h): its types come from the engine's internals.
#pragma once

#include "deepfuse/pii.h"
