// Helpers for the tokenizer suites: fixture loading and corpus decoding.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/test_util.h"

namespace deepfuse::test {

inline nlohmann::json load_json_fixture(const std::string& rel) {
  return nlohmann::json::parse(read_text(fixture(rel)));
}

inline std::string hex_to_bytes(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  return out;
}

struct CorpusText {
  std::string name;
  std::string bytes;  // what deepfuse is given (may be invalid UTF-8)
  bool valid_utf8 = true;
};

inline std::vector<CorpusText> load_corpus() {
  std::vector<CorpusText> out;
  for (const auto& c : load_json_fixture("tokenizer/corpus.json")) {
    CorpusText t;
    t.name = c["name"].get<std::string>();
    if (c.contains("hex")) {
      t.bytes = hex_to_bytes(c["hex"].get<std::string>());
      t.valid_utf8 = false;
    } else {
      t.bytes = c["text"].get<std::string>();
    }
    out.push_back(std::move(t));
  }
  return out;
}

inline std::vector<int32_t> ids_of(const nlohmann::json& j) {
  return j.get<std::vector<int32_t>>();
}

}  // namespace deepfuse::test
