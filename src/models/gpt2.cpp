// GPT2LMHeadModel: learned absolute positions, pre-LayerNorm blocks, tied head. GPT-2 stores
// its projections as Conv1D ([in, out]); they are transposed once at load into the nn.Linear
// layout the ops expect, and the fused c_attn is split into q/k/v row views of that copy.
#include <cmath>
#include <memory>

#include "core/error.h"
#include "models/model_util.h"
#include "models/registry.h"
#include "ops/ops.h"

namespace deepfuse {
namespace {

// Hub GPT-2 checkpoints name tensors "h.0...", transformers' save_pretrained "transformer.h.0...".
std::string gpt2_prefix(const WeightStore& w) {
  return w.contains("wte.weight") && !w.contains("transformer.wte.weight") ? "" : "transformer.";
}

std::vector<TensorSpec> gpt2_tensors(const Gpt2Config& c, const std::string& p) {
  const int64_t E = c.n_embd, I = c.n_inner;
  std::vector<TensorSpec> t;
  t.push_back({p + "wte.weight", {c.vocab_size, E}});
  t.push_back({p + "wpe.weight", {c.n_positions, E}});
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string h = p + "h." + std::to_string(i) + ".";
    t.push_back({h + "ln_1.weight", {E}});
    t.push_back({h + "ln_1.bias", {E}});
    t.push_back({h + "attn.c_attn.weight", {E, 3 * E}});
    t.push_back({h + "attn.c_attn.bias", {3 * E}});
    t.push_back({h + "attn.c_proj.weight", {E, E}});
    t.push_back({h + "attn.c_proj.bias", {E}});
    t.push_back({h + "ln_2.weight", {E}});
    t.push_back({h + "ln_2.bias", {E}});
    t.push_back({h + "mlp.c_fc.weight", {E, I}});
    t.push_back({h + "mlp.c_fc.bias", {I}});
    t.push_back({h + "mlp.c_proj.weight", {I, E}});
    t.push_back({h + "mlp.c_proj.bias", {E}});
  }
  t.push_back({p + "ln_f.weight", {E}});
  t.push_back({p + "ln_f.bias", {E}});
  t.push_back({"lm_head.weight", {c.vocab_size, E}, /*optional=*/c.tie_word_embeddings});
  return t;
}

class Gpt2Model final : public CausalLM {
 public:
  Gpt2Model(const ModelFolder& folder, const WeightStore& w, const LoadOptions& opts,
            const Gpt2Config& c)
      : c_(c) {
    const std::string p = gpt2_prefix(w);
    validate_weights(w, gpt2_tensors(c, p), w.source());
    act_ = ops::activation_from_string(c.activation);
    wte_ = load_weight(w, p + "wte.weight", opts);
    wpe_ = load_weight(w, p + "wpe.weight", opts);
    ln_f_w_ = load_weight(w, p + "ln_f.weight", opts);
    ln_f_b_ = load_weight(w, p + "ln_f.bias", opts);
    lm_head_ = c.tie_word_embeddings ? wte_ : load_weight(w, "lm_head.weight", opts);
    const int64_t E = c.n_embd;
    for (int64_t i = 0; i < c.n_layer; ++i) {
      const std::string h = p + "h." + std::to_string(i) + ".";
      auto get = [&](const std::string& n) { return load_weight(w, h + n, opts); };
      Layer L;
      L.ln1_w = get("ln_1.weight");
      L.ln1_b = get("ln_1.bias");
      L.ln2_w = get("ln_2.weight");
      L.ln2_b = get("ln_2.bias");
      const Tensor qkv = transpose_2d(get("attn.c_attn.weight"));  // [3E, E]
      const Tensor qkv_b = get("attn.c_attn.bias");                // [3E]
      L.q = qkv.slice_rows(0, E);
      L.k = qkv.slice_rows(E, E);
      L.v = qkv.slice_rows(2 * E, E);
      L.q_b = qkv_b.slice_rows(0, E);
      L.k_b = qkv_b.slice_rows(E, E);
      L.v_b = qkv_b.slice_rows(2 * E, E);
      L.o = transpose_2d(get("attn.c_proj.weight"));  // [E, E]
      L.o_b = get("attn.c_proj.bias");
      L.fc = transpose_2d(get("mlp.c_fc.weight"));  // [I, E]
      L.fc_b = get("mlp.c_fc.bias");
      L.proj = transpose_2d(get("mlp.c_proj.weight"));  // [E, I]
      L.proj_b = get("mlp.c_proj.bias");
      layers_.push_back(std::move(L));
    }
    info_.architecture = folder.config().architecture;
    info_.model_type = folder.config().model_type;
    info_.vocab_size = c.vocab_size;
    info_.max_positions = c.n_positions;
    info_.num_parameters =
        count_parameters(w, c.tie_word_embeddings ? std::vector<std::string>{"lm_head.weight"}
                                                  : std::vector<std::string>{});
    info_.weight_dtype = wte_.dtype();
  }

  const ModelInfo& info() const override { return info_; }

  std::vector<KVLayerSpec> kv_layout() const override {
    return std::vector<KVLayerSpec>(static_cast<size_t>(c_.n_layer), {2 * c_.n_embd, DType::F32});
  }

  Tensor forward(const ForwardBatch& batch, KVCache& cache,
                 ForwardStats* /*stats*/ = nullptr) const override {
    const int64_t n = batch.num_tokens();
    DF_CHECK(n > 0, InvalidArgument, "forward: empty batch");
    const int64_t E = c_.n_embd, nh = c_.n_head, hd = E / nh;
    for (int32_t p : batch.positions)
      DF_CHECK(p >= 0 && p < c_.n_positions, InvalidArgument,
               "position " << p << " is outside GPT-2's n_positions (" << c_.n_positions << ")");
    Tensor x = ops::embedding(wte_, batch.tokens);               // [n, E]
    ops::add_inplace(x, ops::embedding(wpe_, batch.positions));  // + learned positions
    const BlockTables tables = batch.block_tables();  // once per step, read by every layer
    Tensor h = Tensor::empty(DType::F32, {n, E});
    Tensor attn = Tensor::empty(DType::F32, {n, nh, hd});
    const float eps = static_cast<float>(c_.layer_norm_epsilon);
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& L = layers_[l];
      ops::layer_norm(x, L.ln1_w, &L.ln1_b, eps, h);
      Tensor q = ops::linear(h, L.q, &L.q_b).reshape({n, nh, hd});
      Tensor k = ops::linear(h, L.k, &L.k_b).reshape({n, nh, hd});
      Tensor v = ops::linear(h, L.v, &L.v_b).reshape({n, nh, hd});
      ops::kv_write(k, v, tables, cache, static_cast<int32_t>(l));
      ops::AttentionParams ap;
      ap.n_kv_heads = nh;
      ap.head_dim = hd;
      float scale = c_.scale_attn_weights ? 1.f / std::sqrt(static_cast<float>(hd)) : 1.f;
      if (c_.scale_attn_by_inverse_layer_idx) scale /= static_cast<float>(l + 1);
      ap.scale = scale;
      ops::attention(q, tables, cache, static_cast<int32_t>(l), ap, attn);  // [n, nh, hd]
      ops::add_inplace(x, ops::linear(attn.reshape({n, E}), L.o, &L.o_b));
      ops::layer_norm(x, L.ln2_w, &L.ln2_b, eps, h);
      Tensor m = ops::linear(h, L.fc, &L.fc_b);  // [n, I]
      ops::act_inplace(m, act_);
      ops::add_inplace(x, ops::linear(m, L.proj, &L.proj_b));
    }
    Tensor xr = gather_rows(x, batch.logit_rows);  // [r, E]
    ops::layer_norm(xr, ln_f_w_, &ln_f_b_, eps, xr);
    return ops::linear(xr, lm_head_);  // [r, vocab]
  }

 private:
  struct Layer {
    Tensor ln1_w, ln1_b, ln2_w, ln2_b, q, k, v, q_b, k_b, v_b, o, o_b, fc, fc_b, proj, proj_b;
  };
  Gpt2Config c_;
  Activation act_;
  Tensor wte_, wpe_, ln_f_w_, ln_f_b_, lm_head_;
  std::vector<Layer> layers_;
  ModelInfo info_;
};

}  // namespace

void register_gpt2_models(ModelRegistry& r) {
  ModelEntry e;
  e.architecture = "GPT2LMHeadModel";
  e.kind = ModelKind::CausalLM;
  e.expected_tensors_in = [](const HFConfig& cfg, const WeightStore& w) {
    return gpt2_tensors(parse_gpt2_config(cfg), gpt2_prefix(w));
  };
  e.tied_tensors = [](const HFConfig& cfg) {
    return parse_gpt2_config(cfg).tie_word_embeddings ? std::vector<std::string>{"lm_head.weight"}
                                                      : std::vector<std::string>{};
  };
  e.kv_layout = [](const HFConfig& cfg, DType dt) {
    const Gpt2Config c = parse_gpt2_config(cfg);
    return std::vector<KVLayerSpec>(static_cast<size_t>(c.n_layer), {2 * c.n_embd, dt});
  };
  e.make_causal_lm = [](const ModelFolder& f, WeightStore w, const LoadOptions& o) {
    return std::unique_ptr<CausalLM>(new Gpt2Model(f, w, o, parse_gpt2_config(f.config())));
  };
  r.add(std::move(e));
}

}  // namespace deepfuse
