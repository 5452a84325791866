// libFuzzer target: knowledge-base ingestion parsers. Byte 0 picks the file kind (.jsonl, .txt,
// .md) and the chunk budget; the rest is the file content. Runs the JSONL line parser on every
// line, read_documents on the file, the chunker, width normalisation and every analyzer.
// Invariants: chunk spans non-empty, increasing and inside the text.
#include <cstdint>
#include <string>
#include <vector>

#include "core/error.h"
#include "fuzz_util.h"
#include "retrieval/analyzer.h"
#include "retrieval/chunker.h"
#include "retrieval/ingest_files.h"

using namespace deepfuse::retrieval;

// The chunker's white space: ASCII space and 9-13, U+00A0 (C2 A0), U+3000 (E3 80 80).
static bool only_white_space(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ' || (c >= 9 && c <= 13)) {
      i += 1;
    } else if (s.compare(i, 2, "\xC2\xA0") == 0) {
      i += 2;
    } else if (s.compare(i, 3, "\xE3\x80\x80") == 0) {
      i += 3;
    } else {
      return false;
    }
  }
  return true;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t sel = data[0];
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);

  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    deepfuse::Document doc;
    try {
      parse_jsonl_line(text.substr(pos, nl - pos), &doc);
    } catch (const deepfuse::Error&) {
    }
    pos = nl + 1;
  }

  static const char* kExt[] = {".jsonl", ".txt", ".md"};
  std::vector<deepfuse::Document> docs;
  std::vector<LineError> errors;
  try {
    read_documents(deepfuse::fuzz::scratch_file(text, kExt[sel % 3]), "fuzz", &docs, &errors);
  } catch (const deepfuse::Error&) {
  }

  int budget = (sel >> 2) % 17;  // 0 = no chunking
  int overlap = (sel >> 6) % 4;
  auto spans = chunk_text(text, budget, overlap);
  deepfuse::fuzz::check(only_white_space(text) || !spans.empty());
  size_t prev = 0;
  for (size_t k = 0; k < spans.size(); ++k) {
    deepfuse::fuzz::check(spans[k].start < spans[k].end && spans[k].end <= text.size());
    if (k > 0) deepfuse::fuzz::check(spans[k].start >= prev || overlap > 0);
    prev = spans[k].start;
  }
  normalize_width(text);
  for (AnalyzerKind kind :
       {AnalyzerKind::kStandard, AnalyzerKind::kCjkUnigram, AnalyzerKind::kWhitespace}) {
    std::vector<std::string> terms;
    analyze(kind, text, &terms);
  }
  return 0;
}
