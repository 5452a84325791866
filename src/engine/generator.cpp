// Generator: the blocking, batch-of-requests front of the serving engine. Each generate() call
// runs its requests through its own Engine (engine.cpp), so the CLI, the library API and the
// server share one generation path: one scheduler, one paged KV cache, one per-sequence token
// choice (engine_sequence.cpp).
//
// The call's engine gets a pool big enough for every request's worst case (no preemption), no
// prefix cache (requests of one call do not share KV, so each computes exactly what it would
// alone), and the caller's ThreadPool::current(). Streaming callbacks run on the calling
// thread, as the engine's deltas arrive.
#include <algorithm>

#include "core/error.h"
#include "deepfuse/engine.h"
#include "deepfuse/generation.h"
#include "engine/block_manager.h"
#include "engine/logits_processors.h"
#include "models/causal_lm.h"

namespace deepfuse {

Generator::Generator(CausalLM& model, std::shared_ptr<const TokenTextSource> text,
                     GeneratorOptions options)
    : model_(model), text_(std::move(text)), options_(options) {
  DF_CHECK(options_.kv_block_size > 0, InvalidArgument, "kv_block_size must be > 0");
  DF_CHECK(options_.max_batch_tokens > 0, InvalidArgument, "max_batch_tokens must be > 0");
}

Generator::~Generator() = default;

GenerationResult Generator::generate(GenerationRequest request) const {
  std::vector<GenerationRequest> v;
  v.push_back(std::move(request));
  return std::move(generate(std::move(v))[0]);
}

std::vector<GenerationResult> Generator::generate(std::vector<GenerationRequest> requests) const {
  const ModelInfo& info = model_.info();
  const int64_t vocab = info.vocab_size;
  const int32_t bs = options_.kv_block_size;
  if (requests.empty()) return {};

  // Validate everything before starting: a bad request fails the call, nothing runs.
  int64_t total_blocks = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    DF_CHECK(!r.prompt_ids.empty(), InvalidArgument,
             "request " << i << ": prompt_ids is empty (at least one token, e.g. BOS, is needed)");
    for (int32_t id : r.prompt_ids)
      DF_CHECK(id >= 0 && id < vocab, InvalidArgument,
               "request " << i << ": prompt token id " << id << " is outside the vocabulary [0, "
                          << vocab << ")");
    const engine::ResolvedConfig rc = engine::resolve_config(
        r.config, static_cast<int64_t>(r.prompt_ids.size()), vocab, info.max_positions);
    DF_CHECK(rc.stop_strings.empty() || text_, InvalidArgument,
             "stop_strings need a tokenizer (no TokenTextSource was given)");
    total_blocks += engine::BlockManager::blocks_for(rc.max_length, bs);
  }

  EngineOptions o;
  o.kv_block_size = bs;
  o.kv_blocks = static_cast<int32_t>(std::max<int64_t>(total_blocks, 1));
  o.max_batch_tokens = options_.max_batch_tokens;
  o.max_running = static_cast<int32_t>(
      std::min<int64_t>(static_cast<int64_t>(requests.size()), options_.max_batch_tokens));
  o.prefix_caching = false;
  Engine engine(model_, text_, o);
  return engine.run(std::move(requests));
}

}  // namespace deepfuse
