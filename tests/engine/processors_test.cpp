// Each built-in processor against transformers' processed scores on the same fixed logits
// (tests/fixtures/generation/processors.json, tools/make_generation_fixtures.py).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

#include "common/test_util.h"
#include "engine/logits_processors.h"

using nlohmann::json;
namespace eng = deepfuse::engine;

namespace {

float to_f(const json& v) {
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "-inf") return -std::numeric_limits<float>::infinity();
    if (s == "inf") return std::numeric_limits<float>::infinity();
    return std::numeric_limits<float>::quiet_NaN();
  }
  return v.get<float>();
}

std::vector<std::vector<float>> rows(const json& j) {
  std::vector<std::vector<float>> out;
  for (const auto& r : j) {
    std::vector<float> row;
    for (const auto& v : r) row.push_back(to_f(v));
    out.push_back(row);
  }
  return out;
}

std::vector<int32_t> ids_of(const json& j) {
  return j.get<std::vector<int32_t>>();
}

void expect_rows_eq(const std::vector<float>& got, const std::vector<float>& want,
                    const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isinf(want[i])) {
      EXPECT_EQ(got[i], want[i]) << what << " index " << i;
    } else {
      EXPECT_NEAR(got[i], want[i], 1e-5f * std::max(1.0f, std::fabs(want[i])))
          << what << " index " << i;
    }
  }
}

json load() {
  return json::parse(
      deepfuse::test::read_text(deepfuse::test::fixture("generation/processors.json")));
}

}  // namespace

TEST(Processors, MatchTransformersPerProcessor) {
  const json fx = load();
  const auto input = fx["input_ids"];
  const auto scores = rows(fx["scores"]);
  int checked = 0;
  for (const auto& c : fx["cases"]) {
    ASSERT_FALSE(c.contains("error")) << c.dump();
    const std::string name = c["name"];
    const json& p = c["params"];
    const auto want = rows(c["scores"]);
    for (size_t b = 0; b < scores.size(); ++b) {
      std::vector<float> s = scores[b];
      const auto ids = ids_of(input[b]);
      std::span<float> sp(s);
      const int64_t cur = static_cast<int64_t>(ids.size());
      if (name == "repetition_penalty")
        eng::repetition_penalty(ids, p["penalty"].get<float>(), sp);
      else if (name == "no_repeat_ngram")
        eng::no_repeat_ngram(ids, p["n"].get<int64_t>(), sp);
      else if (name == "no_bad_words")
        eng::no_bad_words(ids, p["bad_words_ids"].get<std::vector<std::vector<int32_t>>>(),
                          ids_of(p["eos_token_id"]), sp);
      else if (name == "suppress_tokens")
        eng::suppress_tokens(ids_of(p["suppress_tokens"]), sp);
      else if (name == "min_length")
        eng::mask_eos_below(cur, p["min_length"].get<int64_t>(), ids_of(p["eos_token_id"]), sp);
      else if (name == "min_new_tokens")
        eng::mask_eos_below(cur - p["prompt_length"].get<int64_t>(),
                            p["min_new_tokens"].get<int64_t>(), ids_of(p["eos_token_id"]), sp);
      else if (name == "forced_eos")
        eng::forced_eos(cur, p["max_length"].get<int64_t>(), ids_of(p["eos_token_id"]), sp);
      else if (name == "temperature")
        eng::temperature(p["temperature"].get<float>(), sp);
      else if (name == "top_k")
        eng::top_k(p["top_k"].get<int64_t>(), sp);
      else if (name == "top_p")
        eng::top_p(p["top_p"].get<float>(), sp);
      else if (name == "min_p")
        eng::min_p(p["min_p"].get<float>(), sp);
      else if (name == "typical_p")
        eng::typical_p(p["typical_p"].get<float>(), sp);
      else
        FAIL() << "unknown fixture case " << name;
      expect_rows_eq(s, want[b], name + " " + p.dump() + " row " + std::to_string(b));
    }
    ++checked;
  }
  EXPECT_EQ(checked, 22);
}

TEST(Processors, ChainInTransformersOrder) {
  const json fx = load();
  const json& ch = fx["chain"];
  ASSERT_TRUE(ch.is_object()) << "fixture has no chain";
  const std::vector<std::string> order = fx["processor_order"];
  const std::vector<std::string> expected_order = {"RepetitionPenaltyLogitsProcessor",
                                                   "NoRepeatNGramLogitsProcessor",
                                                   "NoBadWordsLogitsProcessor",
                                                   "MinNewTokensLengthLogitsProcessor",
                                                   "ForcedEOSTokenLogitsProcessor",
                                                   "SuppressTokensLogitsProcessor",
                                                   "TemperatureLogitsWarper",
                                                   "TopKLogitsWarper",
                                                   "TopPLogitsWarper",
                                                   "MinPLogitsWarper",
                                                   "TypicalLogitsWarper"};
  EXPECT_EQ(order, expected_order);
  const json& cfgj = ch["config"];
  deepfuse::GenerationConfig cfg = deepfuse::GenerationConfig::from_json_text(cfgj.dump(), "chain");
  cfg.do_sample = true;
  const int64_t prompt_len = ch["prompt_length"].get<int64_t>();
  const auto in = rows(ch["scores_in"]);
  const auto want = rows(ch["scores_out"]);
  for (size_t b = 0; b < in.size(); ++b) {
    const auto ids = ids_of(fx["input_ids"][b]);
    auto rc = eng::resolve_config(cfg, prompt_len, 512, 0);
    rc.max_length = cfgj["max_length"].get<int64_t>();  // transformers' absolute max_length
    std::vector<float> s = in[b];
    deepfuse::GenerationState st;
    st.ids = ids;
    st.prompt_len = prompt_len;
    eng::process_scores(rc, st, {}, s);
    expect_rows_eq(s, want[b], "chain row " + std::to_string(b));
  }
}
