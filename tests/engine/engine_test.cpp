// The serving engine with a fake model whose logits depend on the whole context read back from
// the paged cache (fake_lm.h): batching, chunking, prefix reuse and preemption must not change
// any request's tokens; cancellation and rejection leave the pool whole.
#include <gtest/gtest.h>

#include <atomic>
#include <random>
#include <thread>

#include "core/error.h"
#include "deepfuse/engine.h"
#include "engine/fake_lm.h"

namespace deepfuse {
namespace {

GenerationConfig greedy(int64_t n) {
  GenerationConfig c;
  c.max_new_tokens = n;
  c.do_sample = false;
  return c;
}

std::vector<int32_t> random_prompt(std::mt19937& rng, int64_t len, int64_t vocab) {
  std::vector<int32_t> p(static_cast<size_t>(len));
  for (auto& t : p) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(vocab));
  return p;
}

// Runs `prompts` through a fresh engine one at a time (each alone).
std::vector<std::vector<int32_t>> run_alone(CausalLM& lm,
                                            const std::vector<std::vector<int32_t>>& prompts,
                                            const std::vector<GenerationConfig>& cfgs) {
  std::vector<std::vector<int32_t>> out;
  for (size_t i = 0; i < prompts.size(); ++i) {
    EngineOptions o;
    o.prefix_caching = false;
    o.kv_blocks = 512;
    o.check_invariants = true;
    Engine e(lm, nullptr, o);
    auto q = std::make_shared<ResultQueue>();
    e.submit({prompts[i], cfgs[i], {}, {}, 0, q});
    out.push_back(q->wait_result().result.ids);
  }
  return out;
}

struct Collected {
  std::vector<EngineResult> results;
  std::vector<std::vector<int32_t>> streamed;
};

Collected run_together(Engine& e, const std::vector<std::vector<int32_t>>& prompts,
                       const std::vector<GenerationConfig>& cfgs) {
  std::vector<std::shared_ptr<ResultQueue>> qs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    qs.push_back(std::make_shared<ResultQueue>());
    e.submit({prompts[i], cfgs[i], {}, {}, 0, qs.back()});
  }
  Collected c;
  for (auto& q : qs) {
    std::vector<int32_t> ids;
    for (;;) {
      EngineEvent ev = q->pop();
      if (ev.delta) ids.insert(ids.end(), ev.delta->ids.begin(), ev.delta->ids.end());
      if (ev.result) {
        c.results.push_back(std::move(*ev.result));
        break;
      }
    }
    c.streamed.push_back(std::move(ids));
  }
  return c;
}

TEST(Engine, ConcurrentGreedyEqualsAloneWithPrefixHitsAndPreemption) {
  test::FakeLM lm(97);
  std::mt19937 rng(1);
  std::vector<int32_t> shared = random_prompt(rng, 37, 97);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<GenerationConfig> cfgs;
  for (int i = 0; i < 12; ++i) {
    auto p = i % 2 ? shared : std::vector<int32_t>{};
    auto tail = random_prompt(rng, 1 + static_cast<int64_t>(rng() % 30), 97);
    p.insert(p.end(), tail.begin(), tail.end());
    prompts.push_back(p);
    cfgs.push_back(greedy(5 + static_cast<int64_t>(rng() % 20)));
  }
  const auto alone = run_alone(lm, prompts, cfgs);
  struct Case {
    const char* name;
    int32_t blocks;
    int64_t budget;
    bool prefix;
  };
  for (const Case& k : {Case{"big pool", 0, 2048, true}, Case{"no prefix cache", 0, 2048, false},
                        Case{"small budget", 0, 16, true}, Case{"tiny pool", 12, 32, true}}) {
    SCOPED_TRACE(k.name);
    EngineOptions o;
    o.kv_block_size = 8;
    o.kv_blocks = k.blocks;
    o.max_batch_tokens = k.budget;
    o.max_running = 16;
    o.prefix_caching = k.prefix;
    o.check_invariants = true;
    Engine e(lm, nullptr, o);
    // Warm the prefix cache with the shared prefix so later requests hit it.
    run_together(e, {prompts[1]}, {cfgs[1]});
    const Collected c = run_together(e, prompts, cfgs);
    for (size_t i = 0; i < prompts.size(); ++i) {
      EXPECT_EQ(c.results[i].result.ids, alone[i]) << "request " << i;
      EXPECT_EQ(c.streamed[i], alone[i]) << "streamed ids of request " << i;
      EXPECT_EQ(c.results[i].result.finish_reason, "length");
    }
    ASSERT_TRUE(e.wait_idle(10));
    const EngineStats s = e.stats();
    EXPECT_EQ(s.kv_blocks_used, 0);
    EXPECT_EQ(s.kv_blocks_free, s.kv_blocks_total);
    EXPECT_EQ(s.requests_finished, 13);
    if (k.prefix) EXPECT_GT(s.prefix_hit_blocks, 0);
    if (!k.prefix) EXPECT_EQ(s.prefix_hit_blocks, 0);
    if (k.blocks == 12) EXPECT_GT(s.preemptions, 0);
    if (k.budget == 16) EXPECT_LE(s.max_step_tokens, 16);
  }
}

TEST(Engine, SampledRequestsMatchGenerator) {
  test::FakeLM lm(50);
  std::mt19937 rng(3);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<GenerationConfig> cfgs;
  for (int i = 0; i < 6; ++i) {
    prompts.push_back(random_prompt(rng, 3 + i * 5, 50));
    GenerationConfig c;
    c.max_new_tokens = 12;
    c.do_sample = true;
    c.temperature = 0.9;
    c.top_k = 20;
    c.seed = 100 + static_cast<uint64_t>(i);
    cfgs.push_back(c);
  }
  EngineOptions o;
  o.kv_block_size = 4;
  o.kv_blocks = 20;  // forces preemption: recompute must keep the sampled stream
  o.max_batch_tokens = 16;
  o.max_running = 6;
  Engine e(lm, nullptr, o);
  const Collected c = run_together(e, prompts, cfgs);
  Generator g(lm, nullptr);
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest r;
    r.prompt_ids = prompts[i];
    r.config = cfgs[i];
    EXPECT_EQ(c.results[i].result.ids, g.generate(r).ids) << "request " << i;
  }
}

TEST(Engine, StopStringsAndTextDeltas) {
  std::vector<std::string> pieces = {"", "a", "b", "c", "STOP", " "};
  auto vocab = std::make_shared<test::FakeVocab>(pieces);
  // Context-free scores: always "a b c STOP ..." in a cycle.
  test::FakeLM lm(6, [](const std::vector<int32_t>& ctx, float* lg) {
    for (int i = 0; i < 6; ++i) lg[i] = 0;
    lg[1 + static_cast<int>(ctx.size() % 4)] = 5;
  });
  Engine e(lm, vocab);
  GenerationConfig c = greedy(30);
  c.stop_strings = std::vector<std::string>{"cSTOP"};
  auto q = std::make_shared<ResultQueue>();
  e.submit({{5}, c, {}, {}, 0, q});
  std::string text;
  EngineResult r;
  for (;;) {
    EngineEvent ev = q->pop();
    if (ev.delta) text += ev.delta->text;
    if (ev.result) {
      r = std::move(*ev.result);
      break;
    }
  }
  EXPECT_EQ(r.result.finish_reason, "stop");
  EXPECT_EQ(r.result.text, "b");  // b c STOP: cut before "cSTOP"
  EXPECT_EQ(text, r.result.text);
  EXPECT_EQ(r.result.stop_string, "cSTOP");
  EXPECT_EQ(r.metrics.generated_tokens, 3);
}

// A model that blocks in forward() until released, so cancellation can be tested mid-stream.
class GatedLM : public test::FakeLM {
 public:
  GatedLM() : FakeLM(40) {}
  Tensor forward(const ForwardBatch& b, KVCache& c, ForwardStats* st = nullptr) const override {
    const int step = ++steps;
    // `hold_from`: steps after that one wait for `release`, so a cancel sent meanwhile is seen
    // before the request can run to its end (the fake model is far faster than the test thread).
    while (slow.load() || (hold_from.load() >= 0 && step > hold_from.load() && !release.load()))
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    return FakeLM::forward(b, c, st);
  }
  std::atomic<bool> slow{false};
  mutable std::atomic<int> steps{0};
  std::atomic<int> hold_from{-1};
  std::atomic<bool> release{false};
};

TEST(Engine, CancelMidStreamReturnsThePool) {
  GatedLM lm;
  lm.hold_from = 8;  // prefill + a few decode steps, then wait for the cancel below
  EngineOptions o;
  o.kv_block_size = 4;
  o.kv_blocks = 64;
  o.check_invariants = true;
  Engine e(lm, nullptr, o);
  const EngineStats initial = e.stats();
  auto q1 = std::make_shared<ResultQueue>();
  auto q2 = std::make_shared<ResultQueue>();
  std::mt19937 rng(5);
  const RequestId a = e.submit({random_prompt(rng, 30, 40), greedy(200), {}, {}, 0, q1});
  const RequestId b = e.submit({random_prompt(rng, 10, 40), greedy(8), {}, {}, 0, q2});
  // Wait for a few streamed tokens of `a`, then cancel it.
  int got = 0;
  while (got < 3) {
    EngineEvent ev = q1->pop();
    ASSERT_FALSE(ev.result) << "finished before the cancel";
    got += static_cast<int>(ev.delta->ids.size());
  }
  e.cancel(a);
  lm.release = true;
  const EngineResult ra = q1->wait_result();
  EXPECT_EQ(ra.id, a);
  EXPECT_EQ(ra.result.finish_reason, "cancelled");
  EXPECT_LT(ra.result.ids.size(), 200u);
  EXPECT_EQ(q2->wait_result().result.finish_reason, "length");  // the other one is unaffected
  ASSERT_TRUE(e.wait_idle(10));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.kv_blocks_free, initial.kv_blocks_free);
  EXPECT_EQ(s.requests_cancelled, 1);
  EXPECT_EQ(s.running + s.waiting, 0);
  e.cancel(a);  // cancelling a finished request is a no-op
  e.cancel(12345);
  // A cancel while the request still waits (the model is gated).
  lm.slow = true;
  auto q3 = std::make_shared<ResultQueue>();
  auto q4 = std::make_shared<ResultQueue>();
  e.submit({random_prompt(rng, 10, 40), greedy(50), {}, {}, 0, q3});
  const RequestId d = e.submit({random_prompt(rng, 10, 40), greedy(50), {}, {}, 0, q4});
  e.cancel(d);
  lm.slow = false;
  EXPECT_EQ(q4->wait_result().result.finish_reason, "cancelled");
  EXPECT_EQ(q3->wait_result().result.finish_reason, "length");
  ASSERT_TRUE(e.wait_idle(10));
  EXPECT_EQ(e.stats().kv_blocks_used, 0);
}

TEST(Engine, OverlongRequestIsRejectedAtSubmitWhileOthersContinue) {
  test::FakeLM lm(30);
  EngineOptions o;
  o.kv_block_size = 4;
  o.kv_blocks = 10;  // 40 tokens
  Engine e(lm, nullptr, o);
  auto q = std::make_shared<ResultQueue>();
  const RequestId ok = e.submit({std::vector<int32_t>(20, 1), greedy(10), {}, {}, 0, q});
  try {
    e.submit({std::vector<int32_t>(30, 1), greedy(20), {}, {}, 0, q});
    FAIL() << "accepted a request longer than the pool";
  } catch (const InvalidArgument& ex) {
    EXPECT_NE(std::string(ex.what()).find("whole pool has 10 blocks"), std::string::npos)
        << ex.what();
  }
  const EngineResult r = q->wait_result();
  EXPECT_EQ(r.id, ok);
  EXPECT_EQ(r.result.ids.size(), 10u);
  EXPECT_EQ(e.stats().requests_submitted, 1);
}

TEST(Engine, BadRequestsAndOptionsAreClearErrors) {
  test::FakeLM lm(30);
  auto q = std::make_shared<ResultQueue>();
  {
    Engine e(lm, nullptr);
    EXPECT_THROW(e.submit({{}, greedy(3), {}, {}, 0, q}), InvalidArgument);
    EXPECT_THROW(e.submit({{1, 30}, greedy(3), {}, {}, 0, q}), InvalidArgument);
    EXPECT_THROW(e.submit({{1, -1}, greedy(3), {}, {}, 0, q}), InvalidArgument);
    EXPECT_THROW(e.submit({{1}, greedy(3), {}, {}, 0, nullptr}), InvalidArgument);
    GenerationConfig bad = greedy(3);
    bad.temperature = -1;
    EXPECT_THROW(e.submit({{1}, bad, {}, {}, 0, q}), InvalidArgument);
    GenerationConfig stops = greedy(3);
    stops.stop_strings = std::vector<std::string>{"x"};
    EXPECT_THROW(e.submit({{1}, stops, {}, {}, 0, q}), InvalidArgument);  // no tokenizer
    // max_new_tokens 0 finishes at once.
    e.submit({{1, 2}, greedy(0), {}, {}, 0, q});
    const EngineResult r = q->wait_result();
    EXPECT_EQ(r.result.finish_reason, "length");
    EXPECT_TRUE(r.result.ids.empty());
  }
  EngineOptions o;
  o.kv_block_size = 0;
  EXPECT_THROW(Engine(lm, nullptr, o), InvalidArgument);
  o = {};
  o.max_running = 0;
  EXPECT_THROW(Engine(lm, nullptr, o), InvalidArgument);
  o = {};
  o.max_running = 10;
  o.max_batch_tokens = 5;
  EXPECT_THROW(Engine(lm, nullptr, o), InvalidArgument);
  o = {};
  o.kv_cache_bytes = 10;  // less than one block
  EXPECT_THROW(Engine(lm, nullptr, o), InvalidArgument);
}

class FailingLM : public test::FakeLM {
 public:
  FailingLM() : FakeLM(20) {}
  Tensor forward(const ForwardBatch& b, KVCache& c, ForwardStats* st = nullptr) const override {
    if (fail.load()) throw InternalError("injected failure");
    return FakeLM::forward(b, c, st);
  }
  std::atomic<bool> fail{false};
};

TEST(Engine, AFailedStepEndsItsRequestsWithAnErrorAndTheEngineGoesOn) {
  FailingLM lm;
  Engine e(lm, nullptr);
  auto q = std::make_shared<ResultQueue>();
  lm.fail = true;
  e.submit({{1, 2, 3}, greedy(4), {}, {}, 0, q});
  const EngineResult r = q->wait_result();
  EXPECT_EQ(r.result.finish_reason, "error");
  EXPECT_NE(r.error.find("injected failure"), std::string::npos);
  lm.fail = false;
  e.submit({{1, 2, 3}, greedy(4), {}, {}, 0, q});
  EXPECT_EQ(q->wait_result().result.ids.size(), 4u);
  ASSERT_TRUE(e.wait_idle(10));
  EXPECT_EQ(e.stats().kv_blocks_used, 0);
  EXPECT_EQ(e.stats().requests_failed, 1);
}

TEST(Engine, SlidingWindowFreesBlocksAndKeepsOutputs) {
  // Logits depend only on the last 6 tokens: a window-6 model.
  const int window = 6;
  test::FakeLM lm(40, [&](const std::vector<int32_t>& ctx, float* lg) {
    std::vector<int32_t> tail(
        ctx.end() - std::min<ptrdiff_t>(window, static_cast<ptrdiff_t>(ctx.size())), ctx.end());
    test::FakeLM::hash_logits(tail, 40, lg);
  });
  std::mt19937 rng(9);
  std::vector<std::vector<int32_t>> prompts;
  std::vector<GenerationConfig> cfgs;
  for (int i = 0; i < 5; ++i) {
    prompts.push_back(random_prompt(rng, 5 + 7 * i, 40));
    cfgs.push_back(greedy(30));
  }
  const auto alone = run_alone(lm, prompts, cfgs);
  EngineOptions o;
  o.kv_block_size = 2;
  o.kv_blocks = 40;
  o.sliding_window = window;
  o.check_invariants = true;
  Engine e(lm, nullptr, o);
  // FakeLM reads the whole context back; released blocks read garbage-or-other tokens, but
  // the scores only use the last `window` positions, which stay.
  const Collected c = run_together(e, prompts, cfgs);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(c.results[i].result.ids, alone[i]);
  ASSERT_TRUE(e.wait_idle(10));
  EXPECT_EQ(e.stats().kv_blocks_used, 0);
  // Without freeing, the 5 sequences (up to 63 tokens) need 105 blocks of 2 at once; with
  // blocks leaving the window they fit 40 without a single preemption.
  EXPECT_EQ(e.stats().preemptions, 0);
  EngineOptions keep = o;
  keep.sliding_window = 0;
  Engine e2(lm, nullptr, keep);
  const Collected c2 = run_together(e2, prompts, cfgs);
  for (size_t i = 0; i < prompts.size(); ++i) EXPECT_EQ(c2.results[i].result.ids, alone[i]);
  ASSERT_TRUE(e2.wait_idle(10));
  EXPECT_GT(e2.stats().preemptions, 0);
}

// 200 random requests: random prompt lengths (some sharing prefixes), random arrival times,
// random cancels, a small pool (preemption) and several submitting threads. Everything must
// finish, nothing may leak, and it must take seconds.
TEST(Engine, StressRandomRequestsCancelsAndArrivals) {
  test::FakeLM lm(64);
  EngineOptions o;
  o.kv_block_size = 4;
  o.kv_blocks = 48;
  o.max_batch_tokens = 64;
  o.max_running = 16;
  o.check_invariants = true;
  Engine e(lm, nullptr, o);
  std::mt19937 seed_rng(11);
  const std::vector<int32_t> shared = random_prompt(seed_rng, 24, 64);
  std::atomic<int> results{0}, cancelled{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 rng(100 + static_cast<uint32_t>(t));
      auto q = std::make_shared<ResultQueue>();
      std::vector<RequestId> ids;
      for (int i = 0; i < 50; ++i) {
        std::vector<int32_t> p = rng() % 3 == 0 ? shared : std::vector<int32_t>{};
        auto tail = random_prompt(rng, 1 + static_cast<int64_t>(rng() % 60), 64);
        p.insert(p.end(), tail.begin(), tail.end());
        GenerationConfig c = greedy(1 + static_cast<int64_t>(rng() % 60));
        if (rng() % 2) {
          c.do_sample = true;
          c.seed = rng();
        }
        ids.push_back(e.submit({p, c, {}, {}, 0, q}));
        if (rng() % 4 == 0) e.cancel(ids[rng() % ids.size()]);
        if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(rng() % 2000));
      }
      for (int i = 0; i < 50; ++i) {
        auto ev = q->pop_for(30);
        if (!ev) return;  // deadlock: the count below fails
        if (!ev->result) {
          --i;
          continue;
        }
        ++results;
        if (ev->result->result.finish_reason == "cancelled") ++cancelled;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(results.load(), 200);
  ASSERT_TRUE(e.wait_idle(30));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_EQ(s.kv_blocks_free, s.kv_blocks_total);
  EXPECT_EQ(s.requests_finished + s.requests_cancelled, 200);
  EXPECT_EQ(s.requests_cancelled, cancelled.load());
  EXPECT_GT(s.preemptions, 0);
  EXPECT_GT(s.prefix_hit_blocks, 0);
}

TEST(Engine, StatsAndSaltedPrefixes) {
  test::FakeLM lm(50);
  EngineOptions o;
  o.kv_block_size = 4;
  o.kv_blocks = 64;
  Engine e(lm, nullptr, o);
  auto q = std::make_shared<ResultQueue>();
  const std::vector<int32_t> p = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};  // two full blocks + 2
  e.submit({p, greedy(3), {}, {}, /*salt=*/1, q});
  const EngineResult first = q->wait_result();
  EXPECT_EQ(first.metrics.cached_prompt_tokens, 0);
  e.submit({p, greedy(3), {}, {}, /*salt=*/2, q});  // another adapter: no reuse
  EXPECT_EQ(q->wait_result().metrics.cached_prompt_tokens, 0);
  e.submit({p, greedy(3), {}, {}, /*salt=*/1, q});
  const EngineResult hit = q->wait_result();
  EXPECT_EQ(hit.metrics.cached_prompt_tokens, 8);
  EXPECT_EQ(hit.result.ids, first.result.ids);
  EXPECT_GE(hit.metrics.ttft_seconds, hit.metrics.queue_seconds);
  EXPECT_GE(hit.metrics.total_seconds, hit.metrics.ttft_seconds);
  ASSERT_TRUE(e.wait_idle(10));
  const EngineStats s = e.stats();
  EXPECT_EQ(s.requests_submitted, 3);
  EXPECT_EQ(s.requests_finished, 3);
  EXPECT_EQ(s.prompt_tokens, 30);
  EXPECT_EQ(s.generated_tokens, 9);
  EXPECT_EQ(s.prefill_tokens, 30 - 8);
  EXPECT_EQ(s.prefix_hit_blocks, 2);
  EXPECT_EQ(s.prefix_miss_blocks, 4);
  EXPECT_EQ(s.kv_blocks_total, 64);
  EXPECT_EQ(s.kv_blocks_used, 0);
  EXPECT_GT(s.kv_blocks_cached, 0);
  EXPECT_GT(s.steps, 0);
  EXPECT_GT(s.step_seconds, 0);
}

TEST(Engine, DestructorCancelsWhatIsLeft) {
  GatedLM lm;
  auto q = std::make_shared<ResultQueue>();
  {
    Engine e(lm, nullptr);
    lm.slow = true;
    e.submit({{1, 2}, greedy(100), {}, {}, 0, q});
    e.submit({{3, 4}, greedy(100), {}, {}, 0, q});
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lm.slow = false;
    });
    release.join();
  }
  int n = 0;
  while (auto ev = q->pop_for(0.01))
    if (ev->result) ++n;
  EXPECT_EQ(n, 2);
}

}  // namespace
}  // namespace deepfuse
