// Hugging Face config files -> typed configs.
//
// Two dialects load (DESIGN.md): the Hub's (`rope_theta` + `rope_scaling`, `torch_dtype`) and
// the one transformers 5 writes (`rope_parameters` holding rope_theta and the scaling type,
// `dtype`). Unknown fields are ignored; a missing required field is a FormatError naming it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "deepfuse/model_info.h"  // GenerationDefaults
#include "formats/json_fields.h"

namespace deepfuse {

// config.json as loaded, with the facts every family shares.
struct HFConfig {
  std::string path;            // config.json path (for messages)
  nlohmann::json raw;          // the whole file
  std::string architecture;    // "architectures"[0] (or derived from model_type when absent)
  std::string model_type;      // "model_type" ("" when absent)
  std::optional<DType> dtype;  // "dtype" (transformers 5) or "torch_dtype" (Hub)

  static HFConfig load(const std::string& path);
  static HFConfig from_json(nlohmann::json j, const std::string& path);
  JsonFields fields() const { return JsonFields(raw, path); }
};

// Rotary embedding parameters, normalised across dialects. `type` is HF's rope_type:
// default, linear, dynamic, llama3, yarn (others are kept so the model can reject them).
struct RopeParams {
  std::string type = "default";
  double theta = 10000.0;
  double factor = 1.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // llama3, yarn, dynamic: the pre-scaling context length (0: use max_position_embeddings)
  int64_t original_max_position_embeddings = 0;
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  std::optional<double> attention_factor;
  std::optional<double> mscale;
  std::optional<double> mscale_all_dim;
  bool truncate = true;
  double partial_rotary_factor = 1.0;
};
// Reads rope_parameters / rope_scaling / rope_theta from a config.
RopeParams parse_rope_params(const JsonFields& cfg, double default_theta = 10000.0);

// Llama / Qwen2 / Qwen3 / Mistral: one decoder with switches.
struct LlamaConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;
  int64_t max_position_embeddings = 2048;
  double rms_norm_eps = 1e-6;
  std::string hidden_act = "silu";
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // bias on q/k/v (and o when o_bias)
  bool o_bias = false;
  bool mlp_bias = false;
  bool qk_norm = false;        // Qwen3: RMSNorm over each head of q and k before RoPE
  int64_t sliding_window = 0;  // 0: full attention
  // Layers using sliding-window attention (size num_layers); empty when sliding_window == 0.
  std::vector<bool> sliding_layers;
  RopeParams rope;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id;
};

// Per-family defaults that differ between architectures sharing LlamaConfig; chosen by the
// registry line of each architecture.
struct LlamaVariant {
  bool qkv_bias = false;               // Qwen2: q/k/v always carry a bias
  bool qk_norm = false;                // Qwen3
  bool sliding_window_always = false;  // Mistral: sliding_window applies when set
  bool sliding_window_opt_in = false;  // Qwen2/3: only with use_sliding_window
};
LlamaConfig parse_llama_config(const HFConfig& cfg, const LlamaVariant& variant);

struct Gpt2Config {
  int64_t vocab_size = 0;
  int64_t n_positions = 0;
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_inner = 0;
  double layer_norm_epsilon = 1e-5;
  std::string activation = "gelu_new";
  bool scale_attn_weights = true;
  bool scale_attn_by_inverse_layer_idx = false;
  bool tie_word_embeddings = true;
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id;
};
Gpt2Config parse_gpt2_config(const HFConfig& cfg);

// BERT / DistilBERT / XLM-RoBERTa encoders in one shape.
struct EncoderConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate_size = 0;
  std::string hidden_act = "gelu";
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 0;  // 0: no token-type embeddings (DistilBERT)
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  // RoBERTa-style position ids start at pad_token_id + 1 and skip padding.
  bool roberta_positions = false;
  bool sinusoidal_positions = false;  // DistilBERT option (unsupported)
  std::map<int64_t, std::string> id2label;
  std::string problem_type;
};
EncoderConfig parse_bert_config(const HFConfig& cfg);  // BERT, XLM-R (roberta positions)
EncoderConfig parse_distilbert_config(const HFConfig& cfg);

// Reads generation_config.json (GenerationDefaults: include/deepfuse/model_info.h).
GenerationDefaults load_generation_defaults(const std::string& path);
GenerationDefaults generation_defaults_from_json(const nlohmann::json& j, const std::string& path);

}  // namespace deepfuse
