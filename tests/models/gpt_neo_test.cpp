// GPT-Neo beyond the shared golden test (golden_test.cpp runs tests/fixtures/models/gpt_neo_f32
// like every causal fixture): the fixture really exercises local attention, `deepfuse inspect`
// reports HF's parameter counts, hub-style checkpoints (mask buffers, no "transformer." prefix)
// load, and every malformed attention config is a FormatError naming the field.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "models/causal_lm.h"
#include "common/test_util.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "deepfuse/auto_model.h"
#include "formats/safetensors.h"
#include "formats/weight_store.h"

namespace deepfuse {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

const std::string kFixture = "models/gpt_neo_f32";

Json fixture_config() {
  return Json::parse(read_file(test::fixture(kFixture + "/config.json")));
}

// A copy of the fixture with config.json replaced by `cfg` and its tensors passed through
// `edit` (renamed, added, dropped).
std::string copy_with(
    const std::string& tag, const Json& cfg,
    const std::function<void(std::vector<std::pair<std::string, Tensor>>&)>& edit = nullptr) {
  const std::string src = test::fixture(kFixture);
  const std::string dst = test::temp_dir("gpt_neo_" + tag);
  test::write_text(dst + "/config.json", cfg.dump());
  if (!edit) {
    fs::copy_file(src + "/model.safetensors", dst + "/model.safetensors");
    return dst;
  }
  const WeightStore w = WeightStore::open_file(src + "/model.safetensors");
  std::vector<std::pair<std::string, Tensor>> ts;
  for (const auto& n : w.names()) ts.push_back({n, w.get(n)});
  edit(ts);
  write_safetensors(dst + "/model.safetensors", ts);
  return dst;
}

struct Reference {
  std::vector<int32_t> prompt;
  std::vector<float> logits;  // [T, V]
  int64_t vocab = 0;
  Json meta;
  Reference() {
    const auto f = SafetensorsFile::open(test::fixture(kFixture + "/reference.safetensors"));
    const Tensor ids = f->tensor("prompt_ids");
    for (int64_t i = 0; i < ids.numel(); ++i)
      prompt.push_back(static_cast<int32_t>(ids.data<int64_t>()[i]));
    logits = f->tensor("logits").to_f32_vector();
    vocab = static_cast<int64_t>(logits.size()) / static_cast<int64_t>(prompt.size());
    meta = Json::parse(read_file(test::fixture(kFixture + "/reference.json")));
  }
  // Max-abs difference of `got` rows [begin, end) from the reference rows.
  double max_err(const Tensor& got, int64_t begin, int64_t end) const {
    double m = 0;
    for (int64_t r = begin; r < end; ++r)
      for (int64_t j = 0; j < vocab; ++j)
        m = std::max(m, std::fabs(static_cast<double>(got.data<float>()[r * vocab + j]) -
                                  logits[static_cast<size_t>(r * vocab + j)]));
    return m;
  }
};

// Golden tolerance for f32 fixtures (golden_test.cpp).
constexpr double kTol = 1e-4;

TEST(GptNeo, FixtureWindowIsShorterThanThePromptAndLayersAlternate) {
  const Json cfg = fixture_config();
  const Reference ref;
  const int64_t window = cfg["window_size"].get<int64_t>();
  EXPECT_LT(window, static_cast<int64_t>(ref.prompt.size()));
  EXPECT_EQ(cfg["attention_layers"], Json({"global", "local", "global", "local"}));
}

TEST(GptNeo, LocalLayersChangeTheLogitsOnlyPastTheWindow) {
  // Turning every layer global keeps the first window_size positions (a local layer sees all of
  // them) and must move every later one far beyond the golden tolerance: the fixture would
  // catch a model that ignored the window or used an off-by-one window.
  const Reference ref;
  const int64_t window = fixture_config()["window_size"].get<int64_t>();
  const auto T = static_cast<int64_t>(ref.prompt.size());
  for (const int64_t w : {window - 1, window, window + 1, int64_t{1000}}) {
    Json cfg = fixture_config();
    cfg["window_size"] = w;
    auto lm = AutoModelForCausalLM::from_pretrained(copy_with("w" + std::to_string(w), cfg));
    const Tensor out = lm.forward(ref.prompt);
    const int64_t same = std::min(window, w);  // positions whose keys both windows cover
    EXPECT_LE(ref.max_err(out, 0, same), kTol) << "window " << w;
    if (w == window) {
      EXPECT_LE(ref.max_err(out, same, T), kTol);
    } else {
      for (int64_t p = same; p < T; ++p)
        EXPECT_GT(ref.max_err(out, p, p + 1), 100 * kTol) << "window " << w << " position " << p;
    }
  }
  Json all_global = fixture_config();
  all_global["attention_types"] = Json::parse(R"([[["global"], 4]])");
  all_global["attention_layers"] = Json({"global", "global", "global", "global"});
  auto lm = AutoModelForCausalLM::from_pretrained(copy_with("global", all_global));
  const Tensor out = lm.forward(ref.prompt);
  EXPECT_LE(ref.max_err(out, 0, window), kTol);
  EXPECT_GT(ref.max_err(out, window, T), 100 * kTol);
}

TEST(GptNeo, InspectMatchesHfParameterCountsAndNotes) {
  const Reference ref;
  const auto r = test::run_cli({"inspect", "--model", test::fixture(kFixture), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_EQ(j["architecture"], "GPTNeoForCausalLM");
  EXPECT_EQ(j["parameters"], ref.meta["num_parameters"]);  // HF model.num_parameters()
  EXPECT_TRUE(j["missing"].empty()) << j.dump();
  EXPECT_TRUE(j["unexpected"].empty()) << j.dump();
  EXPECT_EQ(j["tied"], Json({"lm_head.weight"}));
  EXPECT_EQ(j["kv_bytes_per_token"], 4 * 2 * 64 * 4);  // layers x (K + V) x hidden x f32
  ASSERT_EQ(j["notes"].size(), 1u);
  const std::string note = j["notes"][0];
  EXPECT_NE(note.find("2 global + 2 local"), std::string::npos) << note;
  EXPECT_NE(note.find("last 6 tokens"), std::string::npos) << note;
  EXPECT_NE(note.find("scale 1.0"), std::string::npos) << note;
  EXPECT_EQ(AutoModelForCausalLM::from_pretrained(test::fixture(kFixture)).info().num_parameters,
            ref.meta["num_parameters"].get<int64_t>());

  // gpt-neo-2.7B's shape, config only (written by transformers 5.17 save_pretrained).
  // 2,651,307,520 is transformers' GPTNeoForCausalLM(config).num_parameters() for it, built on
  // the meta device on the GPU machine.
  const auto b =
      test::run_cli({"inspect", "--model", test::fixture("models/gpt_neo_27b_config"), "--json"});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  const Json k = Json::parse(b.out);
  EXPECT_EQ(k["parameters"], 2651307520LL);
  EXPECT_EQ(k["kv_bytes_per_token"], 32 * 2 * 2560 * 4);
  EXPECT_NE(k["notes"][0].get<std::string>().find("16 global + 16 local"), std::string::npos);
  EXPECT_NE(k["notes"][0].get<std::string>().find("last 256 tokens"), std::string::npos);
}

TEST(GptNeo, HubCheckpointWithMaskBuffersLoadsAndCountsThemOut) {
  // Checkpoints saved while transformers kept the causal masks persistent carry
  // h.N.attn.attention.bias (bool [1, 1, P, P]) and masked_bias (a scalar).
  const Reference ref;
  const Json cfg = fixture_config();
  const int64_t P = cfg["max_position_embeddings"].get<int64_t>();
  auto add_buffers = [&](Shape bias_shape) {
    return [=](std::vector<std::pair<std::string, Tensor>>& ts) {
      for (int l = 0; l < 4; ++l) {
        const std::string a = "transformer.h." + std::to_string(l) + ".attn.attention.";
        ts.push_back({a + "bias", Tensor::zeros(DType::Bool, bias_shape)});
        Tensor m = Tensor::empty(DType::F32, Shape(std::vector<int64_t>{}));
        m.data<float>()[0] = -1e9f;
        ts.push_back({a + "masked_bias", m});
      }
    };
  };
  const std::string dir = copy_with("buffers", cfg, add_buffers(Shape{1, 1, P, P}));
  auto lm = AutoModelForCausalLM::from_pretrained(dir);
  EXPECT_LE(ref.max_err(lm.forward(ref.prompt), 0, static_cast<int64_t>(ref.prompt.size())), kTol);
  EXPECT_EQ(lm.info().num_parameters, ref.meta["num_parameters"].get<int64_t>());
  const auto r = test::run_cli({"inspect", "--model", dir, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json j = Json::parse(r.out);
  EXPECT_TRUE(j["unexpected"].empty()) << j.dump();
  ASSERT_EQ(j["notes"].size(), 2u) << j.dump();
  EXPECT_NE(j["notes"][1].get<std::string>().find("8 causal-mask buffers"), std::string::npos);

  // A buffer of the wrong shape is reported, not silently accepted.
  const std::string bad = copy_with("badbuf", cfg, add_buffers(Shape{1, 1, 4, 4}));
  try {
    load_causal_lm(bad);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("attn.attention.bias"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[1, 1, 128, 128]"), std::string::npos) << e.what();
  }
}

TEST(GptNeo, BaseModelNamesWithoutPrefixLoad) {
  const Reference ref;
  const std::string dir = copy_with("noprefix", fixture_config(), [](auto& ts) {
    for (auto& [n, t] : ts)
      if (n.rfind("transformer.", 0) == 0) n = n.substr(12);
  });
  auto lm = AutoModelForCausalLM::from_pretrained(dir);
  EXPECT_LE(ref.max_err(lm.forward(ref.prompt), 0, static_cast<int64_t>(ref.prompt.size())), kTol);
}

TEST(GptNeo, AttentionLayersAloneAndIntermediateDefault) {
  const Reference ref;
  Json only_layers = fixture_config();
  only_layers.erase("attention_types");
  auto lm = AutoModelForCausalLM::from_pretrained(copy_with("layers", only_layers));
  EXPECT_LE(ref.max_err(lm.forward(ref.prompt), 0, static_cast<int64_t>(ref.prompt.size())), kTol);
  // intermediate_size null means 4 * hidden_size (the fixture's c_fc is [96, 64]).
  Json null_inner = fixture_config();
  null_inner["intermediate_size"] = nullptr;
  try {
    load_causal_lm(copy_with("inner", null_inner));
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("mlp.c_fc.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[256, 64]"), std::string::npos) << e.what();
  }
}

TEST(GptNeo, MalformedAttentionConfigIsAFormatErrorNamingTheField) {
  struct Case {
    const char* what;
    std::function<void(Json&)> edit;
    const char* names;  // text the message must contain
  };
  const std::vector<Case> cases = {
      {"unknown type",
       [](Json& c) {
         c["attention_types"] = Json::parse(R"([[["global", "sparse"], 2]])");
         c.erase("attention_layers");
       },
       "'sparse'"},
      {"too few layers",
       [](Json& c) {
         c["attention_types"] = Json::parse(R"([[["global", "local"], 1]])");
         c.erase("attention_layers");
       },
       "num_layers 4"},
      {"huge repeat count",
       [](Json& c) {
         c["attention_types"] = Json::parse(R"([[["global", "local"], 1000000000000]])");
         c.erase("attention_layers");
       },
       "num_layers 4"},
      {"not a list", [](Json& c) { c["attention_types"] = "global"; }, "attention_types"},
      {"bad entry", [](Json& c) { c["attention_types"] = Json::parse(R"([["global", 4]])"); },
       "attention_types"},
      {"disagreeing lists",
       [](Json& c) {
         c["attention_layers"] = Json({"local", "global", "local", "global"});
       },
       "disagrees"},
      {"missing",
       [](Json& c) {
         c.erase("attention_types");
         c.erase("attention_layers");
       },
       "'attention_types' is missing"},
      {"window zero", [](Json& c) { c["window_size"] = 0; }, "window_size"},
      {"window negative", [](Json& c) { c["window_size"] = -3; }, "window_size"},
      {"heads do not divide hidden", [](Json& c) { c["num_heads"] = 5; }, "num_heads"},
      {"missing hidden size", [](Json& c) { c.erase("hidden_size"); }, "hidden_size"},
  };
  for (const Case& k : cases) {
    Json cfg = fixture_config();
    k.edit(cfg);
    const std::string dir = copy_with("bad", cfg);
    try {
      load_causal_lm(dir);
      ADD_FAILURE() << k.what << ": loaded";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find(k.names), std::string::npos)
          << k.what << ": " << e.what();
    }
    const auto r = test::run_cli({"logits", "--model", dir, "--ids", "1", "--out", dir + "/x"});
    EXPECT_EQ(r.exit_code, 2) << k.what;
    EXPECT_NE(r.err.find(k.names), std::string::npos) << k.what << ": " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << k.what << ": " << r.err;
  }
}

TEST(GptNeo, PositionPastMaxPositionEmbeddingsIsRefused) {
  auto lm = AutoModelForCausalLM::from_pretrained(test::fixture(kFixture));
  auto cache = lm.make_cache(200);
  std::vector<int32_t> table;
  cache->reserve(table, 129);
  EXPECT_THROW(lm.model().forward(ForwardBatch::single({5}, 128, table, false), *cache),
               InvalidArgument);
}

}  // namespace
}  // namespace deepfuse
