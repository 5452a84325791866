// Load-time validation (unsupported architecture, missing tensor, wrong shape -> exit 2 naming
// the tensor and expected shape), the registry, and the model CLI subcommands.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/test_util.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "deepfuse/auto_model.h"
#include "formats/safetensors.h"
#include "formats/weight_store.h"
#include "models/registry.h"

namespace deepfuse {
namespace {

namespace fs = std::filesystem;

// Copies a fixture's config.json and rewrites its weights through `edit`.
std::string edited_copy(
    const std::string& fixture, const std::string& tag,
    const std::function<void(std::vector<std::pair<std::string, Tensor>>&)>& edit,
    const std::string& config_override = "") {
  const std::string src = test::fixture("models/" + fixture);
  const std::string dst = test::temp_dir(tag);
  fs::copy_file(src + "/config.json", dst + "/config.json");
  if (!config_override.empty()) test::write_text(dst + "/config.json", config_override);
  const WeightStore w = WeightStore::open_file(src + "/model.safetensors");
  std::vector<std::pair<std::string, Tensor>> ts;
  for (const auto& n : w.names()) ts.push_back({n, w.get(n)});
  edit(ts);
  write_safetensors(dst + "/model.safetensors", ts);
  return dst;
}

TEST(Registry, ListsFamiliesAndRejectsUnknown) {
  const auto archs = ModelRegistry::instance().architectures();
  for (const char* a : {"LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
                        "MistralForCausalLM", "GPT2LMHeadModel", "BertModel", "DistilBertModel",
                        "XLMRobertaModel", "BertForSequenceClassification"})
    EXPECT_NE(std::find(archs.begin(), archs.end(), a), archs.end()) << a;
  try {
    ModelRegistry::instance().get("FalconForCausalLM");
    FAIL();
  } catch (const Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("FalconForCausalLM"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("LlamaForCausalLM"), std::string::npos);
  }
}

TEST(LoadErrors, MissingTensorNamesItAndShape) {
  const std::string dir = edited_copy("llama_f32", "miss", [](auto& ts) {
    ts.erase(std::remove_if(
                 ts.begin(), ts.end(),
                 [](const auto& p) { return p.first == "model.layers.1.mlp.up_proj.weight"; }),
             ts.end());
  });
  try {
    load_causal_lm(dir);
    FAIL();
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("model.layers.1.mlp.up_proj.weight"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("[128, 64]"), std::string::npos) << e.what();
  }
  const auto r = test::run_cli({"logits", "--model", dir, "--ids", "1,2", "--out", dir + "/x.npy"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.layers.1.mlp.up_proj.weight"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[128, 64]"), std::string::npos) << r.err;
}

TEST(LoadErrors, WrongShapeNamesTensorAndExpectedShape) {
  const std::string dir = edited_copy("llama_f32", "shape", [](auto& ts) {
    for (auto& [n, t] : ts)
      if (n == "model.norm.weight") t = Tensor::zeros(DType::F32, {63});
  });
  const auto r = test::run_cli({"logits", "--model", dir, "--ids", "1", "--out", dir + "/x.npy"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("model.norm.weight"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[63]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("expected [64]"), std::string::npos) << r.err;
  // inspect reports it instead of failing.
  const auto i = test::run_cli({"inspect", "--model", dir, "--json"});
  ASSERT_EQ(i.exit_code, 0) << i.err;
  EXPECT_EQ(nlohmann::json::parse(i.out)["wrong_shape"].size(), 1u);
}

TEST(LoadErrors, UnsupportedArchitectureExitsTwo) {
  const std::string dir = edited_copy(
      "llama_f32", "arch", [](auto&) {},
      R"({"architectures":["FalconForCausalLM"],"model_type":"falcon"})");
  const auto r = test::run_cli({"logits", "--model", dir, "--ids", "1", "--out", dir + "/x.npy"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("FalconForCausalLM"), std::string::npos) << r.err;
  EXPECT_THROW(load_causal_lm(dir), Unsupported);
  // An encoder is not a causal LM.
  EXPECT_THROW(load_causal_lm(test::fixture("models/enc_bert")), Unsupported);
}

TEST(Inspect, Stories260KReportsParameterCount) {
  const auto r = test::run_cli(
      {"inspect", "--model", test::source_path("assets/models/stories260K"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["parameters"], 260032);
  EXPECT_EQ(j["architecture"], "LlamaForCausalLM");
  EXPECT_TRUE(j["missing"].empty());
  EXPECT_TRUE(j["unexpected"].empty());
  EXPECT_EQ(j["dtypes"]["float32"]["bytes"], 260032 * 4);
  // 5 layers x (K + V) x 4 kv heads x 8 head_dim x 4 bytes
  EXPECT_EQ(j["kv_bytes_per_token"], 5 * 2 * 4 * 8 * 4);
  const auto t =
      test::run_cli({"inspect", "--model", test::source_path("assets/models/stories260K")});
  ASSERT_EQ(t.exit_code, 0);
  EXPECT_NE(t.out.find("260,032"), std::string::npos) << t.out;
}

TEST(Inspect, ShardedAndTiedFixtures) {
  const auto r = test::run_cli({"inspect", "--model", test::fixture("models/qwen2_f32"), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["missing"].empty()) << j.dump();
  EXPECT_TRUE(j["unexpected"].empty()) << j.dump();
  EXPECT_EQ(j["tied"], nlohmann::json::array({"lm_head.weight"}));
}

std::vector<float> read_npy_f32(const std::string& path, std::vector<int64_t>* shape) {
  const std::string b = read_file(path);
  EXPECT_EQ(b.substr(0, 6), "\x93NUMPY");
  const size_t hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
  const std::string h = b.substr(10, hlen);
  EXPECT_NE(h.find("'<f4'"), std::string::npos) << h;
  EXPECT_EQ((10 + hlen) % 64, 0u);
  const size_t l = h.find('('), r = h.find(')');
  std::string dims = h.substr(l + 1, r - l - 1);
  shape->clear();
  for (size_t p = 0; p < dims.size();) {
    size_t q = dims.find(',', p);
    if (q == std::string::npos) q = dims.size();
    shape->push_back(std::stoll(dims.substr(p, q - p)));
    p = q + 1;
    while (p < dims.size() && dims[p] == ' ') ++p;
  }
  std::vector<float> v((b.size() - 10 - hlen) / 4);
  std::memcpy(v.data(), b.data() + 10 + hlen, v.size() * 4);
  return v;
}

TEST(LogitsCli, MatchesHfReferenceAndValidatesIds) {
  const std::string dir = test::fixture("models/gpt2_f32");
  const auto ref = SafetensorsFile::open(dir + "/reference.safetensors");
  const Tensor ids = ref->tensor("prompt_ids");
  std::string list;
  for (int64_t i = 0; i < ids.numel(); ++i)
    list += (i ? "," : "") + std::to_string(ids.data<int64_t>()[i]);
  const std::string out = test::temp_dir("npy") + "/l.npy";
  const auto r =
      test::run_cli({"logits", "--model", dir, "--ids", list, "--out", out, "--profile"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("linear"), std::string::npos) << "profile table lists ops: " << r.out;
  std::vector<int64_t> shape;
  const auto got = read_npy_f32(out, &shape);
  const auto want = ref->tensor("logits").to_f32_vector();
  ASSERT_EQ(shape, (std::vector<int64_t>{ids.numel(), 384}));
  ASSERT_EQ(got.size(), want.size());
  double max_err = 0;
  for (size_t i = 0; i < got.size(); ++i)
    max_err = std::max(max_err, std::fabs(double(got[i]) - want[i]));
  EXPECT_LE(max_err, 1e-4);

  for (const char* bad : {"1,x", "", "1,,2", "-1", "99999"}) {
    const auto e = test::run_cli({"logits", "--model", dir, "--ids", bad, "--out", out});
    EXPECT_EQ(e.exit_code, 2) << bad << ": " << e.err;
  }
  const auto nf = test::run_cli({"logits", "--model", dir + "/nope", "--ids", "1", "--out", out});
  EXPECT_EQ(nf.exit_code, 2);
}

TEST(EmbedClassifyCli, MatchReferencesThroughTheTokenizer) {
  const std::string enc = test::fixture("models/enc_bert");
  const auto eref = SafetensorsFile::open(enc + "/reference.safetensors");
  const auto emeta = nlohmann::json::parse(read_file(enc + "/reference.json"));
  std::string input;
  for (const auto& t : emeta["texts"]) input += t.get<std::string>() + "\n";
  const auto r = test::run_cli({"embed", "--model", enc}, input);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  size_t k = 0;
  for (; std::getline(lines, line); ++k) {
    const auto got = nlohmann::json::parse(line)["embedding"].get<std::vector<float>>();
    const auto want = eref->tensor("embedding_" + std::to_string(k)).to_f32_vector();
    ASSERT_EQ(got.size(), want.size());
    double dot = 0;
    for (size_t i = 0; i < got.size(); ++i) dot += double(got[i]) * want[i];
    EXPECT_GE(dot, 0.99999) << "text " << k;  // both L2-normalised
  }
  EXPECT_EQ(k, emeta["texts"].size());

  const std::string cls = test::fixture("models/cls_distilbert");
  const auto cmeta = nlohmann::json::parse(read_file(cls + "/reference.json"));
  const auto c = test::run_cli({"classify", "--model", cls}, input);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  std::istringstream cl(c.out);
  for (k = 0; std::getline(cl, line); ++k) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["label"], cmeta["labels"][k]) << "text " << k;
    EXPECT_NEAR(j["score"].get<double>(), cmeta["scores"][k].get<double>(), 1e-4);
  }
  EXPECT_EQ(k, cmeta["texts"].size());
  // A causal LM folder is not a classifier.
  EXPECT_EQ(
      test::run_cli({"classify", "--model", test::fixture("models/llama_f32")}, "x\n").exit_code,
      2);
}

}  // namespace
}  // namespace deepfuse
