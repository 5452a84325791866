// deepfuse C++ API for models, shaped like Hugging Face transformers:
//
//   auto lm = deepfuse::AutoModelForCausalLM::from_pretrained("models/qwen2", {.dtype = "auto"});
//   deepfuse::Tensor logits = lm.forward({1, 2, 3});           // [3, vocab] f32
//   std::vector<int32_t> out = lm.generate({1, 2, 3}, 24);     // greedy, new tokens only
//
//   auto enc = deepfuse::AutoModel::from_pretrained("models/minilm");
//   std::vector<float> e = enc.embed(ids);                     // pooled as modules.json says
//
//   auto clf = deepfuse::AutoModelForSequenceClassification::from_pretrained("models/sst2");
//   deepfuse::Classification c = clf.classify(ids);            // {label, score, ...}
//
// Errors are deepfuse exceptions (deepfuse/error.h): NotFound (no folder / config / weights),
// FormatError (a malformed file, a missing tensor or a wrong shape, naming it), Unsupported
// (an architecture not in the registry, listing those that are).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deepfuse/error.h"
#include "deepfuse/model_info.h"
#include "deepfuse/tensor.h"

namespace deepfuse {

// The model interfaces and the paged KV cache are internal (src/models/, src/core/); the API
// hands them out only by reference or pointer, to pass on to Generator (deepfuse/generation.h).
class CausalLM;
class EncoderModel;
class KVCache;

struct ModelOptions {
  // Weight dtype: "auto" keeps the checkpoint's (memory-mapped, no copy); "float32",
  // "bfloat16" or "float16" converts once at load. Activations are f32.
  std::string dtype = "auto";
  std::string device = "cpu";  // "cpu" ("cuda" once the CUDA backend lands)
  // No thread count: loading never touches thread pools. Forward runs on the calling thread's
  // pool (the process pool, or one the caller installs for its requests; core/thread_pool.h).
};

// Loads the causal LM of a model folder through the registry (no tokenizer needed).
std::unique_ptr<CausalLM> load_causal_lm(const std::string& dir, const ModelOptions& opts = {});
std::unique_ptr<EncoderModel> load_encoder(const std::string& dir, const ModelOptions& opts = {});

class AutoModelForCausalLM {
 public:
  static AutoModelForCausalLM from_pretrained(const std::string& dir,
                                              const ModelOptions& opts = {});

  const ModelInfo& info() const;
  CausalLM& model() { return *model_; }
  const GenerationDefaults& generation_config() const { return gen_; }

  // Logits at every position of `ids` (one prefill over a fresh cache): f32 [ids.size(), vocab].
  Tensor forward(const std::vector<int32_t>& ids);
  // Greedy decoding: up to `max_new_tokens` new ids (the prompt not included), stopping after
  // an end-of-sequence id of generation_config.json when `stop_at_eos`. Argmax ties go to the
  // lowest id, as torch.argmax.
  std::vector<int32_t> generate(const std::vector<int32_t>& ids, int max_new_tokens,
                                bool stop_at_eos = true);
  // A KV cache holding `max_tokens` tokens (blocks of 16) for this model (for code that also
  // uses the internal model headers to run CausalLM::forward itself).
  std::unique_ptr<KVCache> make_cache(int64_t max_tokens) const;

 private:
  std::shared_ptr<CausalLM> model_;
  GenerationDefaults gen_;
};

class AutoModel {
 public:
  static AutoModel from_pretrained(const std::string& dir, const ModelOptions& opts = {});
  const EncoderInfo& info() const;
  EncoderModel& model() { return *model_; }
  // Last hidden states [ids.size(), hidden].
  Tensor encode(const std::vector<int32_t>& ids);
  // Pooled (and normalised when configured) sentence embedding [hidden].
  std::vector<float> embed(const std::vector<int32_t>& ids);

 private:
  std::shared_ptr<EncoderModel> model_;
};

struct Classification {
  int64_t label_id = 0;
  std::string label;          // id2label[label_id], or "LABEL_<id>"
  float score = 0.f;          // softmax probability of label_id
  std::vector<float> logits;  // [num_labels]
};

class AutoModelForSequenceClassification {
 public:
  static AutoModelForSequenceClassification from_pretrained(const std::string& dir,
                                                            const ModelOptions& opts = {});
  const EncoderInfo& info() const;
  Classification classify(const std::vector<int32_t>& ids);

 private:
  std::shared_ptr<EncoderModel> model_;
};

}  // namespace deepfuse
