// Labelled PII evaluation: loads a JSONL set ({"text": ..., "spans": [{"type": "card",
// "start": B, "end": E}, ...]} per line, byte offsets into the UTF-8 text) and scores
// find_pii against it with exact span matching (type, begin and end must all agree).
#pragma once

#include <array>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "safety/pii.h"

namespace deepfuse {

struct PiiEvalCase {
  std::string text;
  std::vector<PiiSpan> gold;
};

// Throws NotFound when the file is missing and FormatError (naming the line) when a line is not
// valid JSON, lacks "text", names an unknown type or has offsets outside the text.
std::vector<PiiEvalCase> load_pii_eval(const std::string& path);

struct PiiScore {
  size_t tp = 0, fp = 0, fn = 0;
  // Precision is 1 when nothing was predicted; recall is 1 when there was nothing to find.
  double precision() const { return tp + fp == 0 ? 1.0 : double(tp) / double(tp + fp); }
  double recall() const { return tp + fn == 0 ? 1.0 : double(tp) / double(tp + fn); }
};

struct PiiEvalReport {
  size_t cases = 0;
  size_t bytes = 0;
  std::array<PiiScore, kNumPiiTypes> per_type{};
  PiiScore overall;
  // Up to `max_errors` readable mismatches: "FP phone '...' in: <text>".
  std::vector<std::string> errors;
};

PiiEvalReport evaluate_pii(const std::vector<PiiEvalCase>& cases, const PiiOptions& opts,
                           size_t max_errors = 50);

// {"cases":..,"overall":{"precision","recall","tp","fp","fn"},"types":{"card":{...},...},
//  "errors":[...]}
nlohmann::json pii_eval_to_json(const PiiEvalReport& r);

}  // namespace deepfuse
