// GenerationConfig parsing, precedence and validation (InvalidArgument naming the field).
#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "common/test_util.h"
#include "core/error.h"
#include "deepfuse/generation.h"
#include "engine/logits_processors.h"

using deepfuse::GenerationConfig;
using deepfuse::InvalidArgument;
namespace eng = deepfuse::engine;

namespace {
std::string validate_message(const GenerationConfig& c, int64_t vocab = 100) {
  try {
    c.validate(vocab);
  } catch (const InvalidArgument& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(GenerationConfig, ParsesHfFieldsAndEosList) {
  auto c = GenerationConfig::from_json_text(
      R"({"max_new_tokens": 7, "do_sample": true, "temperature": 0.5, "top_k": 3,
          "eos_token_id": [2, 5], "bad_words_ids": [[1], [3, 4]], "stop_strings": "END",
          "logit_bias": {"7": -100}, "unknown_key": 1})",
      "t.json");
  EXPECT_EQ(*c.max_new_tokens, 7);
  EXPECT_TRUE(*c.do_sample);
  EXPECT_EQ(*c.eos_token_id, (std::vector<int32_t>{2, 5}));
  EXPECT_EQ(c.bad_words_ids->size(), 2u);
  EXPECT_EQ(*c.stop_strings, (std::vector<std::string>{"END"}));
  EXPECT_EQ(c.logit_bias->at(7), -100);
  auto single = GenerationConfig::from_json_text(R"({"eos_token_id": 2})", "t.json");
  EXPECT_EQ(*single.eos_token_id, (std::vector<int32_t>{2}));
}

TEST(GenerationConfig, BadJsonIsFormatError) {
  EXPECT_THROW(GenerationConfig::from_json_text("{", "g.json"), deepfuse::FormatError);
  EXPECT_THROW(GenerationConfig::from_json_text(R"({"top_k": "x"})", "g.json"),
               deepfuse::FormatError);
  EXPECT_THROW(GenerationConfig::from_json_text(R"({"logit_bias": {"abc": 1}})", "g.json"),
               deepfuse::FormatError);
  EXPECT_THROW(GenerationConfig::from_json_text("[1]", "g.json"), deepfuse::FormatError);
}

TEST(GenerationConfig, CallerOverridesModelDefaults) {
  auto model =
      GenerationConfig::from_model_dir(deepfuse::test::source_path("assets/models/stories260K"));
  EXPECT_EQ(*model.max_length, 512);
  EXPECT_EQ(*model.eos_token_id, (std::vector<int32_t>{2}));
  GenerationConfig user;
  user.max_new_tokens = 9;
  user.eos_token_id = std::vector<int32_t>{2, 7};
  model.merge(user);
  EXPECT_EQ(*model.max_new_tokens, 9);
  EXPECT_EQ(model.eos_token_id->size(), 2u);
  // transformers: max_new_tokens wins over max_length.
  EXPECT_EQ(eng::resolve_config(model, 5, 512, 0).max_new_tokens, 9);
  // A caller max_length drops a model max_new_tokens.
  GenerationConfig m2;
  m2.max_new_tokens = 100;
  GenerationConfig u2;
  u2.max_length = 15;
  m2.merge(u2);
  EXPECT_FALSE(m2.max_new_tokens.has_value());
  EXPECT_EQ(eng::resolve_config(m2, 5, 512, 0).max_new_tokens, 10);
  // Neither: transformers' default max_length 20.
  EXPECT_EQ(eng::resolve_config(GenerationConfig{}, 5, 512, 0).max_new_tokens, 15);
}

TEST(GenerationConfig, ValidationNamesTheField) {
  GenerationConfig c;
  c.temperature = -0.1;
  EXPECT_NE(validate_message(c).find("temperature"), std::string::npos);
  c = {};
  c.top_p = 0;
  EXPECT_NE(validate_message(c).find("top_p"), std::string::npos);
  c.top_p = 1.5;
  EXPECT_NE(validate_message(c).find("top_p"), std::string::npos);
  c = {};
  c.max_new_tokens = -1;
  EXPECT_NE(validate_message(c).find("max_new_tokens"), std::string::npos);
  c = {};
  c.bad_words_ids = std::vector<std::vector<int32_t>>{{1, 2}, {100}};
  EXPECT_NE(validate_message(c).find("bad_words_ids"), std::string::npos);
  c.bad_words_ids = std::vector<std::vector<int32_t>>{{-3}};
  EXPECT_NE(validate_message(c).find("bad_words_ids"), std::string::npos);
  c = {};
  c.suppress_tokens = std::vector<int32_t>{1000};
  EXPECT_NE(validate_message(c).find("suppress_tokens"), std::string::npos);
  c = {};
  c.top_k = -1;
  EXPECT_NE(validate_message(c).find("top_k"), std::string::npos);
  c = {};
  c.presence_penalty = 3;
  EXPECT_NE(validate_message(c).find("presence_penalty"), std::string::npos);
  c = {};
  c.logit_bias = std::map<int32_t, double>{{500, 1.0}};
  EXPECT_NE(validate_message(c).find("logit_bias"), std::string::npos);
  c = {};
  c.stop_strings = std::vector<std::string>{""};
  EXPECT_NE(validate_message(c).find("stop_strings"), std::string::npos);
  c = {};
  c.temperature = 0.7;
  c.top_p = 1.0;
  EXPECT_EQ(validate_message(c), "");
}

TEST(GenerationConfig, GreedyEquivalents) {
  GenerationConfig c;
  c.do_sample = true;
  EXPECT_TRUE(eng::resolve_config(c, 1, 10, 0).sample);
  EXPECT_EQ(eng::resolve_config(c, 1, 10, 0).top_k, 50);  // transformers' default
  c.temperature = 0.0;
  EXPECT_FALSE(eng::resolve_config(c, 1, 10, 0).sample);
  c.temperature = 0.8;
  c.top_k = 1;
  EXPECT_FALSE(eng::resolve_config(c, 1, 10, 0).sample);
}

TEST(GenerationConfig, JsonRoundTrip) {
  GenerationConfig c;
  c.top_p = 0.5;
  c.eos_token_id = std::vector<int32_t>{1, 2};
  c.logit_bias = std::map<int32_t, double>{{3, 2.5}};
  auto back = GenerationConfig::from_json_text(c.to_json(), "rt");
  EXPECT_EQ(*back.top_p, 0.5);
  EXPECT_EQ(*back.eos_token_id, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(back.logit_bias->at(3), 2.5);
}

TEST(GenerationConfig, EveryInvalidValueIsInvalidArgumentNamingTheField) {
  // One bad value at a time; the message must name the field it came from.
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<std::pair<std::string, std::function<void(GenerationConfig&)>>> cases = {
      {"temperature", [](GenerationConfig& c) { c.temperature = -0.5; }},
      {"temperature", [&](GenerationConfig& c) { c.temperature = nan; }},
      {"top_p", [](GenerationConfig& c) { c.top_p = -0.1; }},
      {"top_p", [](GenerationConfig& c) { c.top_p = 1.0000001; }},
      {"top_k", [](GenerationConfig& c) { c.top_k = -5; }},
      {"min_p", [](GenerationConfig& c) { c.min_p = 1.5; }},
      {"min_p", [](GenerationConfig& c) { c.min_p = -0.1; }},
      {"typical_p", [](GenerationConfig& c) { c.typical_p = 0.0; }},
      {"typical_p", [](GenerationConfig& c) { c.typical_p = 2.0; }},
      {"repetition_penalty", [](GenerationConfig& c) { c.repetition_penalty = 0.0; }},
      {"max_new_tokens", [](GenerationConfig& c) { c.max_new_tokens = -1; }},
      {"max_length", [](GenerationConfig& c) { c.max_length = -3; }},
      {"min_new_tokens", [](GenerationConfig& c) { c.min_new_tokens = -1; }},
      {"min_length", [](GenerationConfig& c) { c.min_length = -1; }},
      {"no_repeat_ngram_size", [](GenerationConfig& c) { c.no_repeat_ngram_size = -2; }},
      {"presence_penalty", [](GenerationConfig& c) { c.presence_penalty = -2.5; }},
      {"frequency_penalty", [](GenerationConfig& c) { c.frequency_penalty = 2.5; }},
      {"top_logprobs", [](GenerationConfig& c) { c.top_logprobs = 21; }},
      {"bad_words_ids",
       [](GenerationConfig& c) {
         c.bad_words_ids = std::vector<std::vector<int32_t>>{std::vector<int32_t>{5, 100}};
       }},
      {"bad_words_ids",
       [](GenerationConfig& c) {
         c.bad_words_ids = std::vector<std::vector<int32_t>>{std::vector<int32_t>{}};
       }},
      {"suppress_tokens",
       [](GenerationConfig& c) { c.suppress_tokens = std::vector<int32_t>{-1}; }},
      {"eos_token_id",
       [](GenerationConfig& c) {
         c.eos_token_id = std::vector<int32_t>{2, 100};
       }},
      {"forced_eos_token_id", [](GenerationConfig& c) { c.forced_eos_token_id = 100; }},
      {"pad_token_id", [](GenerationConfig& c) { c.pad_token_id = 100; }},
      {"logit_bias",
       [](GenerationConfig& c) {
         c.logit_bias = std::map<int32_t, double>{{3, 101.0}};
       }},
      {"stop_strings",
       [](GenerationConfig& c) {
         c.stop_strings = std::vector<std::string>{"ok", ""};
       }},
  };
  for (const auto& [field, set] : cases) {
    GenerationConfig c;
    set(c);
    const std::string msg = validate_message(c, 100);
    EXPECT_NE(msg.find(field), std::string::npos) << field << ": got '" << msg << "'";
    // The generation loop validates the same way before touching the model.
    EXPECT_THROW(eng::resolve_config(c, 3, 100, 0), InvalidArgument) << field;
  }
}
