// The generation loop on a deterministic fake model: batching invariance, seeds, streaming,
// stop strings, EOS lists, min/max tokens, user processors and criteria.
#include <gtest/gtest.h>

#include "core/thread_pool.h"
#include "deepfuse/generation.h"
#include "engine/fake_lm.h"

using namespace deepfuse;
using deepfuse::test::FakeLM;
using deepfuse::test::FakeVocab;

namespace {

std::shared_ptr<FakeVocab> letters_vocab() {
  std::vector<std::string> p = {""};  // 0: EOS
  for (char c = 'a'; c <= 'z'; ++c) p.push_back(std::string(1, c));
  for (const char* s :
       {" ", "th", "the", " the", "ing", ".", "\n", "\xC3\xA9", "\xE4\xBD", "\xA0", "\xE5\xA5\xBD"})
    p.push_back(s);
  return std::make_shared<FakeVocab>(p);
}

GenerationRequest req(std::vector<int32_t> prompt, int64_t max_new, bool sample, uint64_t seed) {
  GenerationRequest r;
  r.prompt_ids = std::move(prompt);
  r.config.max_new_tokens = max_new;
  r.config.do_sample = sample;
  r.config.seed = seed;
  r.config.temperature = 0.9;
  r.config.top_k = 0;
  return r;
}

std::vector<std::vector<int32_t>> prompts() {
  return {{1, 2, 3},
          {5},
          {7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20},
          {4, 4},
          {30, 31, 1, 2, 3}};
}

}  // namespace

TEST(Generator, BatchEqualsOneAtATimeGreedyAndSampled) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  for (bool sample : {false, true}) {
    std::vector<GenerationResult> single;
    for (size_t i = 0; i < prompts().size(); ++i) {
      Generator g(model, vocab);
      single.push_back(
          g.generate(req(prompts()[i], 12 + static_cast<int64_t>(i), sample, 100 + i)));
    }
    for (int64_t max_tokens : {int64_t{4096}, int64_t{7}, int64_t{1}}) {  // incl. chunked prefill
      GeneratorOptions opt;
      opt.max_batch_tokens = max_tokens;
      opt.kv_block_size = 4;
      Generator g(model, vocab, opt);
      std::vector<GenerationRequest> batch;
      for (size_t i = 0; i < prompts().size(); ++i)
        batch.push_back(req(prompts()[i], 12 + static_cast<int64_t>(i), sample, 100 + i));
      auto res = g.generate(std::move(batch));
      ASSERT_EQ(res.size(), single.size());
      for (size_t i = 0; i < res.size(); ++i) {
        EXPECT_EQ(res[i].ids, single[i].ids)
            << "request " << i << " max_batch_tokens " << max_tokens;
        EXPECT_EQ(res[i].text, single[i].text);
        EXPECT_EQ(res[i].finish_reason, single[i].finish_reason);
      }
    }
  }
}

TEST(Generator, SeedsReproducibleAcrossThreadsAndCompositions) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  auto a = g.generate(req({1, 2, 3}, 20, true, 7));
  auto b = g.generate(req({1, 2, 3}, 20, true, 7));
  auto c = g.generate(req({1, 2, 3}, 20, true, 8));
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_NE(a.ids, c.ids);
  // Statistics come with each result: one prefill step, then one step per further token.
  EXPECT_EQ(a.stats.prompt_tokens, 3);
  EXPECT_EQ(a.stats.steps, static_cast<int64_t>(a.ids.size()));
  EXPECT_EQ(b.stats.steps, a.stats.steps);
  EXPECT_GE(a.stats.forward_seconds, 0.0);
  EXPECT_GT(a.stats.first_token_seconds, 0.0);
  // Same request surrounded by others, on a single-threaded pool of its own.
  ThreadPool serial(1);
  ThreadPool::Scope scope(serial);
  std::vector<GenerationRequest> mix;
  mix.push_back(req({9, 9}, 5, true, 1));
  mix.push_back(req({1, 2, 3}, 20, true, 7));
  mix.push_back(req({3}, 30, true, 7));
  auto res = g.generate(std::move(mix));
  EXPECT_EQ(res[1].ids, a.ids);
}

TEST(Generator, GreedyEqualsTemperatureZeroAndTopK1) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  auto greedy = g.generate(req({1, 2}, 15, false, 0));
  auto t0 = req({1, 2}, 15, true, 5);
  t0.config.temperature = 0.0;
  EXPECT_EQ(g.generate(t0).ids, greedy.ids);
  auto k1 = req({1, 2}, 15, true, 5);
  k1.config.top_k = 1;
  EXPECT_EQ(g.generate(k1).ids, greedy.ids);
}

TEST(Generator, StreamingConcatenatesToTextAndIsValidUtf8) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto r = req({1}, 40, true, seed);
    std::string streamed;
    std::vector<std::string> deltas;
    r.on_text = [&](std::string_view d) {
      deltas.emplace_back(d);
      streamed += d;
    };
    auto res = g.generate(std::move(r));
    EXPECT_EQ(streamed, res.text);
    EXPECT_EQ(res.text, vocab->decode(res.ids));
    for (const auto& d : deltas)
      EXPECT_EQ(FakeVocab::lossy_utf8(d), d) << "delta is not valid UTF-8";
  }
}

TEST(Generator, StopStringsCutTextAndAreNeverStreamed) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  // Find text the model produces, then stop on a piece of it spanning tokens.
  auto base = g.generate(req({1}, 40, true, 3));
  ASSERT_GE(base.text.size(), 12u);
  const std::string stop = base.text.substr(5, 3);
  auto r = req({1}, 40, true, 3);
  r.config.stop_strings = std::vector<std::string>{"@@never@@", stop};
  std::string streamed;
  r.on_text = [&](std::string_view d) { streamed += d; };
  auto res = g.generate(std::move(r));
  EXPECT_EQ(res.finish_reason, "stop");
  ASSERT_TRUE(res.stop_string.has_value());
  EXPECT_EQ(*res.stop_string, stop);
  EXPECT_EQ(res.text, base.text.substr(0, base.text.find(stop)));
  EXPECT_EQ(streamed, res.text);
  EXPECT_EQ(streamed.find(stop), std::string::npos);
  // The ids stop at the token that completed the stop string (transformers keeps it).
  EXPECT_LT(res.ids.size(), base.ids.size());
  EXPECT_NE(vocab->decode(res.ids).find(stop), std::string::npos);
  EXPECT_EQ(vocab->decode({res.ids.begin(), res.ids.end() - 1}).find(stop), std::string::npos);
}

TEST(Generator, EosListMinNewTokensAndLengths) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  auto base = g.generate(req({2, 3}, 30, false, 0));
  EXPECT_EQ(base.finish_reason, "length");
  EXPECT_EQ(base.ids.size(), 30u);
  const int32_t t = base.ids[6];
  const size_t first =
      static_cast<size_t>(std::find(base.ids.begin(), base.ids.end(), t) - base.ids.begin());
  auto r = req({2, 3}, 30, false, 0);
  r.config.eos_token_id = std::vector<int32_t>{t};
  auto res = g.generate(r);
  EXPECT_EQ(res.finish_reason, "stop");
  EXPECT_EQ(res.ids, std::vector<int32_t>(base.ids.begin(), base.ids.begin() + first + 1));
  r.config.min_new_tokens = static_cast<int64_t>(first) + 3;
  auto res2 = g.generate(r);
  EXPECT_GE(res2.ids.size(), first + 4);
  for (size_t i = 0; i + 1 < static_cast<size_t>(first) + 3 && i < res2.ids.size(); ++i)
    EXPECT_NE(res2.ids[i], t);
  auto ml = req({2, 3}, 0, false, 0);
  ml.config.max_new_tokens.reset();
  ml.config.max_length = 9;
  EXPECT_EQ(g.generate(ml).ids.size(), 7u);
  auto zero = g.generate(req({2, 3}, 0, false, 0));
  EXPECT_TRUE(zero.ids.empty());
  EXPECT_EQ(zero.finish_reason, "length");
}

TEST(Generator, ForcedEosAndLogprobs) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  auto r = req({2, 3}, 6, false, 0);
  r.config.forced_eos_token_id = 0;
  r.config.eos_token_id = std::vector<int32_t>{0};
  r.config.top_logprobs = 3;
  auto res = g.generate(r);
  ASSERT_EQ(res.ids.size(), 6u);
  EXPECT_EQ(res.ids.back(), 0);
  ASSERT_EQ(res.tokens.size(), 6u);
  EXPECT_EQ(res.tokens[0].top.size(), 3u);
  EXPECT_EQ(res.tokens[0].top[0].id, res.ids[0]);  // greedy picks the best
  EXPECT_LE(res.tokens[0].logprob, 0.0f);
  EXPECT_NEAR(res.tokens.back().logprob, 0.0f, 1e-6);  // forced: probability 1
}

namespace {
struct BanLetter : LogitsProcessor {
  int32_t id;
  explicit BanLetter(int32_t i) : id(i) {}
  void process(const GenerationState&, std::span<float> s) override {
    s[static_cast<size_t>(id)] = -std::numeric_limits<float>::infinity();
  }
};
struct StopAfter : StoppingCriteria {
  int64_t n;
  explicit StopAfter(int64_t k) : n(k) {}
  bool should_stop(const GenerationState& st) override { return st.num_generated() >= n; }
};
}  // namespace

TEST(Generator, UserProcessorsAndCriteria) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  auto base = g.generate(req({4}, 20, false, 0));
  auto r = req({4}, 20, false, 0);
  r.logits_processors.push_back(std::make_shared<BanLetter>(base.ids[0]));
  r.stopping_criteria.push_back(std::make_shared<StopAfter>(5));
  auto res = g.generate(r);
  EXPECT_EQ(res.ids.size(), 5u);
  EXPECT_EQ(res.finish_reason, "stop");
  for (int32_t t : res.ids) EXPECT_NE(t, base.ids[0]);
}

TEST(Generator, BadRequestsAreInvalidArgument) {
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size(), nullptr, 16);
  Generator g(model, vocab);
  EXPECT_THROW(g.generate(req({}, 3, false, 0)), InvalidArgument);
  EXPECT_THROW(g.generate(req({1, 999}, 3, false, 0)), InvalidArgument);
  auto bad = req({1}, 3, true, 0);
  bad.config.top_p = 2;
  EXPECT_THROW(g.generate(bad), InvalidArgument);
  std::vector<int32_t> longp(20, 1);
  EXPECT_THROW(g.generate(req(longp, 3, false, 0)), InvalidArgument);
  // Capped by the model's positions: 16 - 10 = 6 new tokens at most.
  auto capped = g.generate(req(std::vector<int32_t>(10, 1), 100, false, 0));
  EXPECT_EQ(capped.ids.size(), 6u);
}

TEST(Generator, SampledTokensDoNotDependOnStreamingOrThreads) {
  // Same seed: the same tokens whether the text is streamed or not, whatever the sampling
  // thread count, and alone or in a batch with other streamed requests.
  auto vocab = letters_vocab();
  FakeLM model(vocab->vocab_size());
  Generator g(model, vocab);
  auto plain = g.generate(req({6, 7}, 25, true, 99));
  for (int threads : {1, 2, 0}) {
    ThreadPool pool(threads);
    ThreadPool::Scope scope(pool);
    std::string streamed;
    auto r = req({6, 7}, 25, true, 99);
    r.on_text = [&](std::string_view d) { streamed += d; };
    std::vector<GenerationRequest> batch;
    batch.push_back(req({1}, 9, true, 5));
    batch.back().on_text = [](std::string_view) {};
    batch.push_back(std::move(r));
    auto res = g.generate(std::move(batch));
    EXPECT_EQ(res[1].ids, plain.ids) << "threads " << threads;
    EXPECT_EQ(res[1].text, plain.text);
    EXPECT_EQ(streamed, plain.text);
  }
}
