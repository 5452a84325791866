// The one JSON reader of the program. Every JSON input (stdin request lines, config.json,
// generation_config.json, tokenizer_config.json, tokenizer.json, HTTP bodies) is parsed here,
// under a size limit and a nesting-depth limit, so no input can exhaust the stack or memory,
// and every error message quotes at most ~80 characters of the input.
//
// Parsing is done by simdjson (on-demand DOM with a depth limit, ~GB/s); the result is handed to
// the rest of the program as nlohmann::json, the in-memory type every module already uses.
#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace deepfuse {

struct JsonLimits {
  // Largest document accepted, in bytes (tokenizer.json of DeepSeek-V3 is 7.8 MB, Qwen3 11 MB).
  size_t max_bytes = size_t{512} << 20;
  // Deepest nesting of arrays/objects accepted (real inputs nest < 10 levels).
  size_t max_depth = 128;
};

// Limits for one stdin request line or one HTTP body: small documents, shallow nesting.
inline constexpr JsonLimits kRequestJsonLimits{size_t{256} << 20, 64};

// A reusable parser (its buffers grow to the largest document seen). Not thread-safe: one per
// thread or per stream of lines.
class JsonReader {
 public:
  explicit JsonReader(JsonLimits limits = {});
  ~JsonReader();
  JsonReader(const JsonReader&) = delete;
  JsonReader& operator=(const JsonReader&) = delete;

  // Parses `text`; FormatError "<source>: invalid JSON (<reason>)" on malformed input,
  // "<source>: JSON nested deeper than N levels" or "<source>: JSON document of B bytes is
  // larger than the limit of L bytes". `source` names the input (a path, "stdin line 3").
  nlohmann::json parse(std::string_view text, const std::string& source);
  nlohmann::ordered_json parse_ordered(std::string_view text, const std::string& source);

  const JsonLimits& limits() const { return limits_; }

 private:
  struct Impl;
  JsonLimits limits_;
  std::unique_ptr<Impl> impl_;
};

// One-shot forms of JsonReader::parse.
nlohmann::json parse_json(std::string_view text, const std::string& source,
                          const JsonLimits& limits = {});
// Reads and parses the file at `path` (NotFound when missing, FormatError when malformed).
nlohmann::json load_json_file(const std::string& path, const JsonLimits& limits = {});

// At most `max_chars` bytes of `text` for an error message (cut on a UTF-8 boundary, "..."
// appended when cut).
std::string excerpt(std::string_view text, size_t max_chars = 80);
// A JSON value for an error message: its compact dump, cut like excerpt().
std::string json_excerpt(const nlohmann::json& value, size_t max_chars = 80);

}  // namespace deepfuse
