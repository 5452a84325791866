#include "cli/encoder_input.h"

#include <nlohmann/json.hpp>

#include <string>

#include "cli/cli_util.h"
#include "core/error.h"

namespace deepfuse::cli {

bool read_encoder_ids(std::istream& in, bool jsonl, const Tokenizer& tok, int64_t max_positions,
                      size_t* line_no, std::vector<int32_t>* ids) {
  std::string line;
  if (!read_line(in, &line)) return false;
  const size_t n = ++*line_no;
  std::string text = line;
  if (jsonl) {
    JsonReader reader(kRequestJsonLimits);
    const auto j = parse_request_line(reader, line, n, "{\"text\": \"...\"}");
    DF_CHECK(j.is_object() && j.contains("text") && j["text"].is_string(), InvalidArgument,
             "stdin line " << n << ": expected {\"text\": \"...\"}");
    text = j.at("text").get<std::string>();
  }
  *ids = tok.encode(text);
  DF_CHECK(!ids->empty(), InvalidArgument, "stdin line " << n << ": text encodes to no tokens");
  if (max_positions > 0 && static_cast<int64_t>(ids->size()) > max_positions) {
    const int32_t last = ids->back();
    ids->resize(static_cast<size_t>(max_positions));
    ids->back() = last;
  }
  return true;
}

}  // namespace deepfuse::cli
