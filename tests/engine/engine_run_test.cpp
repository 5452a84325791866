// Engine::run, the blocking path `generate`, `chat` and Generator take, on the real
// stories260K model: the streamed text adds up to the result and keeps the space after the
// prompt, a second turn that re-sends the first (a chat history) reuses its KV blocks and gives
// the tokens a fresh engine gives, and a bad request cancels what was already submitted.
#include <gtest/gtest.h>

#include "common/test_util.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/engine.h"
#include "deepfuse/generation.h"
#include "deepfuse/tokenizer.h"
#include "models/causal_lm.h"

namespace df = deepfuse;

namespace {

struct Stories {
  std::string dir = df::test::source_path("assets/models/stories260K");
  std::unique_ptr<df::CausalLM> model = df::load_causal_lm(dir);
  std::shared_ptr<const df::Tokenizer> tok = df::AutoTokenizer::from_pretrained(dir);
  std::shared_ptr<df::TokenTextSource> text = df::make_token_text_source(tok);

  df::GenerationRequest request(const std::string& prompt, int n) const {
    df::GenerationRequest r;
    r.prompt_ids = tok->encode(prompt);
    r.config.max_new_tokens = n;
    r.config.do_sample = false;
    return r;
  }
};

std::vector<df::GenerationResult> run_one(df::Engine& e, df::GenerationRequest r) {
  std::vector<df::GenerationRequest> v;
  v.push_back(std::move(r));
  return e.run(std::move(v));
}

TEST(EngineRun, StreamedTextAddsUpAndKeepsTheSpaceAfterThePrompt) {
  Stories m;
  df::Engine engine(*m.model, m.text);
  std::string streamed;
  auto req = m.request("Once upon a time, there", 24);
  req.on_text = [&](std::string_view d) { streamed += d; };
  const auto prompt = req.prompt_ids;
  const df::GenerationResult r = run_one(engine, std::move(req))[0];
  EXPECT_EQ(streamed, r.text);
  ASSERT_FALSE(r.text.empty());
  // What transformers' TextStreamer shows: decode(prompt + new) minus decode(prompt).
  auto all = prompt;
  all.insert(all.end(), r.ids.begin(), r.ids.end());
  const std::string full = m.tok->decode(all, true), head = m.tok->decode(prompt, true);
  ASSERT_EQ(full.rfind(head, 0), 0u);
  EXPECT_EQ(r.text, full.substr(head.size()));
  EXPECT_EQ(r.text[0], ' ');
  EXPECT_EQ(r.stats.prompt_tokens, static_cast<int64_t>(prompt.size()));
  EXPECT_GE(r.stats.steps, static_cast<int64_t>(r.ids.size()));
  EXPECT_GT(r.stats.first_token_seconds, 0.0);
}

TEST(EngineRun, ASecondTurnReusesTheFirstTurnsBlocks) {
  Stories m;
  df::EngineOptions o;
  o.kv_block_size = 4;
  o.max_running = 2;
  df::Engine engine(*m.model, m.text, o);
  const auto first = run_one(engine, m.request("Lily went to the park. She saw a big dog", 12))[0];
  // Turn two re-sends turn one (prompt + reply) and adds a line, as `deepfuse chat` does.
  auto second = m.request("Lily went to the park. She saw a big dog", 10);
  second.prompt_ids.insert(second.prompt_ids.end(), first.ids.begin(), first.ids.end());
  const auto more = m.tok->encode(" Then", false);
  second.prompt_ids.insert(second.prompt_ids.end(), more.begin(), more.end());
  const int64_t hits_before = engine.stats().prefix_hit_blocks;
  const auto again = run_one(engine, second)[0];
  EXPECT_GT(engine.stats().prefix_hit_blocks, hits_before);
  // The same tokens as an engine that has seen nothing.
  df::Engine fresh(*m.model, m.text, o);
  EXPECT_EQ(run_one(fresh, second)[0].ids, again.ids);
}

TEST(EngineRun, ABadRequestCancelsTheOnesAlreadySubmitted) {
  Stories m;
  df::Engine engine(*m.model, m.text);
  std::vector<df::GenerationRequest> v;
  v.push_back(m.request("Once upon a time", 200));
  v.push_back(m.request("Once upon a time", 4));
  v.back().prompt_ids = {};  // rejected by submit()
  EXPECT_THROW(engine.run(std::move(v)), df::InvalidArgument);
  ASSERT_TRUE(engine.wait_idle(30));
  const df::EngineStats s = engine.stats();
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.running + s.waiting, 0);
}

}  // namespace
