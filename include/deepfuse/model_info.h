// Facts about a loaded model that callers need, independent of its family: what
// AutoModelForCausalLM / AutoModel report (include/deepfuse/auto_model.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "deepfuse/dtype.h"

namespace deepfuse {

// A loaded causal LM (AutoModelForCausalLM::info()).
struct ModelInfo {
  std::string architecture;    // config.json "architectures"[0], e.g. "LlamaForCausalLM"
  std::string model_type;      // config.json "model_type"
  int64_t vocab_size = 0;      // rows of the logits
  int64_t max_positions = 0;   // max_position_embeddings
  int64_t num_parameters = 0;  // tied embeddings counted once
  DType weight_dtype = DType::F32;
};

enum class Pooling { Cls, Mean };

// A loaded encoder (AutoModel / AutoModelForSequenceClassification::info()).
struct EncoderInfo {
  std::string architecture;
  std::string model_type;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t max_positions = 0;  // longest input (ids) the model accepts
  int64_t num_parameters = 0;
  Pooling pooling = Pooling::Cls;
  bool normalize = false;                   // L2-normalise pooled embeddings
  std::map<int64_t, std::string> id2label;  // empty for plain encoders
};

// The raw fields of a model folder's generation_config.json (what the loader's greedy helper
// needs). The engine's full, layered generation settings are deepfuse::GenerationConfig
// (include/deepfuse/generation.h), which parses the same file itself.
struct GenerationDefaults {
  std::optional<int64_t> bos_token_id;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> pad_token_id;
  bool do_sample = false;
  std::optional<double> temperature;
  std::optional<int64_t> top_k;
  std::optional<double> top_p;
  std::optional<double> repetition_penalty;
  std::optional<int64_t> max_new_tokens;
  std::optional<int64_t> max_length;
};

}  // namespace deepfuse
