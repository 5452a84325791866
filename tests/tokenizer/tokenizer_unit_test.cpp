// Loading (malformed files, legacy folders, tokenizer_config.json), batch encoding with
// truncation and padding, special-token ids, offsets (invalid UTF-8, removed characters) and
// the CLI contract of tokenize / detokenize.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "deepfuse/tokenizer.h"
#include "tokenizer/unicode.h"
#include "tokenizer_test_util.h"

namespace deepfuse {
namespace {

namespace fs = std::filesystem;

// A tiny valid BPE tokenizer.json, edited by the malformed-input tests.
const char* kTiny = R"({
  "added_tokens": [{"id": 5, "content": "<s>", "special": true, "normalized": false}],
  "normalizer": null,
  "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
  "post_processor": null,
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "c": 3, "abc": 4, "<s>": 5},
            "merges": ["a b", "ab c"]}
})";

std::string expect_format_error(const std::string& json_text) {
  try {
    Tokenizer::from_json(json_text, "t.json");
  } catch (const FormatError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected FormatError, got: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected FormatError, loaded fine";
  return "";
}

TEST(TokenizerLoad, TinyBpeWorks) {
  auto t = Tokenizer::from_json(kTiny);
  EXPECT_EQ(t->encode("abcab", false), (std::vector<int32_t>{4, 2}));
  EXPECT_EQ(t->encode("ab<s>c", false), (std::vector<int32_t>{2, 5, 3}));
  EXPECT_EQ(t->decode({4, 5, 2}, false), "abc<s>ab");
  EXPECT_EQ(t->decode({4, 5, 2}, true), "abcab");
  EXPECT_EQ(t->token_to_id("abc"), 4);
  EXPECT_EQ(t->id_to_token(2), "ab");
  EXPECT_FALSE(t->token_to_id("zzz").has_value());
  EXPECT_EQ(t->vocab_size(), 6u);
  EXPECT_TRUE(t->is_special_token(5));
}

TEST(TokenizerLoad, NumberOverflowIsAFormatError) {
  // Fuzz finding (fuzz_tokenizer_json, 16-core run): nlohmann reports a number that overflows a
  // double as out_of_range, not parse_error, and it escaped as an uncaught exception.
  for (const char* text : {"3e2200e", "{\"version\": 2e2000}",
                           "{\"versAon\":999999999999999999999999999.9999E99999}"}) {
    const std::string msg = expect_format_error(text);
    EXPECT_NE(msg.find("t.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("overflow"), std::string::npos) << msg;
  }
  EXPECT_THROW(parse_tokenizer_config("{\"model_max_length\": 1e999}", "tokenizer_config.json"),
               FormatError);
}

TEST(TokenizerLoad, HugeOrFloatIdsAreFormatErrors) {
  // Fuzz findings (fuzz_tokenizer_json): an id of 2^30 in a 1 KB file allocated a 7 GB id table;
  // a float type_id reached an undefined float -> int conversion.
  std::string tiny = kTiny;
  std::string sparse = tiny;
  sparse.replace(sparse.find("\"abc\": 4"), 8, "\"abc\": 1000000000");
  const std::string sparse_msg = expect_format_error(sparse);
  EXPECT_NE(sparse_msg.find("ids must be dense"), std::string::npos) << sparse_msg;
  std::string tpl = tiny;
  tpl.replace(tpl.find("\"post_processor\": null"), 22,
              "\"post_processor\": {\"type\": \"TemplateProcessing\", \"single\": "
              "[{\"Sequence\": {\"id\": \"A\", \"type_id\": 3.3e40}}], \"pair\": [], "
              "\"special_tokens\": {}}");
  EXPECT_NE(expect_format_error(tpl).find("type_id"), std::string::npos);
}

TEST(TokenizerLoad, MalformedFilesNameTheJsonPath) {
  std::string tiny = kTiny;
  auto edit = [&](const std::string& from, const std::string& to) {
    std::string s = tiny;
    size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    return s.replace(p, from.size(), to);
  };
  // Bad JSON.
  EXPECT_NE(expect_format_error("{\"model\": {").find("invalid JSON"), std::string::npos);
  EXPECT_NE(expect_format_error("[1, 2]").find("JSON object"), std::string::npos);
  // Missing model.
  EXPECT_NE(expect_format_error("{\"normalizer\": null}").find("model"), std::string::npos);
  // Unknown model type.
  EXPECT_NE(
      expect_format_error(edit("\"type\": \"BPE\"", "\"type\": \"Magic\"")).find("model.type"),
      std::string::npos);
  // Merges naming unknown tokens.
  std::string m = expect_format_error(edit("\"ab c\"", "\"ab zz\""));
  EXPECT_NE(m.find("model.merges[1]"), std::string::npos) << m;
  EXPECT_NE(m.find("zz"), std::string::npos) << m;
  EXPECT_NE(expect_format_error(edit("\"a b\"", "\"ab\"")).find("model.merges[0]"),
            std::string::npos);
  EXPECT_NE(expect_format_error(edit("\"a b\"", "17")).find("model.merges[0]"), std::string::npos);
  // Vocab ids must be integers.
  EXPECT_NE(expect_format_error(edit("\"a\": 0", "\"a\": \"zero\"")).find("model.vocab"),
            std::string::npos);
  // Unknown pre-tokenizer / normalizer / decoder types and bad regexes.
  EXPECT_NE(expect_format_error(edit("\"type\": \"ByteLevel\", \"add", "\"type\": \"Nope\", \"add"))
                .find("pre_tokenizer.type"),
            std::string::npos);
  EXPECT_NE(expect_format_error(edit("\"normalizer\": null",
                                     "\"normalizer\": {\"type\": \"Sequence\", \"normalizers\": "
                                     "[{\"type\": \"NFC\"}, {\"type\": \"Bogus\"}]}"))
                .find("normalizer.normalizers[1].type"),
            std::string::npos);
  EXPECT_NE(expect_format_error(edit("\"normalizer\": null",
                                     "\"normalizer\": {\"type\": \"Replace\", \"pattern\": "
                                     "{\"Regex\": \"(unclosed\"}, \"content\": \"\"}"))
                .find("normalizer.pattern.Regex"),
            std::string::npos);
  EXPECT_NE(expect_format_error(
                edit("\"decoder\": {\"type\": \"ByteLevel\"}", "\"decoder\": {\"type\": 3}"))
                .find("decoder.type"),
            std::string::npos);
  EXPECT_NE(expect_format_error(edit("\"id\": 5,", "\"id\": -5,")).find("added_tokens[0].id"),
            std::string::npos);
}

TEST(TokenizerLoad, MissingFolderOrFilesIsNotFound) {
  EXPECT_THROW(AutoTokenizer::from_pretrained("/nonexistent/dir"), NotFound);
  std::string d = test::temp_dir("tok_empty");
  EXPECT_THROW(AutoTokenizer::from_pretrained(d), NotFound);
}

TEST(TokenizerLoad, LegacyGpt2FilesMatchTokenizerJson) {
  std::string d = test::temp_dir("tok_gpt2_legacy");
  for (const char* f : {"vocab.json", "merges.txt", "tokenizer_config.json"})
    fs::copy_file(test::shared_data(std::string("tokenizers/gpt2/") + f), fs::path(d) / f);
  auto legacy = AutoTokenizer::from_pretrained(d);
  auto ref = test::load_json_fixture("tokenizer/ref_gpt2.json");
  auto corpus = test::load_corpus();
  for (size_t i = 0; i < corpus.size(); ++i) {
    EXPECT_EQ(legacy->encode(corpus[i].bytes, false), test::ids_of(ref["cases"][i]["ids"]))
        << corpus[i].name;
    EXPECT_EQ(legacy->encode(corpus[i].bytes, true), test::ids_of(ref["cases"][i]["ids_special"]));
  }
  EXPECT_EQ(legacy->eos_token_id(), 50256);
}

TEST(TokenizerLoad, LegacyBertVocabTxt) {
  // bert-base-uncased-minilm also ships vocab.txt: the legacy path must equal tokenizer.json.
  std::string d = test::temp_dir("tok_bert_legacy");
  for (const char* f : {"vocab.txt", "tokenizer_config.json"})
    fs::copy_file(test::shared_data(std::string("tokenizers/bert-base-uncased-minilm/") + f),
                  fs::path(d) / f);
  auto legacy = AutoTokenizer::from_pretrained(d);
  auto ref = test::load_json_fixture("tokenizer/ref_bert-base-uncased-minilm.json");
  auto corpus = test::load_corpus();
  for (size_t i = 0; i < corpus.size(); ++i)
    EXPECT_EQ(legacy->encode(corpus[i].bytes, true), test::ids_of(ref["cases"][i]["ids_special"]))
        << corpus[i].name;
  EXPECT_EQ(legacy->pad_token_id(), 0);
  EXPECT_EQ(legacy->unk_token_id(), 100);
}

TEST(TokenizerConfig, SpecialTokensAndTemplates) {
  auto ds = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/deepseek-v3"));
  EXPECT_EQ(ds->bos_token_id(), 0);
  EXPECT_EQ(ds->eos_token_id(), 1);
  EXPECT_EQ(ds->config().tokenizer_class, "LlamaTokenizerFast");
  EXPECT_FALSE(ds->config().chat_template.empty());
  EXPECT_EQ(ds->config().model_max_length, 131072);
  EXPECT_EQ(ds->num_special_tokens_to_add(), 1u);  // BOS from add_bos_token
  EXPECT_EQ(ds->encode("hi", true).front(), 0);
  auto qwen = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/qwen3"));
  EXPECT_EQ(qwen->num_special_tokens_to_add(), 0u);
  EXPECT_EQ(qwen->token_to_id("<|im_start|>"), 151644);
  EXPECT_TRUE(qwen->eos_token_id().has_value());
  auto bert =
      AutoTokenizer::from_pretrained(test::shared_data("tokenizers/bert-base-uncased-minilm"));
  EXPECT_EQ(bert->num_special_tokens_to_add(false), 2u);
  EXPECT_EQ(bert->num_special_tokens_to_add(true), 3u);
  Encoding p = bert->encode_pair("hello", "world", true);
  EXPECT_EQ(p.ids, (std::vector<int32_t>{101, 7592, 102, 2088, 102}));
  EXPECT_EQ(p.type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(p.special_tokens_mask, (std::vector<uint8_t>{1, 0, 1, 0, 1}));

  TokenizerConfig c = parse_tokenizer_config(
      R"({"bos_token": {"content": "<b>"}, "eos_token": "<e>", "model_max_length": 1e30,
          "chat_template": [{"name": "default", "template": "T"}, {"name": "tool_use", "template": "U"}]})",
      "cfg");
  EXPECT_EQ(c.bos_token, "<b>");
  EXPECT_EQ(c.eos_token, "<e>");
  EXPECT_FALSE(c.model_max_length.has_value());
  EXPECT_EQ(c.chat_template, "T");
  EXPECT_EQ(c.chat_templates.at("tool_use"), "U");
  EXPECT_THROW(parse_tokenizer_config("{\"add_bos_token\": 3}", "cfg"), FormatError);
  EXPECT_THROW(parse_tokenizer_config("{nope", "cfg"), FormatError);
}

TEST(TokenizerBatch, TruncationAndPadding) {
  auto bert =
      AutoTokenizer::from_pretrained(test::shared_data("tokenizers/bert-base-uncased-minilm"));
  std::vector<std::string> texts = {"hello world", "the quick brown fox jumps over the lazy dog",
                                    ""};
  BatchEncodeOptions o;
  o.truncation.max_length = 6;
  o.padding.strategy = PaddingOptions::Strategy::Longest;
  o.padding.pad_to_multiple_of = 4;
  auto out = bert->encode_batch(texts, o);
  ASSERT_EQ(out.size(), 3u);
  for (auto& e : out) EXPECT_EQ(e.ids.size(), 8u);
  EXPECT_EQ(out[1].ids[0], 101);
  EXPECT_EQ(out[1].ids[5], 102);  // truncated to 4 words + [CLS] [SEP]
  EXPECT_EQ(out[1].attention_mask, (std::vector<uint8_t>{1, 1, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(out[2].ids, (std::vector<int32_t>{101, 102, 0, 0, 0, 0, 0, 0}));
  // Left truncation / left padding.
  o.truncation.side = Side::Left;
  o.padding.side = Side::Left;
  o.padding.pad_to_multiple_of = 0;
  auto left = bert->encode_batch(texts, o);
  EXPECT_EQ(left[0].ids.size(), 6u);
  EXPECT_EQ(left[0].ids[0], 0);
  EXPECT_EQ(left[0].attention_mask[0], 0);
  auto full = bert->encode(texts[1], false);
  EXPECT_EQ(left[1].ids[4], full.back());
  // Parallel encode equals serial encode.
  std::vector<std::string> many;
  for (int i = 0; i < 50; ++i) many.push_back("sample number " + std::to_string(i) + " 测试");
  BatchEncodeOptions par;
  par.num_threads = 4;
  auto pe = bert->encode_batch(many, par);
  for (size_t i = 0; i < many.size(); ++i) EXPECT_EQ(pe[i].ids, bert->encode(many[i], true));
  // Max-length smaller than the special tokens is a caller error.
  BatchEncodeOptions tiny;
  tiny.truncation.max_length = 1;
  EXPECT_THROW(bert->encode_batch(texts, tiny), InvalidArgument);
  // Padding without a pad token.
  auto ll = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/llama3"));
  BatchEncodeOptions pad;
  pad.padding.strategy = PaddingOptions::Strategy::Longest;
  if (!ll->pad_token_id()) EXPECT_THROW(ll->encode_batch(texts, pad), InvalidArgument);
  pad.padding.pad_id = 7;
  EXPECT_EQ(ll->encode_batch(texts, pad)[2].ids.front(), 7);
}

TEST(TokenizerStreaming, SplitsMultibyteCharacters) {
  // Byte-level tokens that split a CJK character / emoji are held back until complete.
  auto t = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/gpt2"));
  std::string text = "猫😀 ok";
  auto ids = t->encode(text, false);
  StreamingDecoder sd(t);
  std::string acc;
  for (int32_t id : ids) {
    std::string s = sd.step(id);
    EXPECT_TRUE(tok::is_valid_utf8(s)) << id;
    acc += s;
  }
  acc += sd.flush();
  EXPECT_EQ(acc, text);
  // An incomplete character at the end comes out on flush (as U+FFFD, like decode).
  sd.reset();
  std::string partial;
  auto lone = t->encode("猫", false);
  for (size_t i = 0; i + 1 < lone.size(); ++i) partial += sd.step(lone[i]);
  EXPECT_EQ(partial, "");
  EXPECT_EQ(sd.flush(), t->decode(std::vector<int32_t>(lone.begin(), lone.end() - 1)));
}

// Regression for fuzz/findings/tokenizer_encode-offsets-after-removed-chars.bin: an invalid
// byte (tokenized as U+FFFD) and a NUL, both removed by the BertNormalizer, used to push the
// offsets of the later tokens past the input (they were offsets into the longer sanitized text).
// HF on "Hello world! Don't pa\uFFFD\u0000c." gives ##a [20,21], ##c [23,24], . [24,25].
TEST(TokenizerOffsets, RemovedCharsAfterInvalidByteFuzzFinding) {
  std::string input = test::read_text(
      test::source_path("fuzz/findings/tokenizer_encode-offsets-after-removed-chars.bin"));
  ASSERT_FALSE(input.empty());
  const std::string text = input.substr(1);  // byte 0 is the fuzzer's tokenizer/mode selector
  ASSERT_EQ(text, std::string("Hello world! Don't pa\xa3\x00"
                              "c.",
                              25));
  auto t = AutoTokenizer::from_pretrained(test::fixture("models/enc_bert"));
  Encoding e = t->encode_full(text, false);
  ASSERT_GE(e.offsets.size(), 3u);
  for (auto [b, en] : e.offsets) {
    EXPECT_LE(b, en);
    EXPECT_LE(en, text.size());
  }
  const size_t n = e.offsets.size();
  using Off = std::pair<uint32_t, uint32_t>;
  EXPECT_EQ(e.offsets[n - 3], Off(20, 21));  // ##a
  EXPECT_EQ(e.offsets[n - 2], Off(23, 24));  // ##c, after the removed \xa3 and \x00
  EXPECT_EQ(e.offsets[n - 1], Off(24, 25));  // .
  EXPECT_EQ(byte_to_char_offsets(text, e.offsets), e.offsets);  // one code point per byte here
  // The CLI reports the same code-point spans.
  auto r = test::run_cli(
      {"tokenize", "--model", test::fixture("models/enc_bert"), "--offsets", "--no-special"},
      text + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  auto offs = j["offsets"].get<std::vector<std::vector<uint32_t>>>();
  ASSERT_EQ(offs.size(), n);
  EXPECT_EQ(offs[n - 2], (std::vector<uint32_t>{23, 24}));
  EXPECT_EQ(offs[n - 1], (std::vector<uint32_t>{24, 25}));
}

TEST(TokenizerOffsets, ByteToCharCountsEachIllFormedSubpartOnce) {
  // "a" + E4 BD (truncated 3-byte sequence: one U+FFFD) + "b" + 80 (lone continuation: one
  // U+FFFD) + "é" (2 bytes) + F0 9F 98 (truncated 4-byte: one U+FFFD).
  const std::string text = std::string(
      "a\xe4\xbd"
      "b\x80\xc3\xa9\xf0\x9f\x98");
  using Off = std::pair<uint32_t, uint32_t>;
  std::vector<Off> bytes = {{0, 1}, {1, 3}, {3, 4}, {4, 5}, {5, 7}, {7, 10}, {2, 3}, {6, 7}};
  std::vector<Off> want = {{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {1, 2}, {4, 5}};
  EXPECT_EQ(byte_to_char_offsets(text, bytes), want);
  // Encoding such text keeps every offset inside the caller's bytes.
  auto t = AutoTokenizer::from_pretrained(test::shared_data("tokenizers/gpt2"));
  Encoding e = t->encode_full(text, false);
  for (auto [b, en] : e.offsets) EXPECT_LE(en, text.size());
  EXPECT_EQ(e.offsets.back().second, text.size());
}

TEST(TokenizeCli, TokenizeDetokenizeAndErrors) {
  std::string model = test::shared_data("tokenizers/qwen3");
  auto r = test::run_cli({"tokenize", "--model", model}, "Hello world\n你好\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tok = AutoTokenizer::from_pretrained(model);
  nlohmann::json want1 = {{"ids", tok->encode("Hello world")}};
  nlohmann::json want2 = {{"ids", tok->encode("你好")}};
  EXPECT_EQ(r.out, want1.dump() + "\n" + want2.dump() + "\n");
  // --jsonl keeps newlines inside a text; --offsets adds code-point spans.
  r = test::run_cli({"tokenize", "--model", model, "--jsonl", "--offsets"},
                    "{\"text\": \"a\\nb é\"}\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ids"].get<std::vector<int32_t>>(), tok->encode("a\nb é"));
  EXPECT_EQ(j["offsets"].back()[1].get<int>(), 5);
  // --no-special on a tokenizer that adds BOS.
  std::string ds = test::shared_data("tokenizers/deepseek-v3");
  r = test::run_cli({"tokenize", "--model", ds}, "hi\n");
  EXPECT_EQ(nlohmann::json::parse(r.out)["ids"][0].get<int>(), 0);
  r = test::run_cli({"tokenize", "--model", ds, "--no-special"}, "hi\n");
  EXPECT_NE(nlohmann::json::parse(r.out)["ids"][0].get<int>(), 0);
  // detokenize.
  r = test::run_cli({"detokenize", "--model", model}, want1.dump() + "\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"text\":\"Hello world\"}\n");
  // Bad input -> exit 2 with a message.
  r = test::run_cli({"detokenize", "--model", model}, "{\"ids\": [\"x\"]}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("ids"), std::string::npos);
  r = test::run_cli({"tokenize", "--model", model, "--jsonl"}, "not json\n");
  EXPECT_EQ(r.exit_code, 2);
  // A number that overflows a double is nlohmann's out_of_range, not parse_error.
  r = test::run_cli({"tokenize", "--model", model, "--jsonl"}, "{\"text\": 1e999}\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("line 1"), std::string::npos) << r.err;
  r = test::run_cli({"detokenize", "--model", model}, "{\"ids\": [1e999]}\n");
  EXPECT_EQ(r.exit_code, 2);
  r = test::run_cli({"tokenize", "--model", "/nonexistent"}, "x\n");
  EXPECT_EQ(r.exit_code, 2);
  // Malformed tokenizer.json -> exit 2 naming the JSON path.
  std::string d = test::temp_dir("tok_cli_bad");
  std::string bad = kTiny;
  bad.replace(bad.find("\"ab c\""), 6, "\"ab zz\"");
  test::write_text(d + "/tokenizer.json", bad);
  r = test::run_cli({"tokenize", "--model", d}, "x\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.merges[1]"), std::string::npos) << r.err;
  test::write_text(d + "/tokenizer.json", "{\"model\": {\"type\": \"Nope\"}}");
  r = test::run_cli({"tokenize", "--model", d}, "x\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.type"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace deepfuse
