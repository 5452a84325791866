// The generation loop: requests -> ragged forward batches over a paged KV cache -> processors
// -> token choice -> stopping -> streamed text.
//
// Every step packs the new tokens of all live sequences back to back (prefill chunks and
// single decode tokens together, no padding) within GeneratorOptions::max_batch_tokens. Each
// sequence keeps its own resolved config, processors, RNG stream (seed, step) and text, so the
// batch a request lands in never changes its tokens.
#include <algorithm>
#include <chrono>
#include <deque>

#include "core/error.h"
#include "core/thread_pool.h"
#include "deepfuse/generation.h"
#include "engine/logits_processors.h"
#include "engine/sampler.h"
#include "engine/text_stream.h"
#include "models/causal_lm.h"

namespace deepfuse {
namespace {

using Clock = std::chrono::steady_clock;

struct Sequence {
  size_t index = 0;  // into requests / results
  GenerationRequest* req = nullptr;
  engine::ResolvedConfig rc;
  std::vector<int32_t> ids;  // prompt + generated
  std::vector<int32_t> block_table;
  int64_t cached = 0;  // tokens already in the KV cache
  std::unique_ptr<engine::TextStream> text;
  GenerationResult result;
  bool done = false;

  int64_t prompt_len() const { return rc.prompt_len; }
  std::vector<int32_t> generated() const { return {ids.begin() + rc.prompt_len, ids.end()}; }
};

void emit(Sequence& s, bool final) {
  if (!s.req->on_text) return;
  std::string d = s.text->take_delta(final);
  if (!d.empty()) s.req->on_text(d);
}

void finish(Sequence& s, const std::string& reason) {
  s.done = true;
  auto gen = s.generated();
  s.text->finish(gen);
  s.result.ids = std::move(gen);
  s.result.text = s.text->text();
  s.result.stop_string = s.text->matched_stop();
  s.result.finish_reason = reason;
}

// Chooses the next token of `s` from its logits row (modified in place) and updates its state.
void step_sequence(Sequence& s, std::span<float> row) {
  GenerationState st;
  st.ids = s.ids;
  st.prompt_len = s.rc.prompt_len;
  st.text = s.text->text();
  std::vector<int32_t> cand;
  engine::process_scores(s.rc, st, s.req->logits_processors, row, &cand);
  const int64_t step = static_cast<int64_t>(s.ids.size()) - s.rc.prompt_len;
  const int32_t tok = engine::choose_token(
      s.rc.sample, row, cand, engine::uniform01(s.rc.seed, static_cast<uint64_t>(step)));
  if (s.rc.logprobs) s.result.tokens.push_back(engine::token_logprobs(row, tok, s.rc.top_logprobs));
  s.ids.push_back(tok);
  const bool is_eos = std::find(s.rc.eos.begin(), s.rc.eos.end(), tok) != s.rc.eos.end();
  const bool stop_string = s.text->update(s.generated());
  bool criterion = false;
  if (!s.req->stopping_criteria.empty()) {
    GenerationState after;
    after.ids = s.ids;
    after.prompt_len = s.rc.prompt_len;
    after.text = s.text->text();
    for (const auto& c : s.req->stopping_criteria) criterion = c->should_stop(after) || criterion;
  }
  const int64_t n_gen = static_cast<int64_t>(s.ids.size()) - s.rc.prompt_len;
  if (is_eos || stop_string || criterion)
    finish(s, "stop");
  else if (n_gen >= s.rc.max_new_tokens)
    finish(s, "length");
}

}  // namespace

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
  // Everything this call touches lives here (sequences, KV cache, statistics): concurrent
  // calls on one Generator share only the model and the options.
  const auto start = Clock::now();
  const ModelInfo& info = model_.info();
  const int64_t vocab = info.vocab_size;
  const int32_t bs = options_.kv_block_size;

  // Resolve and validate everything before touching the model: a bad request fails the call.
  std::vector<Sequence> seqs(requests.size());
  int64_t total_blocks = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    auto& r = requests[i];
    DF_CHECK(!r.prompt_ids.empty(), InvalidArgument,
             "request " << i << ": prompt_ids is empty (at least one token, e.g. BOS, is needed)");
    for (int32_t id : r.prompt_ids)
      DF_CHECK(id >= 0 && id < vocab, InvalidArgument,
               "request " << i << ": prompt token id " << id << " is outside the vocabulary [0, "
                          << vocab << ")");
    Sequence& s = seqs[i];
    s.index = i;
    s.req = &r;
    s.rc = engine::resolve_config(r.config, static_cast<int64_t>(r.prompt_ids.size()), vocab,
                                  info.max_positions);
    DF_CHECK(s.rc.stop_strings.empty() || text_, InvalidArgument,
             "stop_strings need a tokenizer (no TokenTextSource was given)");
    s.ids = r.prompt_ids;
    s.result.stats.prompt_tokens = static_cast<int64_t>(r.prompt_ids.size());
    s.text = std::make_unique<engine::TextStream>(text_.get(), s.rc.stop_strings, r.prompt_ids);
    total_blocks += (s.rc.max_length + bs - 1) / bs;
  }
  for (auto& s : seqs)
    if (s.rc.max_new_tokens == 0) finish(s, "length");

  // One block pool sized for every request's worst case: admission never waits on memory.
  KVCache cache(model_.kv_layout(), bs, static_cast<int32_t>(std::max<int64_t>(total_blocks, 1)));
  std::deque<Sequence*> waiting;
  for (auto& s : seqs)
    if (!s.done) waiting.push_back(&s);
  std::vector<Sequence*> running;

  while (!waiting.empty() || !running.empty()) {
    // Build one ragged step: decode tokens of running sequences first, then prefill chunks.
    ForwardBatch batch;
    std::vector<Sequence*> in_batch;
    std::vector<Sequence*> with_logits;
    int64_t budget = options_.max_batch_tokens;
    auto add = [&](Sequence* s, int64_t n) {
      SequenceSlice sl;
      sl.token_begin = batch.num_tokens();
      sl.num_tokens = static_cast<int32_t>(n);
      sl.context_len = static_cast<int32_t>(s->cached);
      cache.reserve(s->block_table, s->cached + n);
      sl.block_table = s->block_table;
      for (int64_t k = 0; k < n; ++k) {
        batch.tokens.push_back(s->ids[static_cast<size_t>(s->cached + k)]);
        batch.positions.push_back(static_cast<int32_t>(s->cached + k));
      }
      batch.seqs.push_back(std::move(sl));
      in_batch.push_back(s);
      s->cached += n;
      if (s->cached == static_cast<int64_t>(s->ids.size())) {
        batch.logit_rows.push_back(batch.num_tokens() - 1);
        with_logits.push_back(s);
      }
      budget -= n;
    };
    for (Sequence* s : running) add(s, static_cast<int64_t>(s->ids.size()) - s->cached);
    while (!waiting.empty() && (budget > 0 || in_batch.empty())) {
      Sequence* s = waiting.front();
      const int64_t remaining = static_cast<int64_t>(s->ids.size()) - s->cached;
      const int64_t n = std::min(remaining, std::max<int64_t>(budget, 1));
      add(s, n);
      if (s->cached == static_cast<int64_t>(s->ids.size())) {
        waiting.pop_front();
        running.push_back(s);
      } else {
        break;  // chunked prefill continues next step
      }
    }

    const auto t0 = Clock::now();
    Tensor logits = model_.forward(batch, cache);
    if (logits.device() != Device::CPU) logits = logits.to_device(Device::CPU);
    const auto t1 = Clock::now();
    DF_CHECK(logits.dtype() == DType::F32 && logits.ndim() == 2 &&
                 logits.dim(0) == static_cast<int64_t>(with_logits.size()) &&
                 logits.dim(1) == vocab,
             InternalError,
             "model forward returned " << logits.describe() << ", expected float32["
                                       << with_logits.size() << ", " << vocab << "]");
    float* base = logits.data<float>();
    // Sequences are independent (own RNG stream, processors, text): parallel over them.
    ThreadPool::current().parallel_for(
        static_cast<int64_t>(with_logits.size()), 1, [&](int64_t b, int64_t e) {
          for (int64_t r = b; r < e; ++r)
            step_sequence(*with_logits[static_cast<size_t>(r)],
                          std::span<float>(base + r * vocab, static_cast<size_t>(vocab)));
        });
    // Streaming callbacks run here, on the caller's thread, in request order.
    for (Sequence* s : with_logits) emit(*s, s->done);
    const auto t2 = Clock::now();
    const double forward_s = std::chrono::duration<double>(t1 - t0).count();
    const double sampling_s = std::chrono::duration<double>(t2 - t1).count();
    for (Sequence* s : in_batch) {
      s->result.stats.steps += 1;
      s->result.stats.forward_seconds += forward_s;
    }
    for (Sequence* s : with_logits) {
      GenerationStats& st = s->result.stats;
      st.sampling_seconds += sampling_s;
      if (st.first_token_seconds == 0)
        st.first_token_seconds = std::chrono::duration<double>(t2 - start).count();
    }

    std::vector<Sequence*> still;
    for (Sequence* s : running) {
      if (s->done)
        cache.release(s->block_table);
      else
        still.push_back(s);
    }
    running = std::move(still);
  }

  std::vector<GenerationResult> out;
  out.reserve(seqs.size());
  for (auto& s : seqs) out.push_back(std::move(s.result));
  return out;
}

}  // namespace deepfuse
