// Acceptance of the serving engine on every causal-LM family fixture (tests/fixtures/models,
// made from Hugging Face transformers) and the DeepSeek fixtures (MLA latent cache, MoE):
// greedy outputs of concurrent requests equal each request run alone through the model's own
// generate(), with and without prefix-cache hits, and with preemption forced by a tiny pool.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "common/test_util.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/engine.h"

namespace deepfuse {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> causal_fixtures() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(test::fixture("models"))) {
    const std::string ref = e.path().string() + "/reference.json";
    if (!fs::exists(ref)) continue;
    if (nlohmann::json::parse(test::read_text(ref))["kind"] == "causal_lm")
      out.push_back(e.path().string());
  }
  for (const char* d : {"deepseek/v2_tiny", "deepseek/v3_fp8_tiny"})
    out.push_back(test::fixture(d));
  std::sort(out.begin(), out.end());
  return out;
}

class EngineFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineFixture, ConcurrentGreedyEqualsAlone) {
  const std::string dir = GetParam();
  auto lm = AutoModelForCausalLM::from_pretrained(dir);
  const int64_t vocab = lm.info().vocab_size;
  const auto config = nlohmann::json::parse(test::read_text(dir + "/config.json"));
  // Mistral slides a window over every layer: the engine may free blocks behind it.
  int32_t window = 0;
  if (lm.info().architecture == "MistralForCausalLM" && config["sliding_window"].is_number())
    window = config["sliding_window"].get<int32_t>();

  std::mt19937 rng(42);
  auto rand_ids = [&](int64_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& t : v) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
    return v;
  };
  const std::vector<int32_t> shared = rand_ids(20);
  std::vector<std::vector<int32_t>> prompts;
  const int kNew = 10;
  for (int i = 0; i < 6; ++i) {
    std::vector<int32_t> p = i % 2 ? shared : std::vector<int32_t>{};
    auto tail = rand_ids(3 + static_cast<int64_t>(rng() % 14));
    p.insert(p.end(), tail.begin(), tail.end());
    prompts.push_back(std::move(p));
  }
  std::vector<std::vector<int32_t>> alone;
  for (const auto& p : prompts) alone.push_back(lm.generate(p, kNew, /*stop_at_eos=*/false));

  struct Case {
    const char* name;
    int32_t blocks;
    bool prefix;
  };
  for (const Case& k : {Case{"large pool, prefix cache", 256, true}, Case{"tiny pool", 14, true},
                        Case{"no prefix cache", 256, false}}) {
    SCOPED_TRACE(k.name);
    EngineOptions o;
    o.kv_block_size = 4;
    o.kv_blocks = k.blocks;
    o.max_batch_tokens = 24;  // several prefill chunks per prompt
    o.max_running = 8;
    o.prefix_caching = k.prefix;
    // The tiny pool keeps every block so that it must preempt on every family.
    o.sliding_window = k.blocks == 14 ? 0 : window;
    o.check_invariants = true;
    Engine engine(lm.model(), nullptr, o);
    GenerationConfig cfg;
    cfg.max_new_tokens = kNew;
    cfg.do_sample = false;
    cfg.eos_token_id = std::vector<int32_t>{};  // run to the length, as generate(.., false)
    // Warm the prefix cache with the shared prefix, then everything at once.
    {
      auto q = std::make_shared<ResultQueue>();
      engine.submit({prompts[1], cfg, {}, {}, 0, q});
      EXPECT_EQ(q->wait_result().result.ids, alone[1]);
    }
    std::vector<std::shared_ptr<ResultQueue>> qs;
    for (const auto& p : prompts) {
      qs.push_back(std::make_shared<ResultQueue>());
      engine.submit({p, cfg, {}, {}, 0, qs.back()});
    }
    for (size_t i = 0; i < prompts.size(); ++i) {
      const EngineResult r = qs[i]->wait_result();
      EXPECT_EQ(r.error, "");
      EXPECT_EQ(r.result.ids, alone[i]) << "request " << i;
    }
    ASSERT_TRUE(engine.wait_idle(30));
    const EngineStats s = engine.stats();
    EXPECT_EQ(s.kv_blocks_used, 0);
    if (k.prefix) EXPECT_GT(s.prefix_hit_blocks, 0);
    if (k.blocks == 14) EXPECT_GT(s.preemptions, 0);
    // Per-expert activations (for /metrics): every MoE layer routed the same tokens, each to
    // num_experts_per_tok experts; dense models report none.
    if (config.contains("n_routed_experts")) {
      const int64_t per_tok = config["num_experts_per_tok"].get<int64_t>();
      const int64_t moe_layers = config["num_hidden_layers"].get<int64_t>() -
                                 config.value("first_k_dense_replace", int64_t{0});
      int64_t rows = 0, first_sum = -1;
      for (const auto& row : s.expert_activations) {
        if (row.empty()) continue;
        ++rows;
        EXPECT_EQ(static_cast<int64_t>(row.size()), config["n_routed_experts"].get<int64_t>());
        int64_t sum = 0;
        for (int64_t c : row) sum += c;
        if (first_sum < 0) first_sum = sum;
        EXPECT_EQ(sum, first_sum);
        EXPECT_EQ(sum % per_tok, 0);
        EXPECT_GE(sum, s.prefill_tokens * per_tok);
      }
      EXPECT_EQ(rows, moe_layers);
    } else {
      EXPECT_TRUE(s.expert_activations.empty());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Families, EngineFixture, ::testing::ValuesIn(causal_fixtures()),
                         [](const auto& info) { return fs::path(info.param).filename().string(); });

}  // namespace
}  // namespace deepfuse
