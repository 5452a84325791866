// The step planner of the serving engine: a pure function of (running set, waiting queue, free
// blocks, token budget) -> which sequences run how many tokens this step, which are admitted
// and which are preempted. No model, no threads: tests drive it with plain numbers.
//
// Policy (vLLM's, with chunked prefill always on):
//  1. Every running sequence that is decoding gets its one token (oldest first). When the
//     blocks run out, the newest running sequence is preempted (its blocks freed; it is
//     recomputed later from its tokens) until the older one fits.
//  2. Running sequences still in prefill get chunks of what budget is left (oldest first).
//  3. Only when nothing was preempted, waiting sequences are admitted strictly FCFS while the
//     budget, the blocks and max_running allow; the head of the queue is never skipped, so a
//     long prompt cannot be starved by short ones behind it.
// Preempted sequences go back to the *front* of the waiting queue (oldest first), so they are
// the next admitted. The oldest running sequence is never preempted for a younger one, so it
// always progresses: with every request fitting the pool alone, everything finishes.
#pragma once

#include <cstdint>
#include <vector>

namespace deepfuse::engine {

struct SchedSeq {
  int64_t num_tokens = 0;    // prompt + generated tokens so far
  int64_t computed = 0;      // of those, tokens whose KV is in the cache
  int64_t table_blocks = 0;  // block-table entries (positions covered, released ones included)
  int64_t owned_blocks = 0;  // blocks only it holds (what preempting it gives back)
  // Waiting sequences only: leading tokens found in the prefix cache, and how many of those
  // blocks are cached-unreferenced now (admitting takes them out of the available count).
  int64_t prefix_tokens = 0;
  int64_t prefix_unreferenced = 0;
};

struct SchedulerInput {
  std::vector<SchedSeq> running;  // in admission order, oldest first
  std::vector<SchedSeq> waiting;  // queue order
  int64_t available_blocks = 0;   // free + cached-unreferenced
  int64_t token_budget = 0;       // new tokens per step, >= max_running
  int32_t block_size = 16;
  int32_t max_running = 256;
};

struct Chunk {
  bool waiting = false;  // index into SchedulerInput::waiting (admitted), else ::running
  int32_t index = 0;
  int64_t num_tokens = 0;
};

struct StepPlan {
  std::vector<Chunk> chunks;       // decodes first, then prefill chunks, then admissions
  std::vector<int32_t> preempted;  // running indices, newest first
  int32_t admitted = 0;            // waiting[0, admitted) start running this step
  int64_t num_tokens = 0;          // sum of chunk tokens
  int64_t blocks_needed = 0;       // new blocks the chunks need (<= available after preemption)
};

StepPlan plan_step(const SchedulerInput& in);

}  // namespace deepfuse::engine
