// The models deepfuse ships (assets/models/deepfuse-embed-small, deepfuse-finsent-small; issue
// 15) against transformers: token ids exactly, embeddings and classifier logits within the f32
// tolerance. The references were computed by tools/train/train_shipped_models.py (transformers,
// float32, CPU) from the very folders committed here; the fixture records them.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse {
namespace {

const std::string kEmbed = "assets/models/deepfuse-embed-small";
const std::string kClassifier = "assets/models/deepfuse-finsent-small";

nlohmann::json reference() {
  return nlohmann::json::parse(
      test::read_text(test::fixture("models_shipped/reference_outputs.json")));
}

double max_abs_diff(const std::vector<float>& a, const nlohmann::json& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a[i]) - b[i].get<double>()));
  return m;
}

TEST(ShippedModels, TokenIdsEqualTransformers) {
  const auto ref = reference();
  auto tok = AutoTokenizer::from_pretrained(test::source_path(kEmbed));
  auto tok_clf = AutoTokenizer::from_pretrained(test::source_path(kClassifier));
  ASSERT_EQ(ref["texts"].size(), ref["ids"].size());
  ASSERT_GE(ref["texts"].size(), 6u);  // English, Chinese and mixed texts
  for (size_t i = 0; i < ref["texts"].size(); ++i) {
    const std::string text = ref["texts"][i];
    const auto want = ref["ids"][i].get<std::vector<int32_t>>();
    EXPECT_EQ(tok->encode(text), want) << text;
    EXPECT_EQ(tok_clf->encode(text), want) << text;
  }
}

// dtype float32: weights upcast once at load (exact), so deepfuse must give transformers' f32
// result up to f32 summation order. dtype auto keeps the checkpoint's bf16 weights and the bf16
// kernels round activations to bf16 (relative step 2^-8 = 0.4%): the bounds are that step times
// the values' size (embedding entries <= ~0.3, logits <= ~5), not scores of this implementation.
struct DtypeCase {
  std::string dtype;
  double embed_tol, logit_tol;
};
class ShippedModelsDtype : public ::testing::TestWithParam<DtypeCase> {};

TEST_P(ShippedModelsDtype, EmbeddingsMatchTransformers) {
  const auto ref = reference();
  auto enc = AutoModel::from_pretrained(test::source_path(kEmbed), {.dtype = GetParam().dtype});
  EXPECT_EQ(enc.info().hidden_size, 256);
  EXPECT_EQ(enc.info().pooling, Pooling::Mean);
  EXPECT_TRUE(enc.info().normalize);
  for (size_t i = 0; i < ref["ids"].size(); ++i) {
    const std::vector<float> e = enc.embed(ref["ids"][i].get<std::vector<int32_t>>());
    EXPECT_LT(max_abs_diff(e, ref["embeddings"][i]), GetParam().embed_tol) << ref["texts"][i];
  }
}

TEST_P(ShippedModelsDtype, ClassifierLogitsMatchTransformers) {
  const auto ref = reference();
  auto clf = AutoModelForSequenceClassification::from_pretrained(test::source_path(kClassifier),
                                                                 {.dtype = GetParam().dtype});
  ASSERT_EQ(clf.info().id2label.size(), 3u);
  EXPECT_EQ(clf.info().id2label.at(0), "negative");
  EXPECT_EQ(clf.info().id2label.at(1), "neutral");
  EXPECT_EQ(clf.info().id2label.at(2), "positive");
  for (size_t i = 0; i < ref["ids"].size(); ++i) {
    const Classification c = clf.classify(ref["ids"][i].get<std::vector<int32_t>>());
    EXPECT_LT(max_abs_diff(c.logits, ref["logits"][i]), GetParam().logit_tol) << ref["texts"][i];
  }
}

// f32: unit vectors of 256 values (|x| ~ 0.06) and logits of size ~5; 1e-4 / 1e-3 are far above
// f32 rounding and far below the differences between texts.
INSTANTIATE_TEST_SUITE_P(Dtypes, ShippedModelsDtype,
                         ::testing::Values(DtypeCase{"float32", 1e-4, 1e-3},
                                           DtypeCase{"auto", 1.2e-3, 2e-2}),
                         [](const auto& info) { return info.param.dtype; });

// `embed` and `classify` without --model run the shipped models.
TEST(ShippedModels, CliDefaultsAreTheShippedModels) {
  const auto ref = reference();
  std::string in;
  for (const auto& t : ref["texts"]) in += t.get<std::string>() + "\n";
  auto r = test::run_cli({"embed", "--dtype", "float32"}, in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t i = 0, pos = 0;
  for (; pos < r.out.size(); ++i) {
    const size_t nl = r.out.find('\n', pos);
    const auto j = nlohmann::json::parse(r.out.substr(pos, nl - pos));
    ASSERT_LT(i, ref["embeddings"].size());
    EXPECT_LT(max_abs_diff(j["embedding"].get<std::vector<float>>(), ref["embeddings"][i]), 1e-4);
    pos = nl + 1;
  }
  EXPECT_EQ(i, ref["texts"].size());

  r = test::run_cli({"classify", "--dtype", "float32"}, in);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const char* names[] = {"negative", "neutral", "positive"};
  pos = 0;
  for (i = 0; pos < r.out.size(); ++i) {
    const size_t nl = r.out.find('\n', pos);
    const auto j = nlohmann::json::parse(r.out.substr(pos, nl - pos));
    const auto logits = ref["logits"][i].get<std::vector<double>>();
    const size_t top = std::max_element(logits.begin(), logits.end()) - logits.begin();
    EXPECT_EQ(j["label"], names[top]) << ref["texts"][i];
    pos = nl + 1;
  }
  EXPECT_EQ(i, ref["texts"].size());
}

TEST(ShippedModels, CliBadModelFolderIsExit2) {
  auto r = test::run_cli({"embed", "--model", "/nonexistent/deepfuse-model"}, "hello\n");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent/deepfuse-model"), std::string::npos) << r.err;
  r = test::run_cli({"classify", "--model", "/nonexistent/deepfuse-model"}, "hello\n");
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace deepfuse
