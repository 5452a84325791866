// Per-sequence token choice, reusing the generation pieces Generator uses (processors in
// transformers' order, Philox sampling keyed by (seed, step), incremental text with stop
// strings), so a request gives the same tokens through the engine as through Generator.
#include "engine/engine_sequence.h"

#include <algorithm>

#include "engine/sampler.h"

namespace deepfuse::engine {

void EngineSequence::finish(const std::string& reason) {
  done = true;
  auto gen = generated();
  text->finish(gen);
  result.ids = std::move(gen);
  result.text = text->text();
  result.stop_string = text->matched_stop();
  result.finish_reason = reason;
  metrics.generated_tokens = static_cast<int64_t>(result.ids.size());
}

void EngineSequence::step(std::span<float> row) {
  GenerationState st;
  st.ids = ids;
  st.prompt_len = rc.prompt_len;
  st.text = text->text();
  std::vector<int32_t> cand;
  process_scores(rc, st, req.logits_processors, row, &cand);
  const int64_t n_step = num_tokens() - rc.prompt_len;
  const int32_t tok =
      choose_token(rc.sample, row, cand, uniform01(rc.seed, static_cast<uint64_t>(n_step)));
  if (rc.logprobs) result.tokens.push_back(token_logprobs(row, tok, rc.top_logprobs));
  ids.push_back(tok);
  const bool is_eos = std::find(rc.eos.begin(), rc.eos.end(), tok) != rc.eos.end();
  const bool stop_string = text->update(generated());
  bool criterion = false;
  if (!req.stopping_criteria.empty()) {
    GenerationState after;
    after.ids = ids;
    after.prompt_len = rc.prompt_len;
    after.text = text->text();
    for (const auto& c : req.stopping_criteria) criterion = c->should_stop(after) || criterion;
  }
  if (is_eos || stop_string || criterion)
    finish("stop");
  else if (num_tokens() - rc.prompt_len >= rc.max_new_tokens)
    finish("length");
}

StreamDelta EngineSequence::take_delta() {
  StreamDelta d;
  d.id = id;
  // After a stop string, result.ids already holds everything; ids past it are still sent so
  // that the deltas' ids add up to result.ids.
  d.ids.assign(ids.begin() + static_cast<std::ptrdiff_t>(emitted), ids.end());
  emitted = ids.size();
  d.text = text->take_delta(done);
  return d;
}

}  // namespace deepfuse::engine
