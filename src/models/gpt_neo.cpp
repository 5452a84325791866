// GPTNeoForCausalLM (EleutherAI GPT-Neo 125M / 1.3B / 2.7B): GPT-2's pre-LayerNorm block with
// learned absolute positions and a tied head, and three differences, all expressed as
// ops::attention parameters or load-time layout:
// - layers alternate "global" (full causal) and "local" attention (config `attention_types`,
//   expanded into `attention_layers`). transformers masks a local layer with
//   tril(ones) XOR tril(ones, -window_size): the token at position p sees keys at positions
//   p - window_size < j <= p, which is ops::attention's sliding_window = window_size;
// - the attention scores are not scaled (the Mesh-TensorFlow original has no 1/sqrt(d)):
//   softmax scale 1.0;
// - projections are nn.Linear ([out, in], no transpose), q/k/v without bias, out_proj with one.
//
// Per layer:  h = ln_1(x); x += out_proj(attn(q(h), k(h), v(h)))   (local layers: window)
//             h = ln_2(x); x += c_proj(act(c_fc(h)))
// Both attention kinds keep every position in the paged KV cache: the block table is shared by
// all layers, so a local layer cannot free keys that left its window (docs/DECISIONS.md).
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "models/model_util.h"
#include "models/registry.h"
#include "ops/ops.h"

namespace deepfuse {
namespace {

struct GptNeoConfig {
  int64_t vocab_size = 0;
  int64_t max_positions = 0;  // max_position_embeddings: rows of wpe
  int64_t hidden = 0;         // hidden_size
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t intermediate = 0;  // intermediate_size, null -> 4 * hidden_size
  int64_t window_size = 0;   // keys a local layer sees, the query's own included
  double layer_norm_epsilon = 1e-5;
  std::string activation = "gelu_new";
  bool tie_word_embeddings = true;
  std::vector<bool> local;  // [num_layers] true for "local" attention
  int64_t num_local() const {
    return static_cast<int64_t>(std::count(local.begin(), local.end(), true));
  }
};

[[noreturn]] void wrong_layer_count(const std::string& path, size_t got, int64_t num_layers) {
  throw FormatError(path + ": 'attention_types' gives " + std::to_string(got) +
                    " layer attention types or more, expected one per layer (num_layers " +
                    std::to_string(num_layers) + ")");
}

// `attention_types` [[["global", "local"], 12]] -> one entry per layer, as transformers'
// GPTNeoConfig.expand_attention_types_params does. Stops as soon as the expansion outgrows
// num_layers (a huge repeat count must not allocate before it is refused).
std::vector<std::string> expand_attention_types(const nlohmann::json& types,
                                                const std::string& path, int64_t num_layers) {
  const char* want =
      "a list of [[attention types...], repeat count] pairs, e.g. [[[\"global\", \"local\"], 16]]";
  DF_CHECK(types.is_array(), FormatError, path << ": 'attention_types' must be " << want);
  std::vector<std::string> out;
  for (const auto& item : types) {
    DF_CHECK(item.is_array() && item.size() == 2 && item[0].is_array() &&
                 item[1].is_number_integer() && item[1].get<int64_t>() >= 0,
             FormatError,
             path << ": 'attention_types' entry " << item.dump() << " is not " << want);
    for (const auto& t : item[0])
      DF_CHECK(t.is_string(), FormatError,
               path << ": 'attention_types' entry " << item.dump() << " is not " << want);
    for (int64_t r = 0; r < item[1].get<int64_t>() && !item[0].empty(); ++r)
      for (const auto& t : item[0]) {
        if (static_cast<int64_t>(out.size()) == num_layers)
          wrong_layer_count(path, out.size() + 1, num_layers);
        out.push_back(t.get<std::string>());
      }
  }
  return out;
}

GptNeoConfig parse_gpt_neo_config(const HFConfig& hf) {
  const JsonFields f = hf.fields();
  GptNeoConfig c;
  c.vocab_size = f.get_int("vocab_size");
  c.hidden = f.get_int("hidden_size");
  // transformers maps num_hidden_layers / num_attention_heads onto these (attribute_map).
  const std::string layers_key = f.first_present({"num_layers", "num_hidden_layers"});
  const std::string heads_key = f.first_present({"num_heads", "num_attention_heads"});
  c.num_layers = f.get_int(layers_key.empty() ? "num_layers" : layers_key);
  c.num_heads = f.get_int(heads_key.empty() ? "num_heads" : heads_key);
  c.max_positions = f.get_int("max_position_embeddings", 2048);
  DF_CHECK(c.vocab_size > 0 && c.hidden > 0 && c.num_layers > 0 && c.num_heads > 0 &&
               c.max_positions > 0 && c.hidden % c.num_heads == 0,
           FormatError,
           hf.path << ": vocab_size, hidden_size, num_layers, num_heads and "
                      "max_position_embeddings must be positive and hidden_size a multiple of "
                      "num_heads");
  c.intermediate = f.get_int("intermediate_size", 4 * c.hidden);
  DF_CHECK(c.intermediate > 0, FormatError,
           hf.path << ": intermediate_size must be positive, got " << c.intermediate);
  c.window_size = f.get_int("window_size", 256);
  c.layer_norm_epsilon = f.get_double("layer_norm_epsilon", 1e-5);
  c.activation = f.get_string("activation_function", "gelu_new");
  c.tie_word_embeddings = f.get_bool("tie_word_embeddings", true);

  // Layer kinds: `attention_types` is what GPTNeoConfig is built from, `attention_layers` its
  // expansion that save_pretrained also writes. Either one is enough; two that disagree are
  // refused rather than guessing which one a given transformers version reads.
  std::vector<std::string> kinds;
  DF_CHECK(f.has("attention_types") || f.has("attention_layers"), FormatError,
           hf.path << ": required field 'attention_types' is missing (expected e.g. "
                      "[[[\"global\", \"local\"], "
                   << std::max<int64_t>(c.num_layers / 2, 1) << "]])");
  if (f.has("attention_types"))
    kinds = expand_attention_types(f.raw()["attention_types"], hf.path, c.num_layers);
  if (f.has("attention_layers")) {
    const nlohmann::json& al = f.raw()["attention_layers"];
    DF_CHECK(al.is_array() && std::all_of(al.begin(), al.end(),
                                          [](const nlohmann::json& v) { return v.is_string(); }),
             FormatError,
             hf.path << ": 'attention_layers' must be a list of \"global\" / \"local\" strings");
    const auto listed = al.get<std::vector<std::string>>();
    DF_CHECK(!f.has("attention_types") || kinds == listed, FormatError,
             hf.path << ": 'attention_layers' " << al.dump()
                     << " disagrees with the expansion of 'attention_types' "
                     << nlohmann::json(kinds).dump());
    kinds = listed;
  }
  DF_CHECK(static_cast<int64_t>(kinds.size()) == c.num_layers, FormatError,
           hf.path << ": '" << (f.has("attention_layers") ? "attention_layers" : "attention_types")
                   << "' gives " << kinds.size()
                   << " layer attention types, expected one per layer (num_layers " << c.num_layers
                   << ")");
  for (const std::string& k : kinds) {
    DF_CHECK(k == "global" || k == "local", FormatError,
             hf.path << ": attention type '" << k << "' is not supported (expected \"global\" "
                     << "or \"local\")");
    c.local.push_back(k == "local");
  }
  DF_CHECK(c.num_local() == 0 ||
               (c.window_size > 0 && c.window_size <= std::numeric_limits<int32_t>::max()),
           FormatError,
           hf.path << ": window_size must be a positive 32-bit integer for local attention, got "
                   << c.window_size);
  return c;
}

// transformers' save_pretrained of GPTNeoForCausalLM writes "transformer.h.0..."; a bare
// GPTNeoModel checkpoint has no prefix (GPTNeoForCausalLM.from_pretrained accepts both).
std::string gpt_neo_prefix(const WeightStore& w) {
  return w.contains("wte.weight") && !w.contains("transformer.wte.weight") ? "" : "transformer.";
}

std::vector<TensorSpec> gpt_neo_tensors(const GptNeoConfig& c, const std::string& p) {
  const int64_t E = c.hidden, I = c.intermediate, P = c.max_positions;
  std::vector<TensorSpec> t;
  t.push_back({p + "wte.weight", {c.vocab_size, E}});
  t.push_back({p + "wpe.weight", {P, E}});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string h = p + "h." + std::to_string(i) + ".";
    const std::string a = h + "attn.attention.";
    t.push_back({h + "ln_1.weight", {E}});
    t.push_back({h + "ln_1.bias", {E}});
    t.push_back({a + "q_proj.weight", {E, E}});
    t.push_back({a + "k_proj.weight", {E, E}});
    t.push_back({a + "v_proj.weight", {E, E}});
    t.push_back({a + "out_proj.weight", {E, E}});
    t.push_back({a + "out_proj.bias", {E}});
    // Causal-mask buffers that checkpoints saved before transformers made them non-persistent
    // carry; unused (the mask is ops::attention's), not parameters.
    t.push_back({a + "bias", {1, 1, P, P}, /*optional=*/true});
    t.push_back({a + "masked_bias", {}, /*optional=*/true});
    t.push_back({h + "ln_2.weight", {E}});
    t.push_back({h + "ln_2.bias", {E}});
    t.push_back({h + "mlp.c_fc.weight", {I, E}});
    t.push_back({h + "mlp.c_fc.bias", {I}});
    t.push_back({h + "mlp.c_proj.weight", {E, I}});
    t.push_back({h + "mlp.c_proj.bias", {E}});
  }
  t.push_back({p + "ln_f.weight", {E}});
  t.push_back({p + "ln_f.bias", {E}});
  t.push_back({"lm_head.weight", {c.vocab_size, E}, /*optional=*/c.tie_word_embeddings});
  return t;
}

std::vector<std::string> tied_names(const GptNeoConfig& c) {
  return c.tie_word_embeddings ? std::vector<std::string>{"lm_head.weight"}
                               : std::vector<std::string>{};
}

// The mask buffers present in `w` (see gpt_neo_tensors).
std::vector<std::string> mask_buffers(const WeightStore& w) {
  std::vector<std::string> out;
  for (const std::string& n : w.names()) {
    const auto ends_with = [&](const std::string& s) {
      return n.size() >= s.size() && n.compare(n.size() - s.size(), s.size(), s) == 0;
    };
    if (ends_with(".attn.attention.bias") || ends_with(".attn.attention.masked_bias"))
      out.push_back(n);
  }
  return out;
}

class GptNeoModel final : public CausalLM {
 public:
  GptNeoModel(const ModelFolder& folder, const WeightStore& w, const LoadOptions& opts,
              const GptNeoConfig& c)
      : c_(c) {
    const std::string p = gpt_neo_prefix(w);
    validate_weights(w, gpt_neo_tensors(c, p), w.source());
    act_ = ops::activation_from_string(c.activation);
    wte_ = load_weight(w, p + "wte.weight", opts);
    wpe_ = load_weight(w, p + "wpe.weight", opts);
    ln_f_w_ = load_weight(w, p + "ln_f.weight", opts);
    ln_f_b_ = load_weight(w, p + "ln_f.bias", opts);
    lm_head_ = c.tie_word_embeddings ? wte_ : load_weight(w, "lm_head.weight", opts);
    for (int64_t i = 0; i < c.num_layers; ++i) {
      const std::string h = p + "h." + std::to_string(i) + ".";
      auto get = [&](const std::string& n) { return load_weight(w, h + n, opts); };
      Layer L;
      L.local = c.local[static_cast<size_t>(i)];
      L.ln1_w = get("ln_1.weight");
      L.ln1_b = get("ln_1.bias");
      L.q = get("attn.attention.q_proj.weight");  // [E, E]
      L.k = get("attn.attention.k_proj.weight");
      L.v = get("attn.attention.v_proj.weight");
      L.o = get("attn.attention.out_proj.weight");
      L.o_b = get("attn.attention.out_proj.bias");
      L.ln2_w = get("ln_2.weight");
      L.ln2_b = get("ln_2.bias");
      L.fc = get("mlp.c_fc.weight");  // [I, E]
      L.fc_b = get("mlp.c_fc.bias");
      L.proj = get("mlp.c_proj.weight");  // [E, I]
      L.proj_b = get("mlp.c_proj.bias");
      layers_.push_back(std::move(L));
    }
    info_.architecture = folder.config().architecture;
    info_.model_type = folder.config().model_type;
    info_.vocab_size = c.vocab_size;
    info_.max_positions = c.max_positions;
    std::vector<std::string> skip = tied_names(c);
    for (const std::string& b : mask_buffers(w)) skip.push_back(b);
    info_.num_parameters = count_parameters(w, skip);
    info_.weight_dtype = wte_.dtype();
  }

  const ModelInfo& info() const override { return info_; }

  std::vector<KVLayerSpec> kv_layout() const override {
    return std::vector<KVLayerSpec>(static_cast<size_t>(c_.num_layers),
                                    {2 * c_.hidden, DType::F32});
  }

  Tensor forward(const ForwardBatch& batch, KVCache& cache,
                 ForwardStats* /*stats*/ = nullptr) const override {
    const int64_t n = batch.num_tokens();
    DF_CHECK(n > 0, InvalidArgument, "forward: empty batch");
    const int64_t E = c_.hidden, nh = c_.num_heads, hd = E / nh;
    for (int32_t p : batch.positions)
      DF_CHECK(p >= 0 && p < c_.max_positions, InvalidArgument,
               "position " << p << " is outside GPT-Neo's max_position_embeddings ("
                           << c_.max_positions << ")");
    const BlockTables tables = batch.block_tables();  // once per step, read by every layer
    Tensor x = ops::embedding(wte_, batch.tokens);               // [n, E]
    ops::add_inplace(x, ops::embedding(wpe_, batch.positions));  // + learned positions
    Tensor h = Tensor::empty(DType::F32, {n, E});
    Tensor attn = Tensor::empty(DType::F32, {n, nh, hd});
    const float eps = static_cast<float>(c_.layer_norm_epsilon);
    for (size_t l = 0; l < layers_.size(); ++l) {
      const Layer& L = layers_[l];
      ops::layer_norm(x, L.ln1_w, &L.ln1_b, eps, h);
      Tensor q = ops::linear(h, L.q).reshape({n, nh, hd});  // no bias on q/k/v
      Tensor k = ops::linear(h, L.k).reshape({n, nh, hd});
      Tensor v = ops::linear(h, L.v).reshape({n, nh, hd});
      ops::kv_write(k, v, tables, cache, static_cast<int32_t>(l));
      ops::AttentionParams ap;
      ap.n_kv_heads = nh;
      ap.head_dim = hd;
      ap.scale = 1.f;  // GPT-Neo does not scale q·k (0 would mean 1/sqrt(head_dim))
      ap.sliding_window = L.local ? static_cast<int32_t>(c_.window_size) : 0;
      ops::attention(q, tables, cache, static_cast<int32_t>(l), ap, attn);  // [n, nh, hd]
      ops::add_inplace(x, ops::linear(attn.reshape({n, E}), L.o, &L.o_b));
      ops::layer_norm(x, L.ln2_w, &L.ln2_b, eps, h);
      Tensor m = ops::linear(h, L.fc, &L.fc_b);  // [n, I]
      ops::act_inplace(m, act_);
      ops::add_inplace(x, ops::linear(m, L.proj, &L.proj_b));  // [n, E]
    }
    Tensor xr = gather_rows(x, batch.logit_rows);  // [r, E]
    ops::layer_norm(xr, ln_f_w_, &ln_f_b_, eps, xr);
    return ops::linear(xr, lm_head_);  // [r, vocab]
  }

 private:
  struct Layer {
    bool local = false;
    Tensor ln1_w, ln1_b, q, k, v, o, o_b, ln2_w, ln2_b, fc, fc_b, proj, proj_b;
  };
  GptNeoConfig c_;
  Activation act_;
  Tensor wte_, wpe_, ln_f_w_, ln_f_b_, lm_head_;
  std::vector<Layer> layers_;
  ModelInfo info_;
};

std::vector<std::string> gpt_neo_notes(const HFConfig& hf, const WeightStore* w) {
  const GptNeoConfig c = parse_gpt_neo_config(hf);
  const int64_t local = c.num_local();
  std::vector<std::string> notes;
  notes.push_back("attention: " + std::to_string(c.num_layers - local) + " global + " +
                  std::to_string(local) + " local layers" +
                  (local ? " (local: the last " + std::to_string(c.window_size) + " tokens)" : "") +
                  "; scores unscaled (softmax scale 1.0)");
  if (w) {
    int64_t elems = 0;
    const std::vector<std::string> bufs = mask_buffers(*w);
    for (const std::string& b : bufs) elems += w->shape(b).numel();
    if (!bufs.empty())
      notes.push_back(std::to_string(bufs.size()) +
                      " causal-mask buffers (attn.attention.bias / masked_bias, " +
                      std::to_string(elems) +
                      " elements) are unused and not parameters, but included in the "
                      "parameter count above");
  }
  return notes;
}

}  // namespace

void register_gpt_neo_models(ModelRegistry& r) {
  ModelEntry e;
  e.architecture = "GPTNeoForCausalLM";
  e.kind = ModelKind::CausalLM;
  // Without weights (inspect of a config-only folder) the names save_pretrained writes.
  e.expected_tensors = [](const HFConfig& cfg) {
    return gpt_neo_tensors(parse_gpt_neo_config(cfg), "transformer.");
  };
  e.expected_tensors_in = [](const HFConfig& cfg, const WeightStore& w) {
    return gpt_neo_tensors(parse_gpt_neo_config(cfg), gpt_neo_prefix(w));
  };
  e.tied_tensors = [](const HFConfig& cfg) { return tied_names(parse_gpt_neo_config(cfg)); };
  e.kv_layout = [](const HFConfig& cfg, DType dt) {
    const GptNeoConfig c = parse_gpt_neo_config(cfg);
    return std::vector<KVLayerSpec>(static_cast<size_t>(c.num_layers), {2 * c.hidden, dt});
  };
  e.notes = gpt_neo_notes;
  e.make_causal_lm = [](const ModelFolder& f, WeightStore w, const LoadOptions& o) {
    return std::unique_ptr<CausalLM>(new GptNeoModel(f, w, o, parse_gpt_neo_config(f.config())));
  };
  r.add(std::move(e));
}

}  // namespace deepfuse
