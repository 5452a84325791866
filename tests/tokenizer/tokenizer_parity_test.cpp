// Parity with HF tokenizers: ids (with and without special tokens), decode, offsets and
// streaming decode for every tokenizer in shared/data/tokenizers over the project corpus
// (fixtures made by tools/tokenizer_refs/make_fixtures.js), plus the llama.cpp test vectors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "deepfuse/tokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer_test_util.h"

namespace deepfuse {
namespace {

using test::load_corpus;
using test::load_json_fixture;

// The fixtures hold HF tokenizers' decode; transformers (and deepfuse) then apply
// clean_up_tokenization when tokenizer_config.json sets clean_up_tokenization_spaces.
std::string expected_decode(const Tokenizer& tok, std::string s) {
  if (!tok.config().clean_up_tokenization_spaces) return s;
  const std::pair<const char*, const char*> rules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (auto [from, to] : rules) {
    std::string out;
    size_t pos = 0, f;
    while ((f = s.find(from, pos)) != std::string::npos) {
      out.append(s, pos, f - pos);
      out += to;
      pos = f + std::string(from).size();
    }
    out.append(s, pos, std::string::npos);
    s = out;
  }
  return s;
}

class Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Parity, IdsDecodeOffsetsMatchHf) {
  const std::string name = GetParam();
  auto tok = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/" + name));
  auto ref = load_json_fixture("tokenizer/ref_" + name + ".json");
  auto corpus = load_corpus();
  ASSERT_EQ(corpus.size(), ref["cases"].size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    const auto& c = ref["cases"][i];
    const auto& text = corpus[i].bytes;
    SCOPED_TRACE(name + " / " + corpus[i].name);
    EXPECT_EQ(tok->encode(text, false), test::ids_of(c["ids"]));
    EXPECT_EQ(tok->encode(text, true), test::ids_of(c["ids_special"]));
    EXPECT_EQ(tok->decode(test::ids_of(c["ids"]), false),
              expected_decode(*tok, c["decoded"].get<std::string>()));
    EXPECT_EQ(tok->decode(test::ids_of(c["ids_special"]), true),
              expected_decode(*tok, c["decoded_special_skip"].get<std::string>()));
    // Offsets: byte offsets into the caller's bytes (in range even for invalid UTF-8), whose
    // code-point conversion counts each ill-formed subpart as the one U+FFFD HF saw.
    Encoding e = tok->encode_full(text, false);
    for (auto [b, en] : e.offsets) {
      EXPECT_LE(b, en);
      EXPECT_LE(en, text.size());
    }
    auto offs = byte_to_char_offsets(text, e.offsets);
    std::vector<std::pair<uint32_t, uint32_t>> want;
    for (const auto& o : c["offsets"])
      want.emplace_back(o[0].get<uint32_t>(), o[1].get<uint32_t>());
    EXPECT_EQ(offs, want);
  }
}

TEST_P(Parity, StreamingDecodeEqualsFullDecode) {
  const std::string name = GetParam();
  auto tok = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/" + name));
  auto ref = load_json_fixture("tokenizer/ref_" + name + ".json");
  for (const auto& c : ref["cases"]) {
    for (bool skip : {false, true}) {
      auto ids = test::ids_of(c["ids_special"]);
      StreamingDecoder sd(tok, skip);
      std::string acc;
      for (int32_t id : ids) {
        std::string piece = sd.step(id);
        // Never a broken UTF-8 sequence.
        EXPECT_TRUE(tok::is_valid_utf8(piece));
        acc += piece;
      }
      acc += sd.flush();
      EXPECT_EQ(acc, tok->decode(ids, skip));
    }
  }
}

// decode(encode(x)) == x where HF guarantees it: byte-level BPE without a normalizer (and
// Qwen3's NFC on text that is already NFC).
TEST_P(Parity, RoundTripWhereLossless) {
  const std::string name = GetParam();
  if (name != "deepseek-v3" && name != "llama3" && name != "gpt2" && name != "qwen3" &&
      name != "smollm2-135m-instruct")
    GTEST_SKIP() << name
                 << " normalizes text (lowercase, Metaspace, ...): decode is not the inverse";
  auto tok = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/" + name));
  for (const auto& t : load_corpus()) {
    std::string clean = tok::sanitize_utf8(t.bytes);
    if (name == "qwen3" && tok::normalize_utf8(clean, tok::NormForm::NFC) != clean) continue;
    EXPECT_EQ(tok->decode(tok->encode(t.bytes, false), false), expected_decode(*tok, clean))
        << t.name;
  }
}

INSTANTIATE_TEST_SUITE_P(AllSharedTokenizers, Parity,
                         ::testing::Values("deepseek-v3", "qwen3", "llama3", "llama2", "gpt2",
                                           "smollm2-135m-instruct", "bert-base-uncased-minilm",
                                           "bert-base-chinese"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (char& ch : s)
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return s;
                         });

class Synthetic : public ::testing::TestWithParam<std::string> {};

TEST_P(Synthetic, MatchesHf) {
  const std::string name = GetParam();
  auto tok = Tokenizer::from_file(test::fixture("tokenizer/synthetic/" + name + ".json"));
  auto ref = load_json_fixture("tokenizer/synthetic/" + name + ".ref.json");
  for (size_t i = 0; i < ref["texts"].size(); ++i) {
    std::string text = ref["texts"][i].get<std::string>();
    const auto& c = ref["cases"][i];
    SCOPED_TRACE(name + " / '" + text + "'");
    EXPECT_EQ(tok->encode(text, false), test::ids_of(c["ids"]));
    EXPECT_EQ(tok->encode(text, true), test::ids_of(c["ids_special"]));
    EXPECT_EQ(tok->decode(test::ids_of(c["ids"]), false), c["decoded"].get<std::string>());
    EXPECT_EQ(tok->decode(test::ids_of(c["ids_special"]), true),
              c["decoded_special_skip"].get<std::string>());
    auto offs = byte_to_char_offsets(text, tok->encode_full(text, false).offsets);
    std::vector<std::pair<uint32_t, uint32_t>> want;
    for (const auto& o : c["offsets"])
      want.emplace_back(o[0].get<uint32_t>(), o[1].get<uint32_t>());
    EXPECT_EQ(offs, want);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Components, Synthetic,
    ::testing::Values("wordlevel_whitespace", "wordlevel_punct_digits", "wordlevel_split_behaviors",
                      "unigram_metaspace", "unigram_bytefallback_first", "bpe_char_suffix",
                      "precompiled_wordlevel", "align_bert", "align_bert_clean_only",
                      "align_replace", "align_strip_prepend", "align_nfkd_strip_lower",
                      "align_nfd_strip", "align_nfkc", "align_nfc_lower", "align_precompiled"));

// llama.cpp's test vectors (*.inp / *.out) for the vocabularies we have.
TEST(TestVectors, MatchWhereVocabularyMatches) {
  auto tv = load_json_fixture("tokenizer/test_vectors.json");
  ASSERT_FALSE(tv["mapping"].empty());
  for (auto it = tv["mapping"].begin(); it != tv["mapping"].end(); ++it) {
    const std::string key = it.key(), name = it.value().get<std::string>();
    auto tok = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/" + name));
    std::string inp = test::read_text(
        test::shared_data("tokenizers/test-vectors/ggml-vocab-" + key + ".gguf.inp"));
    std::string out = test::read_text(
        test::shared_data("tokenizers/test-vectors/ggml-vocab-" + key + ".gguf.out"));
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> texts;
    size_t pos = 0, f;
    while ((f = inp.find(sep, pos)) != std::string::npos) {
      texts.push_back(inp.substr(pos, f - pos));
      pos = f + sep.size();
    }
    std::istringstream lines(out);
    std::string line;
    size_t i = 0, checked = 0;
    const auto& agree = tv["agreement"][key];
    while (std::getline(lines, line) && i < texts.size()) {
      std::vector<int32_t> want;
      std::istringstream ls(line);
      int32_t v;
      while (ls >> v) want.push_back(v);
      if (agree[i].get<bool>()) {
        EXPECT_EQ(tok->encode(texts[i], false), want) << key << " case " << i;
        ++checked;
      }
      ++i;
    }
    EXPECT_EQ(i, texts.size()) << key;
    EXPECT_GT(checked, texts.size() / 2) << key;
  }
}

}  // namespace
}  // namespace deepfuse
