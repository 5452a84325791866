// One request inside the serving engine: its tokens, block table, per-sequence generation
// state (resolved config, processors, text stream) and metrics. Owned by the engine thread.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "deepfuse/engine.h"
#include "engine/block_manager.h"
#include "engine/logits_processors.h"
#include "engine/text_stream.h"

namespace deepfuse::engine {

using Clock = std::chrono::steady_clock;

struct EngineSequence {
  RequestId id = 0;
  EngineRequest req;
  ResolvedConfig rc;
  std::vector<int32_t> ids;  // prompt + generated
  BlockTable table;
  int64_t computed = 0;  // tokens whose KV is in the cache
  std::unique_ptr<TextStream> text;
  GenerationResult result;
  RequestMetrics metrics;
  Clock::time_point submitted;
  bool scheduled_once = false;
  bool done = false;
  size_t emitted = 0;  // ids[0, emitted) were sent (starts at the prompt length)

  int64_t num_tokens() const { return static_cast<int64_t>(ids.size()); }
  std::vector<int32_t> generated() const { return {ids.begin() + rc.prompt_len, ids.end()}; }
  // Chooses the next token from this sequence's logits row (modified in place), appends it
  // and decides whether the sequence is finished (the same rules as Generator).
  void step(std::span<float> row);
  // Ends the sequence with `reason` ("stop", "length", "cancelled", "error").
  void finish(const std::string& reason);
  // Output since the last call; `final` flushes held-back text.
  StreamDelta take_delta();
};

}  // namespace deepfuse::engine
