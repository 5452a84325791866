#include "safety/pii_eval.h"

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "core/json_reader.h"

namespace deepfuse {

std::vector<PiiEvalCase> load_pii_eval(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  DF_CHECK(in.good(), NotFound, "PII evaluation file not found: " << path);
  std::vector<PiiEvalCase> cases;
  JsonReader reader(kRequestJsonLimits);
  std::string line;
  size_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const nlohmann::json j = reader.parse(line, path + ":" + std::to_string(lineno));
    DF_CHECK(j.is_object(), FormatError,
             path << ":" << lineno << ": expected one JSON object per line");
    DF_CHECK(j.contains("text") && j["text"].is_string(), FormatError,
             path << ":" << lineno << ": expected a string field \"text\"");
    PiiEvalCase c;
    c.text = j["text"].get<std::string>();
    if (j.contains("spans")) {
      DF_CHECK(j["spans"].is_array(), FormatError,
               path << ":" << lineno << ": \"spans\" must be an array");
      for (const auto& s : j["spans"]) {
        DF_CHECK(
            s.is_object() && s.contains("type") && s["type"].is_string() && s.contains("start") &&
                s["start"].is_number_unsigned() && s.contains("end") &&
                s["end"].is_number_unsigned(),
            FormatError,
            path << ":" << lineno
                 << ": each span needs \"type\" (string), \"start\" and \"end\" (byte offsets)");
        auto type = parse_pii_type(s["type"].get<std::string>());
        DF_CHECK(type.has_value(), FormatError,
                 path << ":" << lineno << ": unknown PII type '" << s["type"].get<std::string>()
                      << "' (expected card, date, email, phone, id, iban or ip)");
        size_t b = s["start"].get<size_t>(), e = s["end"].get<size_t>();
        DF_CHECK(b < e && e <= c.text.size(), FormatError,
                 path << ":" << lineno << ": span [" << b << ", " << e
                      << ") is outside the text of " << c.text.size() << " bytes");
        c.gold.push_back({*type, b, e});
      }
    }
    cases.push_back(std::move(c));
  }
  return cases;
}

PiiEvalReport evaluate_pii(const std::vector<PiiEvalCase>& cases, const PiiOptions& opts,
                           size_t max_errors) {
  PiiEvalReport r;
  auto note = [&](const char* kind, const PiiSpan& s, const std::string& text) {
    if (r.errors.size() >= max_errors) return;
    r.errors.push_back(std::string(kind) + " " + pii_type_name(s.type) + " '" +
                       text.substr(s.begin, s.end - s.begin) + "' in: " + text);
  };
  for (const PiiEvalCase& c : cases) {
    ++r.cases;
    r.bytes += c.text.size();
    std::vector<PiiSpan> pred = find_pii(c.text, opts);
    std::vector<PiiSpan> gold;
    for (const PiiSpan& g : c.gold) {
      if (opts.enabled(g.type)) gold.push_back(g);
    }
    for (const PiiSpan& p : pred) {
      bool hit = std::find(gold.begin(), gold.end(), p) != gold.end();
      auto& score = r.per_type[static_cast<int>(p.type)];
      if (hit) {
        ++score.tp;
      } else {
        ++score.fp;
        note("FP", p, c.text);
      }
    }
    for (const PiiSpan& g : gold) {
      if (std::find(pred.begin(), pred.end(), g) == pred.end()) {
        ++r.per_type[static_cast<int>(g.type)].fn;
        note("FN", g, c.text);
      }
    }
  }
  for (const PiiScore& s : r.per_type) {
    r.overall.tp += s.tp;
    r.overall.fp += s.fp;
    r.overall.fn += s.fn;
  }
  return r;
}

nlohmann::json pii_eval_to_json(const PiiEvalReport& r) {
  auto score = [](const PiiScore& s) {
    return nlohmann::json{{"precision", s.precision()},
                          {"recall", s.recall()},
                          {"tp", s.tp},
                          {"fp", s.fp},
                          {"fn", s.fn},
                          {"gold", s.tp + s.fn}};
  };
  nlohmann::json types = nlohmann::json::object();
  for (int i = 0; i < kNumPiiTypes; ++i) {
    types[pii_type_name(static_cast<PiiType>(i))] = score(r.per_type[i]);
  }
  return {{"cases", r.cases},
          {"bytes", r.bytes},
          {"overall", score(r.overall)},
          {"types", types},
          {"errors", r.errors}};
}

}  // namespace deepfuse
