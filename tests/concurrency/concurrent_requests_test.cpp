// Shared objects under concurrent requests (issue 12, item 3): two generations on one model and
// one Generator, and hybrid knowledge-base searches (BM25 + dense through an encoder model),
// from three threads at once. Each result must equal the same work run alone. Built and run
// under ThreadSanitizer by scripts/tsan_check.sh, which also makes any data race a failure.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "models/causal_lm.h"
#include "common/test_util.h"
#include "core/thread_pool.h"
#include "deepfuse/auto_model.h"
#include "deepfuse/generation.h"
#include "deepfuse/knowledge_base.h"
#include "deepfuse/tokenizer.h"

namespace deepfuse {
namespace {

constexpr int kRounds = 3;

struct Shared {
  std::unique_ptr<CausalLM> model;
  std::shared_ptr<const Tokenizer> tok;
  std::unique_ptr<Generator> gen;
  std::unique_ptr<KnowledgeBase> kb;
};

Shared& shared() {
  static Shared* s = [] {
    auto* s = new Shared;
    const std::string dir = test::source_path("assets/models/stories260K");
    s->model = load_causal_lm(dir);
    s->tok = AutoTokenizer::from_pretrained(dir);
    s->gen = std::make_unique<Generator>(*s->model, make_token_text_source(s->tok));
    KbConfig cfg;
    cfg.embedder = test::fixture("models/enc_bert");
    cfg.dense_index = "flat";
    s->kb = KnowledgeBase::open(test::temp_dir("concurrency_kb"), cfg);
    std::vector<Document> docs;
    const char* texts[] = {"the cat sat on the mat",     "stock prices fell sharply today",
                           "a recipe for apple pie",     "the dog chased the cat in the park",
                           "markets rallied after news", "bake the pie for forty minutes",
                           "Lily played outside in the park with her dog"};
    for (size_t i = 0; i < std::size(texts); ++i) {
      Document d;
      d.id = "d" + std::to_string(i);
      d.text = texts[i];
      docs.push_back(d);
    }
    s->kb->ingest(docs);
    return s;
  }();
  return *s;
}

GenerationRequest greedy_request() {
  GenerationRequest r;
  r.prompt_ids = shared().tok->encode("Once upon a time");
  r.config.max_new_tokens = 40;
  r.config.do_sample = false;
  return r;
}

GenerationRequest sampled_request() {
  GenerationRequest r;
  r.prompt_ids = shared().tok->encode("Zoo");
  r.config.max_new_tokens = 40;
  r.config.do_sample = true;
  r.config.temperature = 0.9;
  r.config.top_k = 20;
  r.config.seed = 1234;
  return r;
}

std::vector<std::vector<std::string>> run_searches() {
  SearchOptions o;
  o.mode = SearchMode::kHybrid;
  o.top_k = 3;
  std::vector<std::vector<std::string>> out;
  for (const char* q : {"cat in the park", "apple pie recipe", "stock market news"}) {
    std::vector<std::string> ids;
    for (const auto& h : shared().kb->search(q, o))
      ids.push_back(h.doc_id + ":" + std::to_string(h.score));
    out.push_back(ids);
  }
  return out;
}

TEST(ConcurrentRequests, TwoGenerationsAndASearchEqualTheSameWorkAlone) {
  Shared& s = shared();
  const GenerationResult greedy_alone = s.gen->generate(greedy_request());
  const GenerationResult sampled_alone = s.gen->generate(sampled_request());
  const auto search_alone = run_searches();
  ASSERT_EQ(greedy_alone.ids.size(), 40u);  // no EOS within 40 tokens of this story opening
  ASSERT_FALSE(search_alone[0].empty());
  EXPECT_EQ(greedy_alone.stats.prompt_tokens,
            static_cast<int64_t>(greedy_request().prompt_ids.size()));
  EXPECT_EQ(greedy_alone.stats.steps, 40);  // one prefill step, then one step per new token
  EXPECT_GT(greedy_alone.stats.forward_seconds, 0.0);

  std::vector<GenerationResult> greedy(kRounds), sampled(kRounds);
  std::vector<std::vector<std::vector<std::string>>> searched(kRounds);
  {
    // Thread 2 runs on a pool of its own (an injected execution context); the others share the
    // process pool.
    std::thread t1([&] {
      for (int r = 0; r < kRounds; ++r) greedy[r] = s.gen->generate(greedy_request());
    });
    std::thread t2([&] {
      ThreadPool own(2);
      ThreadPool::Scope scope(own);
      for (int r = 0; r < kRounds; ++r) sampled[r] = s.gen->generate(sampled_request());
    });
    std::thread t3([&] {
      for (int r = 0; r < kRounds; ++r) searched[r] = run_searches();
    });
    t1.join();
    t2.join();
    t3.join();
  }
  for (int r = 0; r < kRounds; ++r) {
    EXPECT_EQ(greedy[r].ids, greedy_alone.ids) << "round " << r;
    EXPECT_EQ(greedy[r].text, greedy_alone.text) << "round " << r;
    EXPECT_EQ(sampled[r].ids, sampled_alone.ids) << "round " << r;
    EXPECT_EQ(sampled[r].text, sampled_alone.text) << "round " << r;
    EXPECT_EQ(searched[r], search_alone) << "round " << r;
    // Statistics belong to each result, not to the shared Generator.
    EXPECT_EQ(greedy[r].stats.steps, greedy_alone.stats.steps);
    EXPECT_EQ(sampled[r].stats.prompt_tokens, sampled_alone.stats.prompt_tokens);
  }
}

TEST(ConcurrentRequests, EncodeBatchWhileGenerating) {
  // The tokenizer's batch encoder runs its own parallel_for on the process pool while a
  // generation uses the same pool.
  Shared& s = shared();
  std::vector<std::string> texts(16, "Lily saw a big red ball in the park.");
  const auto alone = s.tok->encode_batch(texts);
  const GenerationResult gen_alone = s.gen->generate(greedy_request());
  std::vector<Encoding> during;
  GenerationResult gen_during;
  std::thread t([&] { gen_during = s.gen->generate(greedy_request()); });
  for (int r = 0; r < kRounds; ++r) during = s.tok->encode_batch(texts);
  t.join();
  ASSERT_EQ(during.size(), alone.size());
  for (size_t i = 0; i < alone.size(); ++i) EXPECT_EQ(during[i].ids, alone[i].ids);
  EXPECT_EQ(gen_during.ids, gen_alone.ids);
}

}  // namespace
}  // namespace deepfuse
