// Fast path for the two huge arrays of tokenizer.json ("model.vocab" and "model.merges"): they
// are located with a lightweight structural scan, parsed by a specialised parser, and cut out of
// the text handed to the program's JSON reader (core/json_reader.h: simdjson with a depth limit,
// building nlohmann::json, ~10x slower on these two arrays; DECISIONS.md "JSON reader"). Keeps
// DeepSeek-V3 / Llama-3 tokenizer.json loads well under 150 ms.
#pragma once

#include <string>
#include <string_view>

#include "tokenizer/models.h"

namespace deepfuse::tok {

// Parses `text` into `rest` (the document with model.vocab / model.merges replaced by empty
// containers when they were extracted into `data`). FormatError naming `source` and the JSON
// path on malformed input.
void parse_tokenizer_json(std::string_view text, const std::string& source, json* rest,
                          ModelData* data);

}  // namespace deepfuse::tok
