// Llama-style decoders: LlamaForCausalLM, Qwen2ForCausalLM (q/k/v bias), Qwen3ForCausalLM
// (per-head q/k RMSNorm), MistralForCausalLM (sliding window). One implementation; the
// differences are config switches (formats/hf_config.h LlamaConfig + LlamaVariant).
//
// Per layer (pre-norm):  h = rms_norm(x); x += o(attn(rope(q(h)), rope(k(h)), v(h)))
//                        h = rms_norm(x); x += down(act(gate(h)) * up(h))
#include <cmath>
#include <memory>

#include "core/error.h"
#include "layers/rope.h"
#include "models/model_util.h"
#include "models/registry.h"
#include "ops/ops.h"

namespace deepfuse {
namespace {

std::string layer_name(int64_t i, const char* rest) {
  return "model.layers." + std::to_string(i) + "." + rest;
}

std::vector<TensorSpec> llama_tensors(const LlamaConfig& c) {
  const int64_t H = c.hidden_size, q_out = c.num_heads * c.head_dim,
                kv_out = c.num_kv_heads * c.head_dim, I = c.intermediate_size;
  std::vector<TensorSpec> t;
  t.push_back({"model.embed_tokens.weight", {c.vocab_size, H}});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    t.push_back({layer_name(i, "input_layernorm.weight"), {H}});
    t.push_back({layer_name(i, "self_attn.q_proj.weight"), {q_out, H}});
    t.push_back({layer_name(i, "self_attn.k_proj.weight"), {kv_out, H}});
    t.push_back({layer_name(i, "self_attn.v_proj.weight"), {kv_out, H}});
    t.push_back({layer_name(i, "self_attn.o_proj.weight"), {H, q_out}});
    if (c.attention_bias) {
      t.push_back({layer_name(i, "self_attn.q_proj.bias"), {q_out}});
      t.push_back({layer_name(i, "self_attn.k_proj.bias"), {kv_out}});
      t.push_back({layer_name(i, "self_attn.v_proj.bias"), {kv_out}});
    }
    if (c.o_bias) t.push_back({layer_name(i, "self_attn.o_proj.bias"), {H}});
    if (c.qk_norm) {
      t.push_back({layer_name(i, "self_attn.q_norm.weight"), {c.head_dim}});
      t.push_back({layer_name(i, "self_attn.k_norm.weight"), {c.head_dim}});
    }
    t.push_back({layer_name(i, "post_attention_layernorm.weight"), {H}});
    t.push_back({layer_name(i, "mlp.gate_proj.weight"), {I, H}});
    t.push_back({layer_name(i, "mlp.up_proj.weight"), {I, H}});
    t.push_back({layer_name(i, "mlp.down_proj.weight"), {H, I}});
    if (c.mlp_bias) {
      t.push_back({layer_name(i, "mlp.gate_proj.bias"), {I}});
      t.push_back({layer_name(i, "mlp.up_proj.bias"), {I}});
      t.push_back({layer_name(i, "mlp.down_proj.bias"), {H}});
    }
  }
  t.push_back({"model.norm.weight", {H}});
  t.push_back({"lm_head.weight", {c.vocab_size, H}, /*optional=*/c.tie_word_embeddings});
  return t;
}

class LlamaModel final : public CausalLM {
 public:
  LlamaModel(const ModelFolder& folder, const WeightStore& w, const LoadOptions& opts,
             const LlamaConfig& c)
      : c_(c) {
    const std::string where = w.source();
    validate_weights(w, llama_tensors(c), where);
    act_ = ops::activation_from_string(c.hidden_act);
    embed_ = load_weight(w, "model.embed_tokens.weight", opts);
    norm_ = load_weight(w, "model.norm.weight", opts);
    // Tied checkpoints may still store lm_head.weight; the config decides, like transformers.
    lm_head_ = c.tie_word_embeddings ? embed_ : load_weight(w, "lm_head.weight", opts);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      Layer L;
      auto get = [&](const char* n) { return load_weight(w, layer_name(i, n), opts); };
      auto opt = [&](const char* n) { return load_optional_weight(w, layer_name(i, n), opts); };
      L.in_norm = get("input_layernorm.weight");
      L.q = get("self_attn.q_proj.weight");
      L.k = get("self_attn.k_proj.weight");
      L.v = get("self_attn.v_proj.weight");
      L.o = get("self_attn.o_proj.weight");
      if (c.attention_bias) {
        L.q_b = get("self_attn.q_proj.bias");
        L.k_b = get("self_attn.k_proj.bias");
        L.v_b = get("self_attn.v_proj.bias");
      }
      if (c.o_bias) L.o_b = get("self_attn.o_proj.bias");
      if (c.qk_norm) {
        L.q_norm = get("self_attn.q_norm.weight");
        L.k_norm = get("self_attn.k_norm.weight");
      }
      L.post_norm = get("post_attention_layernorm.weight");
      L.gate = get("mlp.gate_proj.weight");
      L.up = get("mlp.up_proj.weight");
      L.down = get("mlp.down_proj.weight");
      L.gate_b = opt("mlp.gate_proj.bias");
      L.up_b = opt("mlp.up_proj.bias");
      L.down_b = opt("mlp.down_proj.bias");
      L.sliding = c.sliding_window > 0 && c.sliding_layers[static_cast<size_t>(i)];
      layers_.push_back(std::move(L));
    }
    // Dynamic NTK only changes frequencies beyond max_position_embeddings; positions are capped
    // there (forward checks), so the table for seq_len 0 is exact.
    rope_ = rope_frequencies(rope_config_from_params(c.rope, c.head_dim, c.max_position_embeddings,
                                                     folder.config_path()));
    info_.architecture = folder.config().architecture;
    info_.model_type = folder.config().model_type;
    info_.vocab_size = c.vocab_size;
    info_.max_positions = c.max_position_embeddings;
    info_.num_parameters =
        count_parameters(w, c.tie_word_embeddings ? std::vector<std::string>{"lm_head.weight"}
                                                  : std::vector<std::string>{});
    info_.weight_dtype = embed_.dtype();
  }

  const ModelInfo& info() const override { return info_; }

  std::vector<KVLayerSpec> kv_layout() const override {
    return std::vector<KVLayerSpec>(static_cast<size_t>(c_.num_layers),
                                    {2 * c_.num_kv_heads * c_.head_dim, DType::F32});
  }

  Tensor forward(const ForwardBatch& batch, KVCache& cache,
                 ForwardStats* /*stats*/ = nullptr) const override {
    const int64_t n = batch.num_tokens();
    DF_CHECK(n > 0, InvalidArgument, "forward: empty batch");
    const int64_t H = c_.hidden_size, nh = c_.num_heads, nkv = c_.num_kv_heads, hd = c_.head_dim;
    for (int32_t p : batch.positions)
      DF_CHECK(p >= 0 && p < c_.max_position_embeddings, InvalidArgument,
               "position " << p << " is outside the model's max_position_embeddings ("
                           << c_.max_position_embeddings << ")");
    Tensor x = ops::embedding(embed_, batch.tokens);  // [n, H]
    const ops::RopeAngles angles =
        ops::rope_angles(batch.positions, rope_.inv_freq, rope_.attention_scaling);
    const BlockTables tables = batch.block_tables();  // once per step, read by every layer
    Tensor h = Tensor::empty(DType::F32, {n, H});
    Tensor attn = Tensor::empty(DType::F32, {n, nh, hd});
    ops::AttentionParams ap;
    ap.n_kv_heads = nkv;
    ap.head_dim = hd;
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& L = layers_[l];
      ops::rms_norm(x, L.in_norm, static_cast<float>(c_.rms_norm_eps), h);
      Tensor q = ops::linear(h, L.q, L.q_b.defined() ? &L.q_b : nullptr).reshape({n, nh, hd});
      Tensor k = ops::linear(h, L.k, L.k_b.defined() ? &L.k_b : nullptr).reshape({n, nkv, hd});
      Tensor v = ops::linear(h, L.v, L.v_b.defined() ? &L.v_b : nullptr).reshape({n, nkv, hd});
      if (c_.qk_norm) {  // Qwen3: RMSNorm over each head's head_dim values, before RoPE
        ops::rms_norm(q, L.q_norm, static_cast<float>(c_.rms_norm_eps), q);
        ops::rms_norm(k, L.k_norm, static_cast<float>(c_.rms_norm_eps), k);
      }
      ops::rope_inplace(q, angles, /*interleaved=*/false);
      ops::rope_inplace(k, angles, /*interleaved=*/false);
      ops::kv_write(k, v, tables, cache, static_cast<int32_t>(l));
      ap.sliding_window = L.sliding ? static_cast<int32_t>(c_.sliding_window) : 0;
      ops::attention(q, tables, cache, static_cast<int32_t>(l), ap, attn);  // [n, nh, hd]
      Tensor o = ops::linear(attn.reshape({n, nh * hd}), L.o, L.o_b.defined() ? &L.o_b : nullptr);
      ops::add_inplace(x, o);  // [n, H]
      ops::rms_norm(x, L.post_norm, static_cast<float>(c_.rms_norm_eps), h);
      Tensor g = ops::linear(h, L.gate, L.gate_b.defined() ? &L.gate_b : nullptr);  // [n, I]
      Tensor u = ops::linear(h, L.up, L.up_b.defined() ? &L.up_b : nullptr);
      ops::act_mul(g, u, act_, g);
      Tensor d = ops::linear(g, L.down, L.down_b.defined() ? &L.down_b : nullptr);  // [n, H]
      ops::add_inplace(x, d);
    }
    // Only the requested rows go through the final norm and the vocabulary projection.
    Tensor xr = gather_rows(x, batch.logit_rows);  // [r, H]
    ops::rms_norm(xr, norm_, static_cast<float>(c_.rms_norm_eps), xr);
    return ops::linear(xr, lm_head_);  // [r, vocab]
  }

 private:
  struct Layer {
    Tensor in_norm, q, k, v, o, q_b, k_b, v_b, o_b, q_norm, k_norm, post_norm;
    Tensor gate, up, down, gate_b, up_b, down_b;
    bool sliding = false;
  };
  LlamaConfig c_;
  Activation act_;
  Tensor embed_, norm_, lm_head_;
  std::vector<Layer> layers_;
  RopeFrequencies rope_;
  ModelInfo info_;
};

void add_variant(ModelRegistry& r, const char* arch, LlamaVariant v) {
  ModelEntry e;
  e.architecture = arch;
  e.kind = ModelKind::CausalLM;
  e.expected_tensors_in = [v](const HFConfig& cfg, const WeightStore&) {
    return llama_tensors(parse_llama_config(cfg, v));
  };
  e.tied_tensors = [v](const HFConfig& cfg) {
    return parse_llama_config(cfg, v).tie_word_embeddings
               ? std::vector<std::string>{"lm_head.weight"}
               : std::vector<std::string>{};
  };
  e.kv_layout = [v](const HFConfig& cfg, DType dt) {
    const LlamaConfig c = parse_llama_config(cfg, v);
    return std::vector<KVLayerSpec>(static_cast<size_t>(c.num_layers),
                                    {2 * c.num_kv_heads * c.head_dim, dt});
  };
  e.make_causal_lm = [v](const ModelFolder& f, WeightStore w, const LoadOptions& o) {
    return std::unique_ptr<CausalLM>(new LlamaModel(f, w, o, parse_llama_config(f.config(), v)));
  };
  r.add(std::move(e));
}

}  // namespace

void register_llama_models(ModelRegistry& r) {
  add_variant(r, "LlamaForCausalLM", {});
  add_variant(r, "Qwen2ForCausalLM", {.qkv_bias = true, .sliding_window_opt_in = true});
  add_variant(r, "Qwen3ForCausalLM", {.qk_norm = true, .sliding_window_opt_in = true});
  add_variant(r, "MistralForCausalLM", {.sliding_window_always = true});
}

}  // namespace deepfuse
