#include "formats/hf_config.h"

#include "core/error.h"

namespace deepfuse {

using Json = nlohmann::json;

HFConfig HFConfig::load(const std::string& path) {
  return from_json(JsonFields::load_file(path), path);
}

HFConfig HFConfig::from_json(Json j, const std::string& path) {
  HFConfig c;
  c.path = path;
  c.raw = std::move(j);
  JsonFields f(c.raw, path);
  c.model_type = f.get_string("model_type", "");
  if (f.has("architectures")) {
    const Json& a = c.raw["architectures"];
    if (!a.is_array() || a.empty() || !a[0].is_string())
      throw FormatError(path + ": field 'architectures' must be a non-empty list of strings");
    c.architecture = a[0].get<std::string>();
  }
  if (c.architecture.empty() && c.model_type.empty())
    throw FormatError(path +
                      ": required field 'architectures' is missing (expected e.g. "
                      "[\"LlamaForCausalLM\"]) and there is no 'model_type' either");
  const std::string dkey = f.first_present({"dtype", "torch_dtype"});
  if (!dkey.empty()) c.dtype = dtype_from_string(f.get_string(dkey), path + ": " + dkey);
  return c;
}

RopeParams parse_rope_params(const JsonFields& cfg, double default_theta) {
  RopeParams r;
  r.theta = cfg.get_double("rope_theta", default_theta);
  r.partial_rotary_factor = cfg.get_double("partial_rotary_factor", 1.0);
  // transformers 5: rope_parameters holds theta and type; the Hub: rope_scaling (may be null).
  std::optional<JsonFields> p = cfg.get_object("rope_parameters");
  if (!p) p = cfg.get_object("rope_scaling");
  if (!p) return r;
  DF_CHECK(!p->has("full_attention") && !p->has("sliding_attention"), Unsupported,
           cfg.file() << ": rope_parameters holds per-layer-type RoPE settings "
                         "(full_attention / sliding_attention), which are not supported yet");
  const std::string tkey = p->first_present({"rope_type", "type"});
  r.type = tkey.empty() ? "default" : p->get_string(tkey);
  r.theta = p->get_double("rope_theta", r.theta);
  // Top-level partial_rotary_factor and original_max_position_embeddings win over the copies
  // inside rope_parameters / rope_scaling (transformers' standardisation of the two dialects).
  if (!cfg.has("partial_rotary_factor"))
    r.partial_rotary_factor = p->get_double("partial_rotary_factor", r.partial_rotary_factor);
  r.factor = p->get_double("factor", 1.0);
  r.low_freq_factor = p->get_double("low_freq_factor", r.low_freq_factor);
  r.high_freq_factor = p->get_double("high_freq_factor", r.high_freq_factor);
  r.original_max_position_embeddings = cfg.has("original_max_position_embeddings")
                                           ? cfg.get_int("original_max_position_embeddings")
                                           : p->get_int("original_max_position_embeddings", 0);
  r.beta_fast = p->get_double("beta_fast", r.beta_fast);
  r.beta_slow = p->get_double("beta_slow", r.beta_slow);
  if (p->has("attention_factor")) r.attention_factor = p->get_double("attention_factor");
  if (p->has("mscale")) r.mscale = p->get_double("mscale");
  if (p->has("mscale_all_dim")) r.mscale_all_dim = p->get_double("mscale_all_dim");
  r.truncate = p->get_bool("truncate", true);
  if (r.type == "llama3" || r.type == "yarn" || r.type == "linear" || r.type == "dynamic") {
    if (!p->has("factor"))
      throw FormatError(cfg.file() + ": rope type '" + r.type +
                        "' needs field 'factor' in rope_scaling / rope_parameters");
  }
  if (r.type == "llama3" && !(p->has("low_freq_factor") && p->has("high_freq_factor")))
    throw FormatError(cfg.file() +
                      ": rope type 'llama3' needs fields 'low_freq_factor' and 'high_freq_factor' "
                      "in rope_scaling / rope_parameters");
  return r;
}

LlamaConfig parse_llama_config(const HFConfig& hf, const LlamaVariant& v) {
  const JsonFields f = hf.fields();
  LlamaConfig c;
  c.vocab_size = f.get_int("vocab_size");
  c.hidden_size = f.get_int("hidden_size");
  c.intermediate_size = f.get_int("intermediate_size");
  c.num_layers = f.get_int("num_hidden_layers");
  c.num_heads = f.get_int("num_attention_heads");
  c.num_kv_heads = f.get_int("num_key_value_heads", c.num_heads);
  DF_CHECK(c.num_heads > 0 && c.num_kv_heads > 0 && c.num_heads % c.num_kv_heads == 0, FormatError,
           hf.path << ": num_attention_heads (" << c.num_heads
                   << ") must be a positive multiple of num_key_value_heads (" << c.num_kv_heads
                   << ")");
  c.head_dim = f.get_int("head_dim", c.hidden_size / c.num_heads);
  DF_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.intermediate_size > 0 && c.num_layers > 0 &&
               c.head_dim > 0,
           FormatError,
           hf.path << ": vocab_size, hidden_size, intermediate_size, num_hidden_layers and "
                      "head_dim must be positive");
  c.max_position_embeddings = f.get_int("max_position_embeddings", 2048);
  c.rms_norm_eps = f.get_double("rms_norm_eps", 1e-6);
  c.hidden_act = f.get_string("hidden_act", "silu");
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", false);
  c.attention_bias = v.qkv_bias || f.get_bool("attention_bias", false);
  c.o_bias = !v.qkv_bias && f.get_bool("attention_bias", false);
  c.mlp_bias = f.get_bool("mlp_bias", false);
  c.qk_norm = v.qk_norm;
  c.rope = parse_rope_params(f, 10000.0);
  c.eos_token_ids = f.get_int_list("eos_token_id");
  c.bos_token_id = f.get_opt_int("bos_token_id");

  std::optional<int64_t> window;
  if (v.sliding_window_always) window = f.get_opt_int("sliding_window");
  if (v.sliding_window_opt_in && f.get_bool("use_sliding_window", false))
    window = f.get_opt_int("sliding_window");
  if (window && *window > 0) {
    c.sliding_window = *window;
    c.sliding_layers.assign(static_cast<size_t>(c.num_layers), true);
    if (f.has("layer_types")) {
      const Json& lt = f.raw()["layer_types"];
      DF_CHECK(lt.is_array() && static_cast<int64_t>(lt.size()) == c.num_layers, FormatError,
               hf.path << ": 'layer_types' must list one entry per layer (" << c.num_layers << ")");
      for (size_t i = 0; i < lt.size(); ++i)
        c.sliding_layers[i] = lt[i].is_string() && lt[i].get<std::string>() == "sliding_attention";
    } else if (v.sliding_window_opt_in) {
      // Qwen2/3: layers below max_window_layers use full attention.
      const int64_t mwl = f.get_int("max_window_layers", 0);
      for (int64_t i = 0; i < c.num_layers && i < mwl; ++i)
        c.sliding_layers[static_cast<size_t>(i)] = false;
    }
  }
  return c;
}

Gpt2Config parse_gpt2_config(const HFConfig& hf) {
  const JsonFields f = hf.fields();
  Gpt2Config c;
  c.vocab_size = f.get_int("vocab_size");
  c.n_positions = f.get_int("n_positions");
  c.n_embd = f.get_int("n_embd");
  c.n_layer = f.get_int("n_layer");
  c.n_head = f.get_int("n_head");
  DF_CHECK(
      c.vocab_size > 0 && c.n_positions > 0 && c.n_embd > 0 && c.n_layer > 0 && c.n_head > 0 &&
          c.n_embd % c.n_head == 0,
      FormatError,
      hf.path << ": vocab_size, n_positions, n_embd, n_layer, n_head must be positive and n_embd "
                 "a multiple of n_head");
  c.n_inner = f.get_int("n_inner", 4 * c.n_embd);
  c.layer_norm_epsilon = f.get_double("layer_norm_epsilon", 1e-5);
  c.activation = f.get_string("activation_function", "gelu_new");
  c.scale_attn_weights = f.get_bool("scale_attn_weights", true);
  c.scale_attn_by_inverse_layer_idx = f.get_bool("scale_attn_by_inverse_layer_idx", false);
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", true);
  c.eos_token_ids = f.get_int_list("eos_token_id");
  c.bos_token_id = f.get_opt_int("bos_token_id");
  return c;
}

namespace {

void parse_labels(const JsonFields& f, EncoderConfig* c) {
  if (f.has("id2label")) {
    const Json& m = f.raw()["id2label"];
    DF_CHECK(m.is_object(), FormatError,
             f.file() << ": 'id2label' must be an object {\"0\": label}");
    for (auto it = m.begin(); it != m.end(); ++it) {
      int64_t id = 0;
      try {
        size_t used = 0;
        id = std::stoll(it.key(), &used);
        if (used != it.key().size()) throw std::invalid_argument("trailing");
      } catch (const std::exception&) {
        throw FormatError(f.file() + ": id2label key '" + it.key() + "' is not an integer");
      }
      DF_CHECK(it.value().is_string(), FormatError,
               f.file() << ": id2label['" << it.key() << "'] must be a string");
      c->id2label[id] = it.value().get<std::string>();
    }
  }
  c->problem_type = f.get_string("problem_type", "");
}

void check_encoder(const EncoderConfig& c, const std::string& path) {
  DF_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.num_layers > 0 && c.num_heads > 0 &&
               c.hidden_size % c.num_heads == 0 && c.intermediate_size > 0,
           FormatError,
           path << ": encoder sizes must be positive and hidden size a multiple of the head count");
}

}  // namespace

EncoderConfig parse_bert_config(const HFConfig& hf) {
  const JsonFields f = hf.fields();
  EncoderConfig c;
  c.vocab_size = f.get_int("vocab_size");
  c.hidden_size = f.get_int("hidden_size");
  c.num_layers = f.get_int("num_hidden_layers");
  c.num_heads = f.get_int("num_attention_heads");
  c.intermediate_size = f.get_int("intermediate_size");
  c.hidden_act = f.get_string("hidden_act", "gelu");
  c.max_position_embeddings = f.get_int("max_position_embeddings", 512);
  c.type_vocab_size = f.get_int("type_vocab_size", 2);
  c.layer_norm_eps = f.get_double("layer_norm_eps", 1e-12);
  c.pad_token_id = f.get_int("pad_token_id", 0);
  c.roberta_positions = hf.model_type == "xlm-roberta" || hf.model_type == "roberta";
  const std::string pet = f.get_string("position_embedding_type", "absolute");
  DF_CHECK(
      pet == "absolute", Unsupported,
      hf.path << ": position_embedding_type '" << pet << "' is not supported (expected absolute)");
  parse_labels(f, &c);
  check_encoder(c, hf.path);
  return c;
}

EncoderConfig parse_distilbert_config(const HFConfig& hf) {
  const JsonFields f = hf.fields();
  EncoderConfig c;
  c.vocab_size = f.get_int("vocab_size");
  c.hidden_size = f.get_int("dim");
  c.num_layers = f.get_int("n_layers");
  c.num_heads = f.get_int("n_heads");
  c.intermediate_size = f.get_int("hidden_dim");
  c.hidden_act = f.get_string("activation", "gelu");
  c.max_position_embeddings = f.get_int("max_position_embeddings", 512);
  c.type_vocab_size = 0;
  c.layer_norm_eps = 1e-12;  // fixed in DistilBERT
  c.pad_token_id = f.get_int("pad_token_id", 0);
  c.sinusoidal_positions = f.get_bool("sinusoidal_pos_embds", false);
  parse_labels(f, &c);
  check_encoder(c, hf.path);
  return c;
}

GenerationDefaults load_generation_defaults(const std::string& path) {
  return generation_defaults_from_json(JsonFields::load_file(path), path);
}

GenerationDefaults generation_defaults_from_json(const Json& j, const std::string& path) {
  const JsonFields f(j, path);
  GenerationDefaults g;
  g.bos_token_id = f.get_opt_int("bos_token_id");
  g.eos_token_ids = f.get_int_list("eos_token_id");
  g.pad_token_id = f.get_opt_int("pad_token_id");
  g.do_sample = f.get_bool("do_sample", false);
  if (f.has("temperature")) g.temperature = f.get_double("temperature");
  g.top_k = f.get_opt_int("top_k");
  if (f.has("top_p")) g.top_p = f.get_double("top_p");
  if (f.has("repetition_penalty")) g.repetition_penalty = f.get_double("repetition_penalty");
  g.max_new_tokens = f.get_opt_int("max_new_tokens");
  g.max_length = f.get_opt_int("max_length");
  return g;
}

}  // namespace deepfuse
