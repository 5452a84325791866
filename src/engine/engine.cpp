// The serving engine's step loop. One thread (the engine thread) owns every sequence, the
// block manager and the KV cache; submit/cancel/stats only touch the inbox under a mutex.
//
// Each step: take new requests and cancels -> plan (scheduler.h, a pure function) -> preempt,
// admit (taking prefix-cache hits), grow block tables -> one ragged forward -> commit full
// blocks to the prefix cache, free blocks that left the sliding window -> choose tokens
// (parallel over sequences) -> stream deltas, finish and free finished sequences in the same
// step.
#include "deepfuse/engine.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "core/log.h"
#include "core/thread_pool.h"
#include "engine/engine_sequence.h"
#include "engine/scheduler.h"
#include "models/causal_lm.h"

namespace deepfuse {

using engine::Clock;
using engine::EngineSequence;
using SeqPtr = std::unique_ptr<EngineSequence>;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Sinks are the caller's code: an exception there must not take the engine thread down.
void deliver_delta(EngineSequence& s, StreamDelta d) {
  try {
    s.req.sink->on_delta(std::move(d));
  } catch (const std::exception& e) {
    DF_LOG_WARN("engine: request {}: its sink threw: {}", s.id, e.what());
  }
}

void deliver_result(EngineSequence& s, std::string error = {}) {
  s.metrics.total_seconds = seconds_since(s.submitted);
  EngineResult r;
  r.id = s.id;
  r.result = std::move(s.result);
  r.metrics = s.metrics;
  r.error = std::move(error);
  try {
    s.req.sink->on_result(std::move(r));
  } catch (const std::exception& e) {
    DF_LOG_WARN("engine: request {}: its sink threw: {}", s.id, e.what());
  }
}

// Adds one step's per-expert picks ([layer][expert]) into the running totals, growing them to
// the model's shape on first use.
void add_expert_counts(const std::vector<std::vector<int64_t>>& step,
                       std::vector<std::vector<int64_t>>& total) {
  if (total.size() < step.size()) total.resize(step.size());
  for (size_t l = 0; l < step.size(); ++l) {
    if (total[l].size() < step[l].size()) total[l].resize(step[l].size(), 0);
    for (size_t e = 0; e < step[l].size(); ++e) total[l][e] += step[l][e];
  }
}

}  // namespace

struct Engine::Impl {
  CausalLM& model;
  std::shared_ptr<const TokenTextSource> text;
  EngineOptions opt;
  std::unique_ptr<KVCache> cache;
  std::unique_ptr<engine::BlockManager> blocks;

  mutable std::mutex mu;
  std::condition_variable wake;
  mutable std::condition_variable idle;
  std::vector<SeqPtr> inbox;
  std::vector<RequestId> cancels;
  bool stopping = false;
  RequestId next_id = 1;
  int64_t pending = 0;    // submitted and not yet completed as of the last publish()
  int64_t completed = 0;  // engine thread: completed since the last publish()
  int64_t submitted = 0;
  EngineStats published;

  // Engine-thread state.
  std::deque<SeqPtr> waiting;
  std::vector<SeqPtr> running;  // admission order, oldest first
  EngineStats st;
  std::thread thread;
  // The pool current on the constructing thread: the engine thread computes on it, so an
  // engine made under a ThreadPool::Scope (Generator, tests) uses the caller's threads.
  ThreadPool* pool = &ThreadPool::current();

  Impl(CausalLM& m, std::shared_ptr<const TokenTextSource> t, EngineOptions o)
      : model(m), text(std::move(t)), opt(o) {}

  void run();
  void take_inbox(std::vector<SeqPtr>& in, std::vector<RequestId>& cancel);
  void complete(SeqPtr s, const std::string& error = {});
  void step();
  void publish();
};

void Engine::Impl::complete(SeqPtr s, const std::string& error) {
  blocks->release_all(s->table);
  if (!s->done) s->finish(error.empty() ? "cancelled" : "error");
  const std::string& why = s->result.finish_reason;
  if (why == "cancelled")
    ++st.requests_cancelled;
  else if (why == "error")
    ++st.requests_failed;
  else
    ++st.requests_finished;
  st.generated_tokens += s->metrics.generated_tokens;
  StreamDelta d = s->take_delta();
  if (!d.ids.empty() || !d.text.empty()) deliver_delta(*s, std::move(d));
  deliver_result(*s, error);
  ++completed;  // counted out of `pending` by publish(), so wait_idle sees final stats
}

void Engine::Impl::take_inbox(std::vector<SeqPtr>& in, std::vector<RequestId>& cancel) {
  for (auto& s : in) {
    st.prompt_tokens += s->rc.prompt_len;
    if (s->rc.max_new_tokens == 0) {
      s->finish("length");
      complete(std::move(s));
    } else {
      waiting.push_back(std::move(s));
    }
  }
  for (RequestId id : cancel) {
    auto wit =
        std::find_if(waiting.begin(), waiting.end(), [&](const SeqPtr& s) { return s->id == id; });
    if (wit != waiting.end()) {
      SeqPtr s = std::move(*wit);
      waiting.erase(wit);
      complete(std::move(s));
      continue;
    }
    auto rit =
        std::find_if(running.begin(), running.end(), [&](const SeqPtr& s) { return s->id == id; });
    if (rit != running.end()) {
      SeqPtr s = std::move(*rit);
      running.erase(rit);
      complete(std::move(s));
    }
  }
}

void Engine::Impl::publish() {
  st.waiting = static_cast<int64_t>(waiting.size());
  st.running = static_cast<int64_t>(running.size());
  st.kv_blocks_total = blocks->num_blocks();
  st.kv_blocks_free = blocks->available();
  st.kv_blocks_used = blocks->num_referenced();
  st.kv_blocks_cached = blocks->num_cached();
  st.prefix_hit_blocks = blocks->prefix_hits();
  st.prefix_miss_blocks = blocks->prefix_misses();
  st.prefix_evictions = blocks->evictions();
  std::lock_guard<std::mutex> lock(mu);
  published = st;
  pending -= completed;
  completed = 0;
  if (pending == 0) idle.notify_all();
}

void Engine::Impl::run() {
  ThreadPool::Scope scope(*pool);
  for (;;) {
    std::vector<SeqPtr> in;
    std::vector<RequestId> cancel;
    bool stop;
    {
      std::unique_lock<std::mutex> lock(mu);
      wake.wait(lock, [&] {
        return stopping || !inbox.empty() || !cancels.empty() || !waiting.empty() ||
               !running.empty();
      });
      in.swap(inbox);
      cancel.swap(cancels);
      stop = stopping;
    }
    take_inbox(in, cancel);
    if (stop) break;
    if (!waiting.empty() || !running.empty()) {
      try {
        step();
      } catch (const std::exception& e) {
        // A broken invariant or a failed allocation: the running requests end with the error
        // (their blocks are still recorded in their tables) and the engine goes on.
        DF_LOG_ERROR("engine: step failed: {}", e.what());
        std::vector<SeqPtr> failed = std::move(running);
        running.clear();
        for (auto& s : failed)
          complete(std::move(s), std::string("engine step failed: ") + e.what());
      }
    }
    publish();
  }
  // Shutdown: everything left ends as cancelled.
  while (!running.empty()) {
    SeqPtr s = std::move(running.back());
    running.pop_back();
    complete(std::move(s));
  }
  while (!waiting.empty()) {
    SeqPtr s = std::move(waiting.front());
    waiting.pop_front();
    complete(std::move(s));
  }
  publish();
}

void Engine::Impl::step() {
  const auto t0 = Clock::now();
  const int32_t bs = blocks->block_size();
  engine::SchedulerInput in;
  in.available_blocks = blocks->available();
  in.token_budget = opt.max_batch_tokens;
  in.block_size = bs;
  in.max_running = opt.max_running;
  for (const auto& s : running)
    in.running.push_back({s->num_tokens(), s->computed,
                          static_cast<int64_t>(s->table.blocks.size()), blocks->exclusive(s->table),
                          0, 0});
  // Prefix lookups for the waiting sequences that could be admitted now. At least one token
  // is always computed (its logits start the generation), so the last prompt token never
  // comes from the cache.
  std::vector<engine::PrefixMatch> matches;
  const size_t can_admit = static_cast<size_t>(
      std::max<int64_t>(0, opt.max_running - static_cast<int64_t>(running.size())));
  for (size_t w = 0; w < std::min(waiting.size(), can_admit); ++w) {
    const EngineSequence& s = *waiting[w];
    const int32_t lookup = static_cast<int32_t>((s.num_tokens() - 1) / bs);
    matches.push_back(blocks->match(s.ids, s.req.cache_salt, lookup));
    in.waiting.push_back(
        {s.num_tokens(), 0, 0, 0, matches.back().tokens(bs), matches.back().unreferenced});
  }
  const engine::StepPlan plan = engine::plan_step(in);

  // Preempt (newest first), back to the front of the queue so the oldest is re-admitted first.
  std::vector<char> gone(running.size(), 0);
  for (int32_t i : plan.preempted) {
    EngineSequence& s = *running[static_cast<size_t>(i)];
    blocks->release_all(s.table);
    s.computed = 0;
    ++s.metrics.preemptions;
    ++st.preemptions;
    gone[static_cast<size_t>(i)] = 1;
  }
  // Indices of the plan refer to the running set before preemption and the waiting queue.
  std::vector<EngineSequence*> by_running(running.size());
  for (size_t i = 0; i < running.size(); ++i) by_running[i] = running[i].get();
  std::vector<EngineSequence*> by_waiting;
  for (int32_t w = 0; w < plan.admitted; ++w) {
    EngineSequence& s = *waiting[static_cast<size_t>(w)];
    const int32_t lookup = static_cast<int32_t>((s.num_tokens() - 1) / bs);
    blocks->acquire(s.table, matches[static_cast<size_t>(w)], lookup);
    s.computed = matches[static_cast<size_t>(w)].tokens(bs);
    if (!s.scheduled_once) {
      s.scheduled_once = true;
      s.metrics.queue_seconds = seconds_since(s.submitted);
      s.metrics.cached_prompt_tokens = s.computed;
    }
    by_waiting.push_back(&s);
  }
  {
    std::vector<SeqPtr> kept, preempted;
    for (size_t i = 0; i < running.size(); ++i)
      (gone[i] ? preempted : kept).push_back(std::move(running[i]));
    for (int32_t w = 0; w < plan.admitted; ++w) {
      kept.push_back(std::move(waiting.front()));
      waiting.pop_front();
    }
    // plan.preempted is newest first: pushing each to the front leaves the oldest in front.
    for (auto it = preempted.rbegin(); it != preempted.rend(); ++it)
      waiting.push_front(std::move(*it));
    running = std::move(kept);
  }
  if (plan.chunks.empty()) return;

  ForwardBatch batch;
  std::vector<EngineSequence*> in_batch, with_logits;
  std::vector<int64_t> chunk_tokens;
  for (const engine::Chunk& c : plan.chunks) {
    EngineSequence* s = c.waiting ? by_waiting[static_cast<size_t>(c.index)]
                                  : by_running[static_cast<size_t>(c.index)];
    blocks->grow(s->table, s->computed + c.num_tokens);
    SequenceSlice sl;
    sl.token_begin = batch.num_tokens();
    sl.num_tokens = static_cast<int32_t>(c.num_tokens);
    sl.context_len = static_cast<int32_t>(s->computed);
    // Released (out-of-window) entries are never read; any valid id keeps the table well formed.
    sl.block_table = s->table.blocks;
    for (int32_t& b : sl.block_table)
      if (b == engine::BlockTable::kReleased) b = 0;
    for (int64_t k = 0; k < c.num_tokens; ++k) {
      batch.tokens.push_back(s->ids[static_cast<size_t>(s->computed + k)]);
      batch.positions.push_back(static_cast<int32_t>(s->computed + k));
    }
    batch.seqs.push_back(std::move(sl));
    in_batch.push_back(s);
    chunk_tokens.push_back(c.num_tokens);
    if (s->computed + c.num_tokens == s->num_tokens()) {
      batch.logit_rows.push_back(batch.num_tokens() - 1);
      with_logits.push_back(s);
    }
  }

  const int64_t vocab = model.info().vocab_size;
  std::string failure;
  Tensor logits;
  const auto tf = Clock::now();
  try {
    ForwardStats fs;
    logits = model.forward(batch, *cache, &fs);
    add_expert_counts(fs.expert_counts, st.expert_activations);
    if (logits.device() != Device::CPU) logits = logits.to_device(Device::CPU);
    DF_CHECK(logits.dtype() == DType::F32 && logits.ndim() == 2 &&
                 logits.dim(0) == static_cast<int64_t>(with_logits.size()) &&
                 logits.dim(1) == vocab,
             InternalError,
             "model forward returned " << logits.describe() << ", expected float32["
                                       << with_logits.size() << ", " << vocab << "]");
  } catch (const std::exception& e) {
    failure = std::string("model forward failed: ") + e.what();
  }
  const double forward_s = seconds_since(tf);
  st.forward_seconds += forward_s;
  if (!failure.empty()) {
    // The step's sequences end with the error; the others go on.
    std::vector<SeqPtr> kept;
    for (auto& s : running) {
      if (std::find(in_batch.begin(), in_batch.end(), s.get()) != in_batch.end())
        complete(std::move(s), failure);
      else
        kept.push_back(std::move(s));
    }
    running = std::move(kept);
    return;
  }

  for (size_t i = 0; i < in_batch.size(); ++i) {
    EngineSequence& s = *in_batch[i];
    const int64_t prompt_left = std::max<int64_t>(0, s.rc.prompt_len - s.computed);
    st.prefill_tokens += std::min(prompt_left, chunk_tokens[i]);
    s.computed += chunk_tokens[i];
    blocks->commit_full_blocks(s.table, s.ids, s.computed, s.req.cache_salt);
    // The next token (position `computed`) attends to positions > computed - window.
    if (opt.sliding_window > 0)
      blocks->release_before(s.table, s.computed + 1 - opt.sliding_window);
  }
  for (EngineSequence* s : in_batch) {
    ++s->result.stats.steps;
    s->result.stats.forward_seconds += forward_s;
  }
  const auto ts = Clock::now();
  float* base = logits.data<float>();
  ThreadPool::current().parallel_for(
      static_cast<int64_t>(with_logits.size()), 1, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r)
          with_logits[static_cast<size_t>(r)]->step(
              std::span<float>(base + r * vocab, static_cast<size_t>(vocab)));
      });
  const double sampling_s = seconds_since(ts);
  for (EngineSequence* s : with_logits) {
    s->result.stats.sampling_seconds += sampling_s;
    if (s->metrics.ttft_seconds == 0) {
      s->metrics.ttft_seconds = seconds_since(s->submitted);
      s->result.stats.first_token_seconds = s->metrics.ttft_seconds;
    }
    if (s->done) continue;  // complete() sends its last delta
    StreamDelta d = s->take_delta();
    if (!d.ids.empty() || !d.text.empty()) deliver_delta(*s, std::move(d));
  }
  // Finished sequences give their blocks back in the step that finished them.
  std::vector<SeqPtr> kept;
  for (auto& s : running) {
    if (s->done)
      complete(std::move(s));
    else
      kept.push_back(std::move(s));
  }
  running = std::move(kept);

  ++st.steps;
  st.last_step_tokens = batch.num_tokens();
  st.last_step_sequences = static_cast<int64_t>(batch.seqs.size());
  st.max_step_tokens = std::max(st.max_step_tokens, st.last_step_tokens);
  st.last_step_seconds = seconds_since(t0);
  st.step_seconds += st.last_step_seconds;
  if (opt.check_invariants) {
    std::vector<const engine::BlockTable*> tables;
    for (const auto& s : running) tables.push_back(&s->table);
    for (const auto& s : waiting) tables.push_back(&s->table);
    blocks->check_invariants(tables);
  }
}

Engine::Engine(CausalLM& model, std::shared_ptr<const TokenTextSource> text, EngineOptions options)
    : impl_(std::make_unique<Impl>(model, std::move(text), options)) {
  const EngineOptions& o = impl_->opt;
  DF_CHECK(o.kv_block_size > 0, InvalidArgument,
           "engine: kv_block_size must be > 0, got " << o.kv_block_size);
  DF_CHECK(o.max_batch_tokens > 0, InvalidArgument,
           "engine: max_batch_tokens must be > 0, got " << o.max_batch_tokens);
  DF_CHECK(o.max_running > 0 && o.max_running <= o.max_batch_tokens, InvalidArgument,
           "engine: max_running must be in [1, max_batch_tokens = " << o.max_batch_tokens
                                                                    << "], got " << o.max_running);
  DF_CHECK(o.sliding_window >= 0, InvalidArgument,
           "engine: sliding_window must be >= 0, got " << o.sliding_window);
  DF_CHECK(o.kv_blocks >= 0, InvalidArgument,
           "engine: kv_blocks must be >= 0, got " << o.kv_blocks);
  auto layout = model.kv_layout();
  size_t per_token = 0;
  for (const auto& l : layout) per_token += static_cast<size_t>(l.width) * dtype_size(l.dtype);
  int64_t n = o.kv_blocks;
  if (n == 0) {
    const int64_t per_block = static_cast<int64_t>(per_token) * o.kv_block_size;
    n = per_block > 0 ? o.kv_cache_bytes / per_block : 0;
    DF_CHECK(n > 0, InvalidArgument,
             "engine: kv_cache_bytes " << o.kv_cache_bytes << " holds no KV block (one block of "
                                       << o.kv_block_size << " tokens takes " << per_block
                                       << " bytes)");
    // More blocks than max_running sequences of the model's full length can ever hold would
    // only cost bookkeeping.
    const int64_t max_pos = model.info().max_positions > 0 ? model.info().max_positions : 1 << 20;
    n = std::min<int64_t>(
        n, engine::BlockManager::blocks_for(max_pos, o.kv_block_size) * o.max_running);
    n = std::min<int64_t>(n, int64_t{1} << 30);
  }
  impl_->cache =
      std::make_unique<KVCache>(std::move(layout), o.kv_block_size, static_cast<int32_t>(n));
  impl_->blocks = std::make_unique<engine::BlockManager>(static_cast<int32_t>(n), o.kv_block_size,
                                                         o.prefix_caching);
  impl_->publish();
  impl_->thread = std::thread([this] { impl_->run(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->thread.join();
}

const EngineOptions& Engine::options() const {
  return impl_->opt;
}

std::vector<GenerationResult> Engine::run(std::vector<GenerationRequest> requests) {
  std::vector<GenerationResult> out(requests.size());
  auto queue = std::make_shared<ResultQueue>();
  std::map<RequestId, size_t> index;
  try {
    for (size_t i = 0; i < requests.size(); ++i) {
      auto& r = requests[i];
      EngineRequest er;
      er.prompt_ids = r.prompt_ids;
      er.config = r.config;
      er.logits_processors = r.logits_processors;
      er.stopping_criteria = r.stopping_criteria;
      er.sink = queue;
      index[submit(std::move(er))] = i;
    }
  } catch (...) {
    for (const auto& [id, i] : index) cancel(id);
    throw;
  }
  for (size_t left = index.size(); left > 0;) {
    EngineEvent ev = queue->pop();
    if (ev.delta) {
      const auto& on_text = requests[index.at(ev.delta->id)].on_text;
      if (on_text && !ev.delta->text.empty()) on_text(ev.delta->text);
    }
    if (!ev.result) continue;
    EngineResult& r = *ev.result;
    if (!r.error.empty()) {
      for (const auto& [id, i] : index) cancel(id);
      throw InternalError("generation failed: " + r.error);
    }
    out[index.at(r.id)] = std::move(r.result);
    --left;
  }
  return out;
}

RequestId Engine::submit(EngineRequest request) {
  Impl& m = *impl_;
  const ModelInfo& info = m.model.info();
  DF_CHECK(request.sink != nullptr, InvalidArgument, "engine: request has no sink for its results");
  DF_CHECK(!request.prompt_ids.empty(), InvalidArgument,
           "engine: prompt_ids is empty (at least one token, e.g. BOS, is needed)");
  for (int32_t id : request.prompt_ids)
    DF_CHECK(id >= 0 && id < info.vocab_size, InvalidArgument,
             "engine: prompt token id " << id << " is outside the vocabulary [0, "
                                        << info.vocab_size << ")");
  auto s = std::make_unique<EngineSequence>();
  s->rc = engine::resolve_config(request.config, static_cast<int64_t>(request.prompt_ids.size()),
                                 info.vocab_size, info.max_positions);
  DF_CHECK(s->rc.stop_strings.empty() || m.text, InvalidArgument,
           "engine: stop_strings need a tokenizer (the engine was given no TokenTextSource)");
  const int64_t bs = m.blocks->block_size();
  const int64_t need = engine::BlockManager::blocks_for(s->rc.max_length, static_cast<int32_t>(bs));
  DF_CHECK(need <= m.blocks->num_blocks(), InvalidArgument,
           "engine: request needs "
               << s->rc.max_length << " tokens of KV cache (prompt " << s->rc.prompt_len
               << " + max_new_tokens " << s->rc.max_new_tokens << ") = " << need
               << " blocks, but the whole pool has " << m.blocks->num_blocks() << " blocks of "
               << bs << " tokens; shorten the request or raise the KV cache size");
  s->ids = request.prompt_ids;
  s->emitted = s->ids.size();
  // The prompt decides how the first generated token reads (a leading space after a word).
  s->text = std::make_unique<engine::TextStream>(m.text.get(), s->rc.stop_strings, s->ids);
  s->metrics.prompt_tokens = s->rc.prompt_len;
  s->result.stats.prompt_tokens = s->rc.prompt_len;
  s->submitted = Clock::now();
  s->req = std::move(request);
  RequestId id;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    DF_CHECK(!m.stopping, InvalidArgument, "engine: submit after shutdown");
    id = m.next_id++;
    s->id = id;
    ++m.pending;
    ++m.submitted;
    m.inbox.push_back(std::move(s));
  }
  m.wake.notify_one();
  return id;
}

void Engine::cancel(RequestId id) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->cancels.push_back(id);
  }
  impl_->wake.notify_one();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  EngineStats s = impl_->published;
  s.requests_submitted = impl_->submitted;
  return s;
}

bool Engine::wait_idle(double timeout_seconds) const {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->idle.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                              [&] { return impl_->pending == 0; });
}

}  // namespace deepfuse
