// The step planner as a pure function (engine/scheduler.h): no model, no threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "engine/block_manager.h"
#include "engine/scheduler.h"

namespace deepfuse::engine {
namespace {

SchedSeq running_seq(int64_t tokens, int64_t computed, int32_t bs = 4) {
  SchedSeq s;
  s.num_tokens = tokens;
  s.computed = computed;
  s.table_blocks = BlockManager::blocks_for(computed, bs);
  s.owned_blocks = s.table_blocks;
  return s;
}
SchedSeq waiting_seq(int64_t tokens) {
  SchedSeq s;
  s.num_tokens = tokens;
  return s;
}

TEST(Scheduler, AllDecodesThenPrefillChunksUpToTheBudget) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 10;
  in.available_blocks = 100;
  in.running = {running_seq(6, 5), running_seq(9, 8)};
  in.waiting = {waiting_seq(20), waiting_seq(3)};
  const StepPlan p = plan_step(in);
  ASSERT_EQ(p.chunks.size(), 3u);
  EXPECT_FALSE(p.chunks[0].waiting);
  EXPECT_EQ(p.chunks[0].num_tokens, 1);
  EXPECT_EQ(p.chunks[1].num_tokens, 1);
  // The long prompt gets the 8 tokens left (chunked prefill); nothing behind it this step.
  EXPECT_TRUE(p.chunks[2].waiting);
  EXPECT_EQ(p.chunks[2].index, 0);
  EXPECT_EQ(p.chunks[2].num_tokens, 8);
  EXPECT_EQ(p.admitted, 1);
  EXPECT_EQ(p.num_tokens, 10);
  EXPECT_TRUE(p.preempted.empty());
}

TEST(Scheduler, RunningPrefillContinuesBeforeNewAdmissions) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 8;
  in.available_blocks = 100;
  in.running = {running_seq(20, 8), running_seq(5, 4)};  // one mid-prefill, one decoding
  in.waiting = {waiting_seq(2)};
  const StepPlan p = plan_step(in);
  ASSERT_EQ(p.chunks.size(), 2u);
  EXPECT_EQ(p.chunks[0].index, 1);  // the decode first
  EXPECT_EQ(p.chunks[1].index, 0);
  EXPECT_EQ(p.chunks[1].num_tokens, 7);
  EXPECT_EQ(p.admitted, 0);  // budget spent
}

TEST(Scheduler, FcfsHeadIsNeverOvertaken) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 100;
  in.available_blocks = 3;
  in.waiting = {waiting_seq(40), waiting_seq(2)};  // head needs 10 blocks: nobody admitted
  const StepPlan p = plan_step(in);
  EXPECT_TRUE(p.chunks.empty());
  EXPECT_EQ(p.admitted, 0);
  // With room for the head's first chunk only (budget 12 -> 3 blocks), it gets that chunk.
  in.token_budget = 12;
  const StepPlan q = plan_step(in);
  ASSERT_EQ(q.chunks.size(), 1u);
  EXPECT_EQ(q.chunks[0].num_tokens, 12);
  EXPECT_EQ(q.blocks_needed, 3);
}

TEST(Scheduler, PrefixHitsNeedFewerNewBlocks) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 100;
  in.available_blocks = 3;
  SchedSeq w = waiting_seq(18);  // 5 blocks in all
  in.waiting = {w};
  EXPECT_EQ(plan_step(in).admitted, 0);
  w.prefix_tokens = 12;  // 3 blocks cached, referenced by someone else
  in.waiting = {w};
  StepPlan p = plan_step(in);
  ASSERT_EQ(p.admitted, 1);
  EXPECT_EQ(p.chunks[0].num_tokens, 6);
  EXPECT_EQ(p.blocks_needed, 2);
  w.prefix_unreferenced = 2;  // two of them are only cached: they leave the available count
  in.waiting = {w};
  EXPECT_EQ(plan_step(in).admitted, 0);
}

TEST(Scheduler, PreemptsTheNewestWhenDecodesRunOutOfBlocks) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 100;
  in.available_blocks = 0;
  // Both need a new block for their next token (8 computed of 9 tokens: block 3 starts at 8).
  in.running = {running_seq(9, 8), running_seq(5, 4)};
  in.waiting = {waiting_seq(1)};
  const StepPlan p = plan_step(in);
  ASSERT_EQ(p.preempted.size(), 1u);
  EXPECT_EQ(p.preempted[0], 1);
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].index, 0);
  EXPECT_EQ(p.admitted, 0);  // no admission in a step that preempted
}

TEST(Scheduler, ALoneSequenceThatCannotGrowPreemptsItself) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 100;
  in.available_blocks = 0;
  in.running = {running_seq(9, 8)};
  const StepPlan p = plan_step(in);
  EXPECT_EQ(p.preempted, std::vector<int32_t>{0});
  EXPECT_TRUE(p.chunks.empty());
}

TEST(Scheduler, PreemptingAVictimGivesBackItsChunk) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 100;
  in.available_blocks = 1;
  // The newest (index 1) decodes into a new block first; then the older prefill needs more
  // blocks, so the newest is preempted and its chunk withdrawn.
  in.running = {running_seq(16, 4), running_seq(9, 8)};
  const StepPlan p = plan_step(in);
  EXPECT_EQ(p.preempted, std::vector<int32_t>{1});
  ASSERT_EQ(p.chunks.size(), 1u);
  EXPECT_EQ(p.chunks[0].index, 0);
  EXPECT_EQ(p.chunks[0].num_tokens, 12);
  EXPECT_EQ(p.blocks_needed, 3);
}

TEST(Scheduler, MaxRunningCapsAdmission) {
  SchedulerInput in;
  in.block_size = 4;
  in.token_budget = 100;
  in.available_blocks = 100;
  in.max_running = 2;
  in.running = {running_seq(5, 4)};
  in.waiting = {waiting_seq(3), waiting_seq(3), waiting_seq(3)};
  EXPECT_EQ(plan_step(in).admitted, 1);
}

// Simulates the engine's use of the planner with a tiny pool and random requests: every
// request finishes, no step exceeds the budget or the pool, and the wait of a request is
// bounded (no starvation).
TEST(Scheduler, SimulationFinishesEveryRequestWithinThePool) {
  std::mt19937 rng(7);
  struct Sim {
    int64_t prompt, target, tokens, computed = 0, blocks = 0;
  };
  const int32_t bs = 4;
  const int64_t pool = 24, budget = 16;
  std::vector<Sim> waiting, running;
  for (int i = 0; i < 60; ++i) {
    const int64_t prompt = 1 + static_cast<int64_t>(rng() % 40);
    const int64_t gen = 1 + static_cast<int64_t>(rng() % 40);
    waiting.push_back({prompt, prompt + gen, prompt});
  }
  int64_t used = 0, finished = 0, steps = 0;
  while ((!waiting.empty() || !running.empty()) && steps < 20000) {
    ++steps;
    SchedulerInput in;
    in.block_size = bs;
    in.token_budget = budget;
    in.max_running = 8;
    in.available_blocks = pool - used;
    for (const auto& s : running)
      in.running.push_back({s.tokens, s.computed, s.blocks, s.blocks, 0, 0});
    for (const auto& s : waiting) in.waiting.push_back({s.tokens, 0, 0, 0, 0, 0});
    const StepPlan p = plan_step(in);
    ASSERT_LE(p.num_tokens, budget);
    std::vector<char> gone(running.size(), 0);
    for (int32_t i : p.preempted) {
      used -= running[static_cast<size_t>(i)].blocks;
      running[static_cast<size_t>(i)].blocks = 0;
      running[static_cast<size_t>(i)].computed = 0;
      gone[static_cast<size_t>(i)] = 1;
    }
    std::vector<Sim*> run_ptr, wait_ptr;
    for (auto& s : running) run_ptr.push_back(&s);
    for (auto& s : waiting) wait_ptr.push_back(&s);
    for (const Chunk& c : p.chunks) {
      Sim* s = c.waiting ? wait_ptr[static_cast<size_t>(c.index)]
                         : run_ptr[static_cast<size_t>(c.index)];
      const int64_t nb = BlockManager::blocks_for(s->computed + c.num_tokens, bs);
      used += std::max<int64_t>(0, nb - s->blocks);
      s->blocks = std::max(s->blocks, nb);
      s->computed += c.num_tokens;
      if (s->computed == s->tokens) ++s->tokens;  // a generated token
    }
    ASSERT_LE(used, pool);
    std::vector<Sim> next_running, back;
    for (size_t i = 0; i < running.size(); ++i) {
      if (gone[i]) {
        back.push_back(running[i]);
      } else if (running[i].tokens > running[i].target) {
        used -= running[i].blocks;
        ++finished;
      } else {
        next_running.push_back(running[i]);
      }
    }
    for (int32_t w = 0; w < p.admitted; ++w)
      next_running.push_back(waiting[static_cast<size_t>(w)]);
    waiting.erase(waiting.begin(), waiting.begin() + p.admitted);
    waiting.insert(waiting.begin(), back.begin(), back.end());  // oldest preempted first
    running = std::move(next_running);
  }
  EXPECT_EQ(finished, 60);
  EXPECT_LT(steps, 20000);
  EXPECT_EQ(used, 0);
}

}  // namespace
}  // namespace deepfuse::engine
