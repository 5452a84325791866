// Long inputs are pre-tokenized and run through the model in pieces (issue 13: one 200 MB line
// needed 15.8 GB). Cutting must not change a single id or offset: checked on every shared
// tokenizer with pieces of ~1 KB against the same text encoded whole.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "common/test_util.h"
#include "deepfuse/tokenizer.h"
#include "tokenizer/tokenizer_impl.h"

namespace deepfuse {
namespace {

// ~120 KB of English and Chinese documents on one line, with digits, punctuation, runs of
// spaces, tabs and a few newlines kept, plus words glued by "▁" as a SentencePiece
// normalizer would leave them.
std::string mixed_text() {
  std::string text;
  for (const char* rel : {"corpora/medquad/medquad_qa.jsonl",
                          "corpora/chinese-medical-dialogue/sample_IM_5000-6000.utf8.jsonl"}) {
    std::ifstream in(test::shared_data(rel));
    EXPECT_TRUE(in.good()) << rel;
    std::string line;
    size_t taken = 0;
    while (taken < 60000 && std::getline(in, line)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      for (const char* k : {"question", "answer", "ask", "title"})
        if (j.contains(k) && j[k].is_string()) {
          const std::string s = j[k];
          text += s + (taken % 7 == 0 ? "  \t" : " ");
          taken += s.size();
        }
    }
  }
  text += " plain\xE2\x96\x81glued\xE2\x96\x81words and 12345 numbers.\nNew line";
  return text;
}

class LongInput : public ::testing::TestWithParam<const char*> {};

TEST_P(LongInput, InPiecesEncodesLikeWhole) {
  auto tok = Tokenizer::from_file(
      test::shared_data(std::string("tokenizers/") + GetParam() + "/tokenizer.json"));
  const std::string text = mixed_text();
  ASSERT_GT(text.size(), 100000u);
  ASSERT_LT(text.size(), tok->impl().piece_bytes);  // the reference is encoded whole
  const Encoding whole = tok->encode_full(text, true);
  tok->impl().piece_bytes = 1000;
  const Encoding pieces = tok->encode_full(text, true);
  ASSERT_EQ(pieces.ids.size(), whole.ids.size());
  for (size_t i = 0; i < whole.ids.size(); ++i) {
    ASSERT_EQ(pieces.ids[i], whole.ids[i]) << "token " << i;
    ASSERT_EQ(pieces.offsets[i], whole.offsets[i]) << "token " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(SharedTokenizers, LongInput,
                         ::testing::Values("gpt2", "llama2", "llama3", "qwen3", "deepseek-v3",
                                           "smollm2-135m-instruct", "bert-base-uncased-minilm"));

}  // namespace
}  // namespace deepfuse
