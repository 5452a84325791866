#include "engine/scheduler.h"

#include <algorithm>

#include "engine/block_manager.h"

namespace deepfuse::engine {

StepPlan plan_step(const SchedulerInput& in) {
  StepPlan plan;
  int64_t budget = in.token_budget;
  int64_t available = in.available_blocks;
  const int32_t n_run = static_cast<int32_t>(in.running.size());
  std::vector<char> preempted(static_cast<size_t>(n_run), 0);
  int32_t newest = n_run - 1;  // next candidate for preemption
  auto extra_blocks = [&](const SchedSeq& s, int64_t n) {
    return std::max<int64_t>(
        0, BlockManager::blocks_for(s.computed + n, in.block_size) - s.table_blocks);
  };
  // Makes room for `need` blocks for running[i] by preempting newer sequences; false when i
  // itself had to go.
  auto make_room = [&](int32_t i, int64_t need) {
    while (need > available) {
      while (newest >= 0 && preempted[static_cast<size_t>(newest)]) --newest;
      if (newest < 0) return false;
      const int32_t victim = newest--;
      preempted[static_cast<size_t>(victim)] = 1;
      plan.preempted.push_back(victim);
      available += in.running[static_cast<size_t>(victim)].owned_blocks;
      // A victim already given tokens this step gives them back.
      for (auto it = plan.chunks.begin(); it != plan.chunks.end(); ++it)
        if (!it->waiting && it->index == victim) {
          budget += it->num_tokens;
          available += extra_blocks(in.running[static_cast<size_t>(victim)], it->num_tokens);
          plan.blocks_needed -=
              extra_blocks(in.running[static_cast<size_t>(victim)], it->num_tokens);
          plan.num_tokens -= it->num_tokens;
          plan.chunks.erase(it);
          break;
        }
      if (victim == i) return false;
    }
    return true;
  };
  auto schedule_running = [&](bool decodes) {
    for (int32_t i = 0; i < n_run; ++i) {
      if (preempted[static_cast<size_t>(i)]) continue;
      const SchedSeq& s = in.running[static_cast<size_t>(i)];
      const int64_t remaining = s.num_tokens - s.computed;
      if (remaining <= 0 || (remaining == 1) != decodes) continue;
      const int64_t n = std::min(remaining, budget);
      if (n <= 0) continue;
      const int64_t need = extra_blocks(s, n);
      if (!make_room(i, need)) continue;
      available -= need;
      budget -= n;
      plan.blocks_needed += need;
      plan.num_tokens += n;
      plan.chunks.push_back({false, i, n});
    }
  };
  schedule_running(true);
  schedule_running(false);
  if (!plan.preempted.empty()) return plan;

  int64_t running = n_run;
  for (int32_t w = 0; w < static_cast<int32_t>(in.waiting.size()); ++w) {
    if (budget <= 0 || running >= in.max_running) break;
    const SchedSeq& s = in.waiting[static_cast<size_t>(w)];
    const int64_t start = s.prefix_tokens;
    const int64_t n = std::min(s.num_tokens - start, budget);
    const int64_t need = BlockManager::blocks_for(start + n, in.block_size) -
                         start / in.block_size + s.prefix_unreferenced;
    if (need > available) break;  // FCFS: nobody overtakes the head of the queue
    available -= need;
    budget -= n;
    plan.blocks_needed += need - s.prefix_unreferenced;
    plan.num_tokens += n;
    plan.chunks.push_back({true, w, n});
    plan.admitted = w + 1;
    ++running;
  }
  return plan;
}

}  // namespace deepfuse::engine
