#include "formats/deepseek_config.h"

#include <cmath>
#include <sstream>

#include "core/error.h"

namespace deepfuse {

double deepseek_yarn_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

bool DeepseekConfig::is_moe_layer(int64_t i) const {
  return n_routed_experts > 0 && i >= first_k_dense_replace && i % moe_layer_freq == 0;
}

double DeepseekConfig::softmax_scale() const {
  double s = 1.0 / std::sqrt(static_cast<double>(qk_head_dim()));
  // transformers: when rope scaling is configured and mscale_all_dim is non-zero, the scale is
  // multiplied by yarn_get_mscale(factor, mscale_all_dim) squared.
  if (rope.type != "default" && rope.mscale_all_dim && *rope.mscale_all_dim != 0.0) {
    const double m = deepseek_yarn_mscale(rope.factor, *rope.mscale_all_dim);
    s *= m * m;
  }
  return s;
}

std::vector<std::string> DeepseekConfig::notes() const {
  std::vector<std::string> out;
  std::ostringstream kv;
  kv << "MLA latent KV cache: " << kv_cache_width() << " values per token per layer (kv_lora_rank "
     << kv_lora_rank << " + qk_rope_head_dim " << qk_rope_head_dim << "), vs "
     << 2 * num_heads * (qk_head_dim() > v_head_dim ? qk_head_dim() : v_head_dim)
     << " for expanded multi-head K/V";
  out.push_back(kv.str());
  if (num_nextn_predict_layers > 0) {
    std::ostringstream m;
    m << "MTP: " << num_nextn_predict_layers << " multi-token-prediction layer(s) (model.layers."
      << num_layers << ".*) are present in the checkpoint and skipped (not used for decoding)";
    out.push_back(m.str());
  }
  if (fp8.enabled) {
    std::ostringstream f;
    f << "FP8 e4m3 weights with " << fp8.block_rows << "x" << fp8.block_cols
      << " block scales: dequantised once at load on the CPU";
    out.push_back(f.str());
  }
  return out;
}

DeepseekConfig parse_deepseek_config(const HFConfig& hf) {
  const JsonFields f = hf.fields();
  DeepseekConfig c;
  c.is_v3 = hf.architecture == "DeepseekV3ForCausalLM" || hf.model_type == "deepseek_v3";
  c.vocab_size = f.get_int("vocab_size");
  c.hidden_size = f.get_int("hidden_size");
  c.intermediate_size = f.get_int("intermediate_size");
  c.num_layers = f.get_int("num_hidden_layers");
  c.num_heads = f.get_int("num_attention_heads");
  c.max_position_embeddings = f.get_int("max_position_embeddings", 2048);
  c.rms_norm_eps = f.get_double("rms_norm_eps", 1e-6);
  c.hidden_act = f.get_string("hidden_act", "silu");
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", false);
  c.attention_bias = f.get_bool("attention_bias", false);

  c.q_lora_rank = f.has("q_lora_rank") ? f.get_int("q_lora_rank") : 0;
  c.kv_lora_rank = f.get_int("kv_lora_rank");
  c.qk_nope_head_dim = f.get_int("qk_nope_head_dim");
  c.qk_rope_head_dim = f.get_int("qk_rope_head_dim");
  c.v_head_dim = f.get_int("v_head_dim");

  c.n_routed_experts = f.has("n_routed_experts") ? f.get_int("n_routed_experts") : 0;
  c.n_shared_experts = f.has("n_shared_experts") ? f.get_int("n_shared_experts") : 0;
  c.num_experts_per_tok = f.has("num_experts_per_tok") ? f.get_int("num_experts_per_tok") : 0;
  c.moe_intermediate_size = f.get_int("moe_intermediate_size", 0);
  c.first_k_dense_replace = f.get_int("first_k_dense_replace", 0);
  c.moe_layer_freq = f.get_int("moe_layer_freq", 1);
  c.scoring_func = f.get_string("scoring_func", c.is_v3 ? "sigmoid" : "softmax");
  c.topk_method = f.get_string("topk_method", c.is_v3 ? "noaux_tc" : "greedy");
  c.n_group = f.has("n_group") ? f.get_int("n_group") : 1;
  c.topk_group = f.has("topk_group") ? f.get_int("topk_group") : 1;
  c.norm_topk_prob = f.get_bool("norm_topk_prob", false);
  c.routed_scaling_factor = f.get_double("routed_scaling_factor", 1.0);
  c.num_nextn_predict_layers = f.get_int("num_nextn_predict_layers", 0);
  c.rope_interleave = f.get_bool("rope_interleave", true);
  c.rope = parse_rope_params(f, 10000.0);

  const std::string& p = hf.path;
  DF_CHECK(c.vocab_size > 0 && c.hidden_size > 0 && c.num_layers > 0 && c.num_heads > 0 &&
               c.intermediate_size > 0,
           FormatError,
           p << ": vocab_size, hidden_size, intermediate_size, num_hidden_layers and "
                "num_attention_heads must be positive");
  DF_CHECK(c.kv_lora_rank > 0 && c.qk_nope_head_dim >= 0 && c.qk_rope_head_dim > 0 &&
               c.qk_rope_head_dim % 2 == 0 && c.v_head_dim > 0 && c.q_lora_rank >= 0,
           FormatError,
           p << ": MLA dimensions must be positive (kv_lora_rank " << c.kv_lora_rank
             << ", qk_rope_head_dim " << c.qk_rope_head_dim << " (even), v_head_dim "
             << c.v_head_dim << ", q_lora_rank " << c.q_lora_rank << ")");
  DF_CHECK(c.moe_layer_freq > 0, FormatError,
           p << ": moe_layer_freq must be >= 1, got " << c.moe_layer_freq);
  DF_CHECK(c.first_k_dense_replace >= 0, FormatError,
           p << ": first_k_dense_replace must be >= 0, got " << c.first_k_dense_replace);
  DF_CHECK(c.num_nextn_predict_layers >= 0, FormatError,
           p << ": num_nextn_predict_layers must be >= 0");
  if (c.n_routed_experts > 0) {
    DF_CHECK(c.moe_intermediate_size > 0 && c.num_experts_per_tok > 0 &&
                 c.num_experts_per_tok <= c.n_routed_experts && c.n_shared_experts >= 0,
             FormatError,
             p << ": MoE needs moe_intermediate_size > 0 and 0 < num_experts_per_tok ("
               << c.num_experts_per_tok << ") <= n_routed_experts (" << c.n_routed_experts << ")");
    DF_CHECK(c.scoring_func == "softmax" || c.scoring_func == "sigmoid", Unsupported,
             p << ": scoring_func '" << c.scoring_func << "' is not supported (softmax, sigmoid)");
    DF_CHECK(c.topk_method == "greedy" || c.topk_method == "group_limited_greedy" ||
                 c.topk_method == "noaux_tc",
             Unsupported,
             p << ": topk_method '" << c.topk_method
               << "' is not supported (greedy, group_limited_greedy, noaux_tc)");
    if (c.topk_method != "greedy" || c.is_v3) {
      DF_CHECK(c.n_group > 0 && c.n_routed_experts % c.n_group == 0 && c.topk_group > 0 &&
                   c.topk_group <= c.n_group,
               FormatError,
               p << ": n_group (" << c.n_group << ") must divide n_routed_experts ("
                 << c.n_routed_experts << ") and 0 < topk_group (" << c.topk_group
                 << ") <= n_group");
      DF_CHECK(c.num_experts_per_tok <= c.topk_group * (c.n_routed_experts / c.n_group),
               FormatError,
               p << ": num_experts_per_tok (" << c.num_experts_per_tok
                 << ") exceeds the experts in topk_group groups");
    }
  }
  DF_CHECK(
      c.rope.type == "default" || c.rope.type == "yarn", Unsupported,
      p << ": rope type '" << c.rope.type << "' is not supported for DeepSeek (default, yarn)");
  if (auto q = f.get_object("quantization_config")) {
    const std::string method = q->get_string("quant_method", "");
    DF_CHECK(method == "fp8", Unsupported,
             p << ": quantization_config.quant_method '" << method
               << "' is not supported (expected fp8 with 128x128 blocks)");
    const std::string fmt = q->get_string("fmt", "e4m3");
    DF_CHECK(fmt == "e4m3", Unsupported,
             p << ": quantization_config.fmt '" << fmt << "' is not supported (expected e4m3)");
    c.fp8.enabled = true;
    if (q->has("weight_block_size")) {
      const auto& b = q->json()["weight_block_size"];
      DF_CHECK(b.is_array() && b.size() == 2 && b[0].is_number_integer() &&
                   b[1].is_number_integer() && b[0].get<int64_t>() > 0 && b[1].get<int64_t>() > 0,
               FormatError,
               p << ": quantization_config.weight_block_size must be two positive integers");
      c.fp8.block_rows = b[0].get<int64_t>();
      c.fp8.block_cols = b[1].get<int64_t>();
    }
  }
  return c;
}

}  // namespace deepfuse
