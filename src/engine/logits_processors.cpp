// transformers' logits processors, one row at a time. Each function states the transformers
// class it mirrors; tests/engine/processors_test.cpp checks them against recorded outputs.
#include "engine/logits_processors.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "core/error.h"
#include "engine/nucleus.h"

namespace deepfuse::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// torch.softmax on the CPU (engine/nucleus.h: vectorised exp, double sum, divided).
void softmax_into(std::span<const float> x, std::vector<float>& p) {
  float mx = kNegInf;
  for (float v : x) mx = std::max(mx, v);
  softmax_probs(x, mx, p);
}

}  // namespace

// RepetitionPenaltyLogitsProcessor
void repetition_penalty(std::span<const int32_t> ids, float penalty, std::span<float> s) {
  if (penalty == 1.0f) return;
  std::vector<uint8_t> seen(s.size(), 0);
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= s.size() || seen[id]) continue;
    seen[id] = 1;
    float& v = s[id];
    v = v < 0 ? v * penalty : v / penalty;
  }
}

void presence_frequency_penalty(std::span<const int32_t> generated, float presence, float frequency,
                                std::span<float> s) {
  if (presence == 0 && frequency == 0) return;
  std::unordered_map<int32_t, int> counts;
  for (int32_t id : generated) ++counts[id];
  for (const auto& [id, n] : counts) {
    if (id < 0 || static_cast<size_t>(id) >= s.size()) continue;
    s[id] -= presence + frequency * static_cast<float>(n);
  }
}

// NoRepeatNGramLogitsProcessor
void no_repeat_ngram(std::span<const int32_t> ids, int64_t n, std::span<float> s) {
  const int64_t len = static_cast<int64_t>(ids.size());
  if (n <= 0 || len + 1 < n) return;
  // The last n-1 tokens; every earlier n-gram starting with them bans its last token.
  const int64_t pre = n - 1;
  for (int64_t start = 0; start + n <= len; ++start) {
    bool match = true;
    for (int64_t k = 0; k < pre && match; ++k) match = ids[start + k] == ids[len - pre + k];
    if (!match) continue;
    int32_t banned = ids[start + pre];
    if (banned >= 0 && static_cast<size_t>(banned) < s.size()) s[banned] = kNegInf;
  }
}

// NoBadWordsLogitsProcessor (SequenceBiasLogitsProcessor with -inf)
void no_bad_words(std::span<const int32_t> ids, const std::vector<std::vector<int32_t>>& bad,
                  const std::vector<int32_t>& eos, std::span<float> s) {
  const size_t len = ids.size();
  for (const auto& seq : bad) {
    if (seq.empty()) continue;
    if (seq.size() == 1 && std::find(eos.begin(), eos.end(), seq[0]) != eos.end()) continue;
    const int32_t last = seq.back();
    if (last < 0 || static_cast<size_t>(last) >= s.size()) continue;
    if (seq.size() == 1) {
      s[last] = kNegInf;
      continue;
    }
    if (seq.size() > len) continue;  // the prefix cannot fit in the context
    const size_t pre = seq.size() - 1;
    if (std::equal(seq.begin(), seq.begin() + static_cast<std::ptrdiff_t>(pre),
                   ids.end() - static_cast<std::ptrdiff_t>(pre)))
      s[last] = kNegInf;
  }
}

// MinLengthLogitsProcessor / MinNewTokensLengthLogitsProcessor
void mask_eos_below(int64_t cur_len, int64_t min_len, const std::vector<int32_t>& eos,
                    std::span<float> s) {
  if (cur_len >= min_len) return;
  for (int32_t e : eos)
    if (e >= 0 && static_cast<size_t>(e) < s.size()) s[e] = kNegInf;
}

// ForcedEOSTokenLogitsProcessor
void forced_eos(int64_t cur_len, int64_t max_length, const std::vector<int32_t>& eos,
                std::span<float> s) {
  if (cur_len != max_length - 1) return;
  std::fill(s.begin(), s.end(), kNegInf);
  for (int32_t e : eos)
    if (e >= 0 && static_cast<size_t>(e) < s.size()) s[e] = 0.0f;
}

// SuppressTokensLogitsProcessor
void suppress_tokens(const std::vector<int32_t>& tokens, std::span<float> s) {
  for (int32_t t : tokens)
    if (t >= 0 && static_cast<size_t>(t) < s.size()) s[t] = kNegInf;
}

void logit_bias(const std::map<int32_t, double>& bias, std::span<float> s) {
  for (const auto& [id, b] : bias)
    if (id >= 0 && static_cast<size_t>(id) < s.size()) s[id] += static_cast<float>(b);
}

// TemperatureLogitsWarper
void temperature(float t, std::span<float> s) {
  if (t == 1.0f) return;
  for (float& v : s) v /= t;
}

// TopKLogitsWarper: removes scores below the k-th largest (ties at the k-th value stay).
void top_k(int64_t k, std::span<float> s, int64_t min_keep) {
  if (k <= 0) return;
  k = std::min<int64_t>(std::max(k, min_keep), static_cast<int64_t>(s.size()));
  if (k == static_cast<int64_t>(s.size())) return;
  // k-th largest value with a size-k min-heap: one compare per score for most of a large
  // vocabulary (only scores above the current k-th enter the heap).
  std::vector<float> heap(s.begin(), s.begin() + k);
  std::make_heap(heap.begin(), heap.end(), std::greater<float>());
  for (size_t i = static_cast<size_t>(k); i < s.size(); ++i) {
    if (s[i] > heap.front()) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<float>());
      heap.back() = s[i];
      std::push_heap(heap.begin(), heap.end(), std::greater<float>());
    }
  }
  const float kth = heap.front();
  for (float& v : s)
    if (v < kth) v = kNegInf;
}

// TopPLogitsWarper without a full sort (engine/nucleus.h; same rows as the sorted definition).
void top_p(float p, std::span<float> s, int64_t min_keep) {
  top_p_fast(p, s, min_keep);
}

// MinPLogitsWarper: removes tokens whose probability < min_p * max probability.
void min_p(float p, std::span<float> s, int64_t min_keep) {
  if (p <= 0) return;
  std::vector<float> probs;
  softmax_into(s, probs);
  float top = 0;
  size_t arg = 0;
  for (size_t i = 0; i < probs.size(); ++i)
    if (probs[i] > top) top = probs[i], arg = i;
  const float scaled = p * top;
  if (min_keep > 1) {
    // Keep the `min_keep` best regardless (rarely used: transformers uses 1 for sampling).
    std::vector<int32_t> order(s.size());
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + std::min<int64_t>(min_keep, order.size()),
                      order.end(), [&](int32_t a, int32_t b) { return s[a] > s[b]; });
    std::vector<uint8_t> keep(s.size(), 0);
    for (int64_t i = 0; i < min_keep && i < static_cast<int64_t>(order.size()); ++i)
      keep[order[i]] = 1;
    for (size_t i = 0; i < s.size(); ++i)
      if (probs[i] < scaled && !keep[i]) s[i] = kNegInf;
    return;
  }
  for (size_t i = 0; i < s.size(); ++i)
    if (probs[i] < scaled && i != arg) s[i] = kNegInf;
}

// TypicalLogitsWarper (locally typical sampling), without a full sort (engine/nucleus.h).
void typical_p(float mass, std::span<float> s, int64_t min_keep) {
  typical_p_fast(mass, s, min_keep);
}

ResolvedConfig resolve_config(const GenerationConfig& c, int64_t prompt_len, int64_t vocab,
                              int64_t model_max) {
  c.validate(vocab);
  ResolvedConfig r;
  r.prompt_len = prompt_len;
  if (c.max_new_tokens) {
    r.max_new_tokens = *c.max_new_tokens;
  } else {
    const int64_t max_len = c.max_length ? *c.max_length : 20;
    r.max_new_tokens = std::max<int64_t>(0, max_len - prompt_len);
  }
  if (model_max > 0) {
    DF_CHECK(prompt_len < model_max || r.max_new_tokens == 0, InvalidArgument,
             "prompt has " << prompt_len << " tokens; the model takes at most " << model_max
                           << " positions");
    r.max_new_tokens = std::min(r.max_new_tokens, std::max<int64_t>(0, model_max - prompt_len));
  }
  r.max_length = prompt_len + r.max_new_tokens;
  r.min_new_tokens = c.min_new_tokens.value_or(0);
  r.min_length = c.min_length.value_or(0);
  r.temperature = static_cast<float>(c.temperature.value_or(1.0));
  r.top_k = c.top_k.value_or(50);
  r.top_p = static_cast<float>(c.top_p.value_or(1.0));
  r.min_p = static_cast<float>(c.min_p.value_or(0.0));
  r.typical_p = static_cast<float>(c.typical_p.value_or(1.0));
  r.sample = c.do_sample.value_or(false) && r.temperature > 0 && r.top_k != 1;
  r.repetition_penalty = static_cast<float>(c.repetition_penalty.value_or(1.0));
  r.presence_penalty = static_cast<float>(c.presence_penalty.value_or(0.0));
  r.frequency_penalty = static_cast<float>(c.frequency_penalty.value_or(0.0));
  r.no_repeat_ngram_size = c.no_repeat_ngram_size.value_or(0);
  if (c.bad_words_ids) r.bad_words_ids = *c.bad_words_ids;
  if (c.suppress_tokens) r.suppress_tokens = *c.suppress_tokens;
  if (c.eos_token_id) r.eos = *c.eos_token_id;
  r.forced_eos = c.forced_eos_token_id;
  if (c.logit_bias) r.logit_bias = *c.logit_bias;
  if (c.stop_strings) r.stop_strings = *c.stop_strings;
  r.seed = c.seed.value_or(0);
  r.logprobs = c.logprobs.value_or(false) || c.top_logprobs.value_or(0) > 0;
  r.top_logprobs = c.top_logprobs.value_or(0);
  return r;
}

void process_scores(const ResolvedConfig& rc, const GenerationState& st,
                    std::span<const std::shared_ptr<LogitsProcessor>> user, std::span<float> s,
                    std::vector<int32_t>* candidates) {
  if (candidates) candidates->clear();
  const int64_t cur_len = static_cast<int64_t>(st.ids.size());
  repetition_penalty(st.ids, rc.repetition_penalty, s);
  presence_frequency_penalty(st.ids.subspan(static_cast<size_t>(rc.prompt_len)),
                             rc.presence_penalty, rc.frequency_penalty, s);
  no_repeat_ngram(st.ids, rc.no_repeat_ngram_size, s);
  if (!rc.bad_words_ids.empty()) no_bad_words(st.ids, rc.bad_words_ids, rc.eos, s);
  if (rc.min_length > 0) mask_eos_below(cur_len, rc.min_length, rc.eos, s);
  if (rc.min_new_tokens > 0) mask_eos_below(cur_len - rc.prompt_len, rc.min_new_tokens, rc.eos, s);
  if (rc.forced_eos) forced_eos(cur_len, rc.max_length, {*rc.forced_eos}, s);
  suppress_tokens(rc.suppress_tokens, s);
  logit_bias(rc.logit_bias, s);
  for (const auto& p : user) p->process(st, s);
  if (!rc.sample) return;
  temperature(rc.temperature, s);
  top_k(rc.top_k, s);
  if (candidates && rc.top_k > 0 && static_cast<size_t>(rc.top_k) < s.size() / 4) {
    // After top-k only a few scores are finite: run the remaining warpers on those, in id
    // order (the warpers treat -inf as probability 0, so the result is the same) and hand the
    // survivors to the sampler instead of rescanning the whole vocabulary.
    candidates->clear();
    for (size_t i = 0; i < s.size(); ++i)
      if (s[i] != kNegInf) candidates->push_back(static_cast<int32_t>(i));
    std::vector<float> c(candidates->size());
    for (size_t i = 0; i < c.size(); ++i) c[i] = s[(*candidates)[i]];
    top_p(rc.top_p, c);
    min_p(rc.min_p, c);
    typical_p(rc.typical_p, c);
    for (size_t i = 0; i < c.size(); ++i) s[(*candidates)[i]] = c[i];
    return;
  }
  if (candidates) {
    // Without a small top-k, top_p often leaves a handful of tokens: it reports them, and the
    // remaining warpers and the sampler work on those alone, as after top-k.
    top_p_fast(rc.top_p, s, 1, candidates);
    if (!candidates->empty() && candidates->size() < s.size() / 4) {
      std::vector<float> c(candidates->size());
      for (size_t i = 0; i < c.size(); ++i) c[i] = s[(*candidates)[i]];
      min_p(rc.min_p, c);
      typical_p(rc.typical_p, c);
      for (size_t i = 0; i < c.size(); ++i) s[(*candidates)[i]] = c[i];
      return;
    }
    candidates->clear();
  } else {
    top_p(rc.top_p, s);
  }
  min_p(rc.min_p, s);
  typical_p(rc.typical_p, s);
}

}  // namespace deepfuse::engine
