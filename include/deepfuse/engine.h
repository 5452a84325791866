// The serving engine: continuous batching over a paged KV cache with prefix caching, chunked
// prefill, preemption by recompute and cancellation. The HTTP server, the CLI and the RAG
// pipeline submit requests here and read results; one engine thread owns every sequence and
// every KV block.
//
//   deepfuse::Engine engine(model, text_source, {.kv_cache_bytes = 512 << 20});
//   auto queue = std::make_shared<deepfuse::ResultQueue>();
//   deepfuse::RequestId id = engine.submit({.prompt_ids = ids, .config = cfg, .sink = queue});
//   for (;;) {                                   // on any thread
//     deepfuse::EngineEvent ev = queue->pop();
//     if (ev.delta) std::cout << ev.delta->text;
//     if (ev.result) break;                      // final: GenerationResult + metrics
//   }
//   engine.cancel(id);                           // any time, from any thread (no-op when done)
//
// A request's tokens do not depend on what it is batched with: greedy output equals the request
// run alone, and sampling draws from a stream keyed by (seed, step) as in Generator.
// Requests are checked in submit(), which throws deepfuse::InvalidArgument (an empty prompt, a
// token outside the vocabulary, a bad config, or prompt + max_new_tokens needing more KV blocks
// than the whole pool); nothing is queued then and the engine keeps serving the others.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "deepfuse/generation.h"

namespace deepfuse {

using RequestId = uint64_t;

struct EngineOptions {
  int32_t kv_block_size = 16;                 // tokens per KV block
  int64_t kv_cache_bytes = int64_t{1} << 30;  // memory budget of the block pool
  int32_t kv_blocks = 0;                      // > 0: exactly this many blocks (overrides bytes)
  int64_t max_batch_tokens = 2048;            // new tokens per step (prefill chunks + decodes)
  int32_t max_running = 128;                  // sequences in a step; <= max_batch_tokens
  bool prefix_caching = true;
  // The model's sliding window when *every* layer uses it (Mistral): blocks that left the
  // window are freed while the sequence runs. 0: keep every block (always correct).
  int32_t sliding_window = 0;
  // Check the block-accounting invariants after every step (InternalError when broken).
#ifdef NDEBUG
  bool check_invariants = false;
#else
  bool check_invariants = true;
#endif
};

// Per-request numbers, returned with the result.
struct RequestMetrics {
  int64_t prompt_tokens = 0;
  int64_t cached_prompt_tokens = 0;  // prompt tokens reused from the prefix cache (first admission)
  int64_t generated_tokens = 0;
  int32_t preemptions = 0;
  double queue_seconds = 0;  // submit -> first scheduled
  double ttft_seconds = 0;   // submit -> first generated token
  double total_seconds = 0;  // submit -> result
};

struct StreamDelta {
  RequestId id = 0;
  std::vector<int32_t> ids;  // tokens generated since the previous delta
  std::string text;          // text safe to show (see GenerationRequest::on_text), may be empty
};

struct EngineResult {
  RequestId id = 0;
  // finish_reason: "stop", "length", "cancelled", or "error" (then `error` says why; the
  // engine goes on serving the other requests).
  GenerationResult result;
  RequestMetrics metrics;
  std::string error;
};

// Where the engine delivers a request's output. Called on the engine thread, in order, ending
// with exactly one on_result; keep it short (hand off to a queue) and do not throw.
class RequestSink {
 public:
  virtual ~RequestSink() = default;
  virtual void on_delta(StreamDelta delta) = 0;
  virtual void on_result(EngineResult result) = 0;
};

struct EngineEvent {
  std::optional<StreamDelta> delta;
  std::optional<EngineResult> result;  // the last event of a request
};

// A thread-safe queue sink: the engine pushes, any thread pops. One queue may serve many
// requests (events carry their RequestId).
class ResultQueue : public RequestSink {
 public:
  ResultQueue();
  ~ResultQueue() override;
  void on_delta(StreamDelta delta) override;
  void on_result(EngineResult result) override;
  EngineEvent pop();  // blocks until an event arrives
  std::optional<EngineEvent> pop_for(double seconds);
  // Pops until the result of a request arrives and returns it (deltas are dropped).
  EngineResult wait_result();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

struct EngineRequest {
  std::vector<int32_t> prompt_ids;
  GenerationConfig config;  // already merged with the model defaults
  std::vector<std::shared_ptr<LogitsProcessor>> logits_processors;
  std::vector<std::shared_ptr<StoppingCriteria>> stopping_criteria;
  // Salts the prefix-cache keys: requests whose KV differs for equal tokens (another LoRA
  // adapter, ...) must use different salts.
  uint64_t cache_salt = 0;
  std::shared_ptr<RequestSink> sink;  // required
};

struct EngineStats {
  int64_t waiting = 0, running = 0;
  int64_t kv_blocks_total = 0, kv_blocks_used = 0, kv_blocks_free = 0;  // free: incl. cached
  int64_t kv_blocks_cached = 0;  // blocks findable by the prefix cache (used or not)
  int64_t prefix_hit_blocks = 0, prefix_miss_blocks = 0, prefix_evictions = 0;
  int64_t preemptions = 0;
  int64_t requests_submitted = 0, requests_finished = 0, requests_cancelled = 0,
          requests_failed = 0;
  int64_t prompt_tokens = 0;     // tokens in (of finished or running requests)
  int64_t generated_tokens = 0;  // tokens out
  int64_t prefill_tokens = 0;    // prompt tokens actually computed (recomputes included)
  int64_t steps = 0;
  int64_t last_step_tokens = 0, last_step_sequences = 0, max_step_tokens = 0;
  double last_step_seconds = 0, step_seconds = 0, forward_seconds = 0;
  // MoE models: [layer][expert] -> (token, expert) picks so far (rows of dense layers are
  // empty); empty for dense models.
  std::vector<std::vector<int64_t>> expert_activations;
};

class Engine {
 public:
  // `model` must outlive the engine. `text` may be null (then stop_strings are rejected and
  // deltas carry ids only).
  Engine(CausalLM& model, std::shared_ptr<const TokenTextSource> text, EngineOptions options = {});
  ~Engine();  // cancels what is left and joins the engine thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  RequestId submit(EngineRequest request);
  void cancel(RequestId id);
  EngineStats stats() const;
  // Blocks until nothing is waiting or running (or `timeout_seconds` passed: false).
  bool wait_idle(double timeout_seconds) const;
  const EngineOptions& options() const;

  // Blocking convenience for one caller (Generator, `deepfuse generate` / `chat`): submits
  // `requests`, calls each one's on_text on this thread as its text arrives, and returns the
  // results in request order. Throws what submit() throws (requests already submitted are
  // cancelled) and InternalError when a request fails inside the engine.
  std::vector<GenerationResult> run(std::vector<GenerationRequest> requests);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace deepfuse
