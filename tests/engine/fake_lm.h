// Test doubles for the generation engine: a deterministic CausalLM that really uses the paged
// KV cache (it stores each token id in its slot and reads the whole context back through the
// block table), and a byte-level vocabulary with a lossy UTF-8 decode like HF tokenizers.
#pragma once

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "deepfuse/generation.h"
#include "models/causal_lm.h"

namespace deepfuse::test {

// Vocabulary of literal byte strings; id 0 is a special EOS with no text.
class FakeVocab : public TokenTextSource {
 public:
  explicit FakeVocab(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  std::string decode(const std::vector<int32_t>& ids) const override {
    std::string raw;
    for (int32_t id : ids) raw += pieces_.at(static_cast<size_t>(id));
    return lossy_utf8(raw);
  }
  int64_t vocab_size() const override { return static_cast<int64_t>(pieces_.size()); }
  std::string token_bytes(int32_t id) const override { return pieces_.at(static_cast<size_t>(id)); }
  const std::vector<std::string>& pieces() const { return pieces_; }
  int32_t id(const std::string& piece) const {
    for (size_t i = 0; i < pieces_.size(); ++i)
      if (pieces_[i] == piece) return static_cast<int32_t>(i);
    throw NotFound("no piece " + piece);
  }
  // Invalid or incomplete sequences become U+FFFD (what HF's decode does).
  static std::string lossy_utf8(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size();) {
      const unsigned char c = static_cast<unsigned char>(s[i]);
      size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
      bool ok = n > 0 && i + n <= s.size();
      for (size_t k = 1; ok && k < n; ++k)
        ok = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (!ok) {
        out += "\xEF\xBF\xBD";
        ++i;
        continue;
      }
      out.append(s, i, n);
      i += n;
    }
    return out;
  }

 private:
  std::vector<std::string> pieces_;
};

// Logits are a function of the full context (read back from the KV cache) only, so any
// batching or chunking mistake in the engine changes them.
class FakeLM : public CausalLM {
 public:
  using ScoreFn = std::function<void(const std::vector<int32_t>& context, float* logits)>;
  FakeLM(int64_t vocab, ScoreFn fn = nullptr, int64_t max_positions = 4096) : fn_(std::move(fn)) {
    info_.architecture = "FakeForCausalLM";
    info_.model_type = "fake";
    info_.vocab_size = vocab;
    info_.max_positions = max_positions;
  }
  const ModelInfo& info() const override { return info_; }
  std::vector<KVLayerSpec> kv_layout() const override { return {{1, DType::F32}}; }
  Tensor forward(const ForwardBatch& batch, KVCache& cache,
                 ForwardStats* /*stats*/ = nullptr) const override {
    ++calls_;
    max_batch_tokens_ = std::max<int64_t>(max_batch_tokens_, batch.num_tokens());
    for (const auto& s : batch.seqs)
      for (int32_t k = 0; k < s.num_tokens; ++k) {
        float v = static_cast<float>(batch.tokens[static_cast<size_t>(s.token_begin + k)]);
        std::memcpy(cache.slot(0, s.block_table, s.context_len + k), &v, sizeof(float));
        DF_CHECK(batch.positions[static_cast<size_t>(s.token_begin + k)] == s.context_len + k,
                 InternalError, "position mismatch");
      }
    const int64_t v = info_.vocab_size;
    Tensor out = Tensor::empty(DType::F32, Shape{static_cast<int64_t>(batch.logit_rows.size()), v});
    for (size_t r = 0; r < batch.logit_rows.size(); ++r) {
      const int32_t row = batch.logit_rows[r];
      const SequenceSlice* sl = nullptr;
      for (const auto& s : batch.seqs)
        if (row >= s.token_begin && row < s.token_begin + s.num_tokens) sl = &s;
      DF_CHECK(sl != nullptr, InternalError, "logit row outside every sequence");
      const int32_t upto = sl->context_len + (row - sl->token_begin);
      std::vector<int32_t> ctx;
      for (int32_t p = 0; p <= upto; ++p) {
        float f;
        std::memcpy(&f, cache.slot(0, sl->block_table, p), sizeof(float));
        ctx.push_back(static_cast<int32_t>(f));
      }
      float* lg = out.data<float>() + static_cast<int64_t>(r) * v;
      if (fn_) {
        fn_(ctx, lg);
      } else {
        hash_logits(ctx, v, lg);
      }
    }
    return out;
  }
  // Pseudo-random logits in [-4, 4] from a hash of the context.
  static void hash_logits(const std::vector<int32_t>& ctx, int64_t v, float* lg) {
    uint64_t h = 1469598103934665603ull;
    for (int32_t t : ctx) h = (h ^ static_cast<uint64_t>(t + 1)) * 1099511628211ull;
    for (int64_t i = 0; i < v; ++i) {
      uint64_t z = h + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(i + 1);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      lg[i] = static_cast<float>((z >> 11) * (1.0 / 9007199254740992.0)) * 8.0f - 4.0f;
    }
  }
  int64_t calls() const { return calls_; }
  int64_t max_batch_tokens() const { return max_batch_tokens_; }

 private:
  ModelInfo info_;
  ScoreFn fn_;
  // Test-only call counters (a FakeLM is driven by one thread at a time).
  mutable int64_t calls_ = 0;
  mutable int64_t max_batch_tokens_ = 0;
};

}  // namespace deepfuse::test
