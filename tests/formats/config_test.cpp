// config.json dialects (Hub vs transformers 5), required fields, generation_config.json.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "core/error.h"
#include "formats/hf_config.h"
#include "formats/json_fields.h"
#include "formats/model_folder.h"

namespace deepfuse {
namespace {

HFConfig cfg(const std::string& text) {
  return HFConfig::from_json(nlohmann::json::parse(text), "config.json");
}

const char* kLlamaBase =
    R"("architectures":["LlamaForCausalLM"],"model_type":"llama","vocab_size":100,
  "hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
  "num_key_value_heads":2,"max_position_embeddings":256,"rms_norm_eps":1e-5)";

TEST(HFConfig, HubDialectRopeScalingAndTorchDtype) {
  const HFConfig c = cfg(std::string("{") + kLlamaBase +
                         R"(,"torch_dtype":"bfloat16","rope_theta":500000.0,
      "rope_scaling":{"type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
      "original_max_position_embeddings":8192},"some_unknown_field":[1,2]})");
  EXPECT_EQ(c.dtype, DType::BF16);
  const LlamaConfig l = parse_llama_config(c, {});
  EXPECT_EQ(l.rope.type, "llama3");
  EXPECT_DOUBLE_EQ(l.rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(l.rope.factor, 8.0);
  EXPECT_EQ(l.rope.original_max_position_embeddings, 8192);
  EXPECT_EQ(l.head_dim, 16);
  EXPECT_EQ(l.num_kv_heads, 2);
}

TEST(HFConfig, Transformers5DialectRopeParametersAndDtype) {
  const HFConfig c =
      cfg(std::string("{") + kLlamaBase +
          R"(,"dtype":"float32","rope_parameters":{"rope_type":"yarn","rope_theta":10000.0,
      "factor":4.0,"original_max_position_embeddings":64,"beta_fast":16}})");
  EXPECT_EQ(c.dtype, DType::F32);
  const LlamaConfig l = parse_llama_config(c, {});
  EXPECT_EQ(l.rope.type, "yarn");
  EXPECT_DOUBLE_EQ(l.rope.factor, 4.0);
  EXPECT_DOUBLE_EQ(l.rope.beta_fast, 16.0);
  EXPECT_DOUBLE_EQ(l.rope.beta_slow, 1.0);
}

TEST(HFConfig, DefaultRopeWhenScalingIsNull) {
  const LlamaConfig l =
      parse_llama_config(cfg(std::string("{") + kLlamaBase + R"(,"rope_scaling":null})"), {});
  EXPECT_EQ(l.rope.type, "default");
  EXPECT_DOUBLE_EQ(l.rope.theta, 10000.0);
}

TEST(HFConfig, MissingRequiredFieldNamesIt) {
  try {
    parse_llama_config(cfg(R"({"architectures":["LlamaForCausalLM"],"vocab_size":10})"), {});
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("'hidden_size'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos) << e.what();
  }
  try {
    parse_llama_config(
        cfg(std::string("{") + kLlamaBase + R"(,"rope_scaling":{"rope_type":"linear"}})"), {});
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("factor"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cfg(R"({"hidden_size": 3})"), FormatError);  // neither architectures nor model_type
  EXPECT_THROW(cfg(R"({"architectures": "Llama"})"), FormatError);
}

TEST(HFConfig, WrongTypeNamesFieldAndExpectation) {
  try {
    parse_llama_config(cfg(std::string("{") + kLlamaBase + R"(,"tie_word_embeddings":"yes"})"), {});
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("tie_word_embeddings"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("true or false"), std::string::npos);
  }
}

TEST(HFConfig, VariantsQwenBiasQkNormSlidingWindow) {
  const HFConfig q2 =
      cfg(std::string("{") + kLlamaBase +
          R"(,"use_sliding_window":true,"sliding_window":8,"max_window_layers":1})");
  const LlamaConfig a = parse_llama_config(q2, {.qkv_bias = true, .sliding_window_opt_in = true});
  EXPECT_TRUE(a.attention_bias);
  EXPECT_FALSE(a.o_bias);
  EXPECT_EQ(a.sliding_window, 8);
  EXPECT_EQ(a.sliding_layers, (std::vector<bool>{false, true}));
  const HFConfig m = cfg(std::string("{") + kLlamaBase + R"(,"sliding_window":6})");
  EXPECT_EQ(parse_llama_config(m, {.sliding_window_always = true}).sliding_window, 6);
  EXPECT_EQ(parse_llama_config(m, {}).sliding_window, 0);  // Llama ignores it
  EXPECT_TRUE(parse_llama_config(m, {.qk_norm = true}).qk_norm);
}

TEST(HFConfig, Gpt2AndEncoders) {
  const Gpt2Config g = parse_gpt2_config(cfg(
      R"({"architectures":["GPT2LMHeadModel"],"vocab_size":50,"n_positions":32,"n_embd":16,"n_layer":2,"n_head":4})"));
  EXPECT_EQ(g.n_inner, 64);
  EXPECT_TRUE(g.tie_word_embeddings);
  const EncoderConfig b = parse_bert_config(cfg(
      R"({"architectures":["BertForSequenceClassification"],"model_type":"bert","vocab_size":50,"hidden_size":16,
          "num_hidden_layers":1,"num_attention_heads":2,"intermediate_size":32,"id2label":{"0":"neg","1":"pos"}})"));
  EXPECT_EQ(b.id2label.at(1), "pos");
  EXPECT_FALSE(b.roberta_positions);
  EXPECT_THROW(
      parse_bert_config(cfg(
          R"({"architectures":["BertModel"],"vocab_size":50,"hidden_size":16,"num_hidden_layers":1,
                       "num_attention_heads":2,"intermediate_size":32,"id2label":{"x":"neg"}})")),
      FormatError);
  const EncoderConfig d = parse_distilbert_config(cfg(
      R"({"architectures":["DistilBertModel"],"vocab_size":50,"dim":16,"n_layers":1,"n_heads":2,"hidden_dim":32})"));
  EXPECT_EQ(d.type_vocab_size, 0);
  EXPECT_EQ(d.hidden_size, 16);
}

TEST(GenerationConfigTest, EosListAndScalar) {
  const auto a = generation_defaults_from_json(
      nlohmann::json::parse(R"({"eos_token_id":[2,7],"do_sample":true,"top_p":0.9})"), "g.json");
  EXPECT_EQ(a.eos_token_ids, (std::vector<int64_t>{2, 7}));
  EXPECT_TRUE(a.do_sample);
  EXPECT_DOUBLE_EQ(*a.top_p, 0.9);
  const auto b = generation_defaults_from_json(
      nlohmann::json::parse(R"({"eos_token_id":2,"bos_token_id":1})"), "g.json");
  EXPECT_EQ(b.eos_token_ids, (std::vector<int64_t>{2}));
  EXPECT_EQ(*b.bos_token_id, 1);
}

TEST(HFConfig, LoadsEveryFixtureAndStories) {
  const ModelFolder s = ModelFolder::open(test::source_path("assets/models/stories260K"));
  EXPECT_EQ(s.config().architecture, "LlamaForCausalLM");
  EXPECT_EQ(s.config().dtype, DType::F32);  // Hub dialect: torch_dtype
  EXPECT_EQ(s.generation_config().bos_token_id.value_or(-1), 1);
  const ModelFolder q = ModelFolder::open(test::fixture("models/qwen2_f32"));
  EXPECT_NE(q.weights_path().find("index.json"), std::string::npos);  // sharded fixture
  EXPECT_GT(q.open_weights().files().size(), 1u);
  EXPECT_THROW(JsonFields::load_file(test::fixture("models/nope.json")), NotFound);
}

}  // namespace
}  // namespace deepfuse
