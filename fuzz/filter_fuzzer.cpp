// libFuzzer target: metadata filter expressions (`field=value`, `year>2022`, `date>=2023-06`).
// Each input line is parsed (InvalidArgument is the only allowed failure) and evaluated
// against documents with and without the field; date_number runs on every line.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "retrieval/filter.h"

using namespace deepfuse::retrieval;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  deepfuse::Document full;
  full.id = "d1";
  full.domain = "medical";
  full.date = "2023-05-01";
  full.year = 2023;
  full.source = "pubmed";
  full.fields["lang"] = "zh";
  full.numbers["pages"] = 12;
  deepfuse::Document empty;
  std::vector<FilterExpr> parsed;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    date_number(line);
    try {
      FilterExpr f = parse_filter(line);
      matches(f, full);
      matches(f, empty);
      parsed.push_back(f);
    } catch (const deepfuse::InvalidArgument&) {
    }
    pos = nl + 1;
  }
  matches_all(parsed, full);
  return 0;
}
