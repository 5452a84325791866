#include "models/deepseek.h"

#include <chrono>
#include <cstring>
#include <sstream>

#include "core/error.h"
#include "formats/fp8_block.h"
#include "ops/ops.h"

namespace deepfuse {

namespace {

std::string layer_prefix(int64_t i) {
  return "model.layers." + std::to_string(i) + ".";
}

// Loads tensors with shape checks and the dtype policy of the model.
class Loader {
 public:
  Loader(const WeightStore& ws, const DeepseekConfig& cfg, DType compute)
      : ws_(ws), cfg_(cfg), compute_(compute) {}

  // A weight as the kernels take it: FP8 is dequantised (f32 for an f32 model, else bf16);
  // other float dtypes are borrowed from the mmap, or converted to f32 for an f32 model so
  // that the reference path computes exactly what transformers computes in float32.
  Tensor get(const std::string& name, std::vector<int64_t> shape) {
    Tensor t = raw(name, shape);
    if (t.dtype() == DType::F8E4M3) {
      const std::string sname =
          name.substr(0, name.size() - std::string("weight").size()) + "weight_scale_inv";
      DF_CHECK(ws_.contains(sname), FormatError,
               ws_.source() << ": FP8 tensor '" << name << "' has no '" << sname
                            << "' block scale tensor");
      params_ += t.numel();
      return dequantize_fp8_block(t, ws_.get(sname), cfg_.fp8.block_rows, cfg_.fp8.block_cols,
                                  compute_ == DType::F32 ? DType::F32 : DType::BF16, name);
    }
    DF_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::BF16 || t.dtype() == DType::F16,
             FormatError,
             ws_.source() << ": tensor '" << name << "' has dtype " << dtype_name(t.dtype())
                          << ", expected float32, bfloat16, float16 or float8_e4m3fn");
    params_ += t.numel();
    if (compute_ == DType::F32 && t.dtype() != DType::F32) return t.to(DType::F32);
    return t;
  }
  // Always f32 (router and its bias: transformers computes them in float32).
  Tensor get_f32(const std::string& name, std::vector<int64_t> shape) {
    Tensor t = get(name, std::move(shape));
    return t.dtype() == DType::F32 ? t : t.to(DType::F32);
  }
  Tensor get_opt(const std::string& name, std::vector<int64_t> shape) {
    return ws_.contains(name) ? get(name, std::move(shape)) : Tensor();
  }
  int64_t params() const { return params_; }

 private:
  Tensor raw(const std::string& name, const std::vector<int64_t>& shape) {
    const Shape want(shape);
    DF_CHECK(ws_.contains(name), FormatError,
             ws_.source() << ": tensor '" << name << "' is missing (expected shape " << want.str()
                          << ")");
    Tensor t = ws_.get(name);
    DF_CHECK(t.shape() == want, FormatError,
             ws_.source() << ": tensor '" << name << "' has shape " << t.shape().str()
                          << ", expected " << want.str());
    return t;
  }
  const WeightStore& ws_;
  const DeepseekConfig& cfg_;
  DType compute_;
  int64_t params_ = 0;
};

void add_mlp_specs(std::vector<TensorSpec>& out, const std::string& p, int64_t hidden,
                   int64_t inter, bool fp8) {
  for (const char* n : {"gate_proj", "up_proj"}) {
    out.push_back({p + n + ".weight", {inter, hidden}});
    if (fp8)
      out.push_back(
          {p + n + ".weight_scale_inv", {(inter + 127) / 128, (hidden + 127) / 128}, true});
  }
  out.push_back({p + "down_proj.weight", {hidden, inter}});
  if (fp8)
    out.push_back(
        {p + "down_proj.weight_scale_inv", {(hidden + 127) / 128, (inter + 127) / 128}, true});
}

void validate_batch(const ForwardBatch& b, const KVCache& cache, int64_t layers, int64_t width,
                    int64_t vocab) {
  const int32_t n = b.num_tokens();
  DF_CHECK(b.positions.size() == b.tokens.size(), InvalidArgument,
           "forward: " << b.positions.size() << " positions for " << n << " tokens");
  DF_CHECK(cache.num_layers() == layers, InvalidArgument,
           "forward: KV cache has " << cache.num_layers() << " layers, the model " << layers);
  for (int32_t l = 0; l < cache.num_layers(); ++l)
    DF_CHECK(cache.spec(l).width == width, InvalidArgument,
             "forward: KV cache layer " << l << " holds " << cache.spec(l).width
                                        << " values per token, MLA needs " << width);
  std::vector<char> covered(static_cast<size_t>(n), 0);
  for (const SequenceSlice& s : b.seqs) {
    DF_CHECK(s.token_begin >= 0 && s.num_tokens >= 0 && s.token_begin + s.num_tokens <= n &&
                 s.context_len >= 0,
             InvalidArgument, "forward: sequence slice outside the batch's " << n << " tokens");
    const int64_t need = static_cast<int64_t>(s.context_len) + s.num_tokens;
    DF_CHECK(static_cast<int64_t>(s.block_table.size()) * cache.block_size() >= need,
             InvalidArgument,
             "forward: block table of " << s.block_table.size() << " blocks cannot hold " << need
                                        << " tokens");
    for (int32_t blk : s.block_table)
      DF_CHECK(blk >= 0 && blk < cache.num_blocks(), InvalidArgument,
               "forward: KV block id " << blk << " outside [0, " << cache.num_blocks() << ")");
    for (int32_t j = 0; j < s.num_tokens; ++j) {
      DF_CHECK(!covered[static_cast<size_t>(s.token_begin + j)], InvalidArgument,
               "forward: token " << s.token_begin + j << " belongs to two sequences");
      covered[static_cast<size_t>(s.token_begin + j)] = 1;
    }
  }
  for (int32_t i = 0; i < n; ++i) {
    DF_CHECK(covered[static_cast<size_t>(i)], InvalidArgument,
             "forward: token " << i << " belongs to no sequence");
    const int32_t t = b.tokens[static_cast<size_t>(i)];
    DF_CHECK(t >= 0 && t < vocab, InvalidArgument,
             "forward: token id " << t << " outside the vocabulary [0, " << vocab << ")");
    DF_CHECK(b.positions[static_cast<size_t>(i)] >= 0, InvalidArgument,
             "forward: negative position");
  }
  for (int32_t r : b.logit_rows)
    DF_CHECK(r >= 0 && r < n, InvalidArgument,
             "forward: logit row " << r << " outside the batch's " << n << " tokens");
}

}  // namespace

DeepseekForCausalLM::DeepseekForCausalLM(const HFConfig& hf, const WeightStore& ws,
                                         const LoadOptions& options)
    : cfg_(parse_deepseek_config(hf)) {
  DF_CHECK(options.device == Device::CPU, Unsupported,
           "DeepSeek models run on the CPU only for now (asked for " << device_name(options.device)
                                                                     << ")");
  DF_CHECK(
      options.dtype == DType::F32 || options.dtype == DType::BF16 || options.dtype == DType::F16,
      InvalidArgument, "DeepSeek compute dtype must be float32, bfloat16 or float16");
  kv_dtype_ = options.dtype == DType::F32 ? DType::F32 : DType::BF16;
  rope_ = deepseek_rope(cfg_);

  const int64_t H = cfg_.num_heads, hid = cfg_.hidden_size;
  const int64_t qk = cfg_.qk_head_dim(), dv = cfg_.v_head_dim, r = cfg_.kv_lora_rank;
  const int64_t dr = cfg_.qk_rope_head_dim;
  Loader ld(ws, cfg_, options.dtype);
  embed_ = ld.get("model.embed_tokens.weight", {cfg_.vocab_size, hid});
  norm_ = ld.get("model.norm.weight", {hid});
  lm_head_ = cfg_.tie_word_embeddings ? embed_ : ld.get("lm_head.weight", {cfg_.vocab_size, hid});

  layers_.resize(static_cast<size_t>(cfg_.num_layers));
  for (int64_t i = 0; i < cfg_.num_layers; ++i) {
    Layer& L = layers_[static_cast<size_t>(i)];
    const std::string p = layer_prefix(i);
    L.input_layernorm = ld.get(p + "input_layernorm.weight", {hid});
    L.post_attention_layernorm = ld.get(p + "post_attention_layernorm.weight", {hid});
    const std::string a = p + "self_attn.";
    MlaWeights& w = L.attn;
    if (cfg_.q_lora_rank > 0) {
      w.q_a_proj = ld.get(a + "q_a_proj.weight", {cfg_.q_lora_rank, hid});
      w.q_a_layernorm = ld.get(a + "q_a_layernorm.weight", {cfg_.q_lora_rank});
      w.q_b_proj = ld.get(a + "q_b_proj.weight", {H * qk, cfg_.q_lora_rank});
      if (cfg_.attention_bias) w.q_a_bias = ld.get(a + "q_a_proj.bias", {cfg_.q_lora_rank});
    } else {
      w.q_proj = ld.get(a + "q_proj.weight", {H * qk, hid});
    }
    w.kv_a_proj_with_mqa = ld.get(a + "kv_a_proj_with_mqa.weight", {r + dr, hid});
    w.kv_a_layernorm = ld.get(a + "kv_a_layernorm.weight", {r});
    w.kv_b_proj = ld.get(a + "kv_b_proj.weight", {H * (cfg_.qk_nope_head_dim + dv), r});
    w.o_proj = ld.get(a + "o_proj.weight", {hid, H * dv});
    if (cfg_.attention_bias) {
      w.kv_a_bias = ld.get(a + "kv_a_proj_with_mqa.bias", {r + dr});
      w.o_bias = ld.get(a + "o_proj.bias", {hid});
    }
    mla_build_absorbed(cfg_, w);

    L.moe = cfg_.is_moe_layer(i);
    const std::string m = p + "mlp.";
    if (!L.moe) {
      L.mlp.gate_proj = ld.get(m + "gate_proj.weight", {cfg_.intermediate_size, hid});
      L.mlp.up_proj = ld.get(m + "up_proj.weight", {cfg_.intermediate_size, hid});
      L.mlp.down_proj = ld.get(m + "down_proj.weight", {hid, cfg_.intermediate_size});
      continue;
    }
    const int64_t E = cfg_.n_routed_experts, mi = cfg_.moe_intermediate_size;
    MoeWeights& moe = L.experts;
    moe.router = moe_router(cfg_);
    moe.gate = ld.get_f32(m + "gate.weight", {E, hid});
    if (cfg_.is_v3 || cfg_.topk_method == "noaux_tc")
      moe.e_score_correction_bias = ld.get_f32(m + "gate.e_score_correction_bias", {E});
    moe.experts.resize(static_cast<size_t>(E));
    for (int64_t e = 0; e < E; ++e) {
      const std::string ep = m + "experts." + std::to_string(e) + ".";
      MlpWeights& x = moe.experts[static_cast<size_t>(e)];
      x.gate_proj = ld.get(ep + "gate_proj.weight", {mi, hid});
      x.up_proj = ld.get(ep + "up_proj.weight", {mi, hid});
      x.down_proj = ld.get(ep + "down_proj.weight", {hid, mi});
    }
    if (cfg_.n_shared_experts > 0) {
      const int64_t si = mi * cfg_.n_shared_experts;
      moe.shared.gate_proj = ld.get(m + "shared_experts.gate_proj.weight", {si, hid});
      moe.shared.up_proj = ld.get(m + "shared_experts.up_proj.weight", {si, hid});
      moe.shared.down_proj = ld.get(m + "shared_experts.down_proj.weight", {hid, si});
      moe.has_shared = true;
    }
  }

  info_.architecture = hf.architecture.empty()
                           ? (cfg_.is_v3 ? "DeepseekV3ForCausalLM" : "DeepseekV2ForCausalLM")
                           : hf.architecture;
  info_.model_type = hf.model_type;
  info_.vocab_size = cfg_.vocab_size;
  info_.max_positions = cfg_.max_position_embeddings;
  info_.num_parameters = ld.params();
  const std::string probe = "model.layers.0.self_attn.kv_a_proj_with_mqa.weight";
  info_.weight_dtype = ws.contains(probe) ? ws.dtype(probe) : embed_.dtype();
}

std::unique_ptr<DeepseekForCausalLM> DeepseekForCausalLM::load(const std::string& dir,
                                                               const LoadOptions& options) {
  ModelFolder folder = ModelFolder::open(dir);
  WeightStore ws = folder.open_weights();
  return std::make_unique<DeepseekForCausalLM>(folder.config(), ws, options);
}

std::vector<KVLayerSpec> DeepseekForCausalLM::kv_layout() const {
  return std::vector<KVLayerSpec>(static_cast<size_t>(cfg_.num_layers),
                                  KVLayerSpec{cfg_.kv_cache_width(), kv_dtype_});
}

Tensor DeepseekForCausalLM::forward(const ForwardBatch& batch, KVCache& cache,
                                    ForwardStats* stats) const {
  return forward(batch, cache, stats, MlaMode::Auto);
}

Tensor DeepseekForCausalLM::forward(const ForwardBatch& batch, KVCache& cache,
                                    ForwardStats* stats, MlaMode mode) const {
  validate_batch(batch, cache, cfg_.num_layers, cfg_.kv_cache_width(), cfg_.vocab_size);
  const int64_t n = batch.num_tokens(), hid = cfg_.hidden_size;
  const float eps = static_cast<float>(cfg_.rms_norm_eps);
  const int64_t rows = static_cast<int64_t>(batch.logit_rows.size());
  if (n == 0) return Tensor::zeros(DType::F32, Shape{rows, cfg_.vocab_size});

  Tensor h = ops::embedding(embed_, batch.tokens);  // [n, hidden]
  const ops::RopeAngles angles =
      ops::rope_angles(batch.positions, rope_.inv_freq, rope_.attention_scaling);
  const BlockTables tables = batch.block_tables();  // once per step, read by every layer
  const size_t layers = static_cast<size_t>(cfg_.num_layers);
  const bool timed = stats && stats->time_layers;
  if (stats) {
    stats->expert_counts.resize(layers);
    for (size_t l = 0; l < layers; ++l)
      if (layers_[l].moe)
        stats->expert_counts[l].resize(static_cast<size_t>(cfg_.n_routed_experts), 0);
    if (timed) {
      stats->attention_seconds.resize(layers, 0.0);
      stats->mlp_seconds.resize(layers, 0.0);
    }
  }
  Tensor x = Tensor::empty(DType::F32, Shape{n, hid});
  using clock = std::chrono::steady_clock;
  for (size_t l = 0; l < layers; ++l) {
    const Layer& L = layers_[l];
    const auto t0 = timed ? clock::now() : clock::time_point{};
    ops::rms_norm(h, L.input_layernorm, eps, x);
    Tensor a;
    mla_forward(cfg_, L.attn, x, angles, tables, cache, static_cast<int32_t>(l), mode, a, stats);
    ops::add_inplace(h, a);
    const auto t1 = timed ? clock::now() : clock::time_point{};
    ops::rms_norm(h, L.post_attention_layernorm, eps, x);
    Tensor m;
    if (L.moe)
      moe_forward(cfg_, L.experts, x, m, stats ? stats->expert_counts[l].data() : nullptr);
    else
      mlp_forward(L.mlp, x, m);
    ops::add_inplace(h, m);
    if (timed) {
      const auto t2 = clock::now();
      stats->attention_seconds[l] += std::chrono::duration<double>(t1 - t0).count();
      stats->mlp_seconds[l] += std::chrono::duration<double>(t2 - t1).count();
    }
  }
  Tensor hr = Tensor::empty(DType::F32, Shape{rows, hid});  // [rows, hidden]
  for (int64_t i = 0; i < rows; ++i)
    std::memcpy(hr.data<float>() + i * hid, h.data<float>() + batch.logit_rows[i] * hid,
                static_cast<size_t>(hid) * sizeof(float));
  ops::rms_norm(hr, norm_, eps, hr);
  return ops::linear(hr, lm_head_);  // [rows, vocab]
}

std::vector<TensorSpec> deepseek_expected_tensors(const HFConfig& hf) {
  const DeepseekConfig c = parse_deepseek_config(hf);
  const bool fp8 = c.fp8.enabled;
  const int64_t H = c.num_heads, hid = c.hidden_size, r = c.kv_lora_rank;
  auto scale = [&](std::vector<TensorSpec>& out, const std::string& w, int64_t rows, int64_t cols) {
    if (fp8)
      out.push_back({w + "_scale_inv",
                     {(rows + c.fp8.block_rows - 1) / c.fp8.block_rows,
                      (cols + c.fp8.block_cols - 1) / c.fp8.block_cols},
                     true});
  };
  std::vector<TensorSpec> out;
  out.push_back({"model.embed_tokens.weight", {c.vocab_size, hid}});
  out.push_back({"model.norm.weight", {hid}});
  out.push_back({"lm_head.weight", {c.vocab_size, hid}, c.tie_word_embeddings});
  for (int64_t i = 0; i < c.num_layers; ++i) {
    const std::string p = layer_prefix(i), a = p + "self_attn.";
    out.push_back({p + "input_layernorm.weight", {hid}});
    out.push_back({p + "post_attention_layernorm.weight", {hid}});
    auto lin = [&](const std::string& name, int64_t rows, int64_t cols) {
      out.push_back({name + ".weight", {rows, cols}});
      scale(out, name + ".weight", rows, cols);
    };
    if (c.q_lora_rank > 0) {
      lin(a + "q_a_proj", c.q_lora_rank, hid);
      out.push_back({a + "q_a_layernorm.weight", {c.q_lora_rank}});
      lin(a + "q_b_proj", H * c.qk_head_dim(), c.q_lora_rank);
    } else {
      lin(a + "q_proj", H * c.qk_head_dim(), hid);
    }
    lin(a + "kv_a_proj_with_mqa", r + c.qk_rope_head_dim, hid);
    out.push_back({a + "kv_a_layernorm.weight", {r}});
    lin(a + "kv_b_proj", H * (c.qk_nope_head_dim + c.v_head_dim), r);
    lin(a + "o_proj", hid, H * c.v_head_dim);
    const std::string m = p + "mlp.";
    if (!c.is_moe_layer(i)) {
      add_mlp_specs(out, m, hid, c.intermediate_size, fp8);
      continue;
    }
    out.push_back({m + "gate.weight", {c.n_routed_experts, hid}});
    if (c.is_v3 || c.topk_method == "noaux_tc")
      out.push_back({m + "gate.e_score_correction_bias", {c.n_routed_experts}});
    for (int64_t e = 0; e < c.n_routed_experts; ++e)
      add_mlp_specs(out, m + "experts." + std::to_string(e) + ".", hid, c.moe_intermediate_size,
                    fp8);
    if (c.n_shared_experts > 0)
      add_mlp_specs(out, m + "shared_experts.", hid, c.moe_intermediate_size * c.n_shared_experts,
                    fp8);
  }
  return out;
}

std::vector<KVLayerSpec> deepseek_kv_layout(const HFConfig& hf, DType dtype) {
  const DeepseekConfig c = parse_deepseek_config(hf);
  return std::vector<KVLayerSpec>(static_cast<size_t>(c.num_layers),
                                  KVLayerSpec{c.kv_cache_width(), dtype});
}

std::vector<std::string> deepseek_inspect_notes(const HFConfig& hf, const WeightStore* weights) {
  const DeepseekConfig c = parse_deepseek_config(hf);
  std::vector<std::string> notes = c.notes();
  if (weights) {
    int64_t skipped = 0;
    for (const std::string& name : weights->names()) {
      if (name.rfind("model.layers.", 0) != 0) continue;
      const size_t dot = name.find('.', 13);
      if (dot == std::string::npos) continue;
      try {
        if (std::stoll(name.substr(13, dot - 13)) >= c.num_layers) ++skipped;
      } catch (const std::exception&) {
      }
    }
    if (skipped > 0)
      notes.push_back("skipped " + std::to_string(skipped) +
                      " tensors of layers >= num_hidden_layers (" + std::to_string(c.num_layers) +
                      ", MTP)");
  }
  return notes;
}

void register_deepseek_models(ModelRegistry& r) {
  for (const char* arch : {"DeepseekV2ForCausalLM", "DeepseekV3ForCausalLM"}) {
    ModelEntry e;
    e.architecture = arch;
    e.kind = ModelKind::CausalLM;
    e.expected_tensors = deepseek_expected_tensors;
    e.tied_tensors = [](const HFConfig& hf) {
      return parse_deepseek_config(hf).tie_word_embeddings
                 ? std::vector<std::string>{"lm_head.weight"}
                 : std::vector<std::string>{};
    };
    e.kv_layout = deepseek_kv_layout;
    e.notes = deepseek_inspect_notes;
    e.make_causal_lm = [](const ModelFolder& folder, WeightStore ws, const LoadOptions& o) {
      return std::unique_ptr<CausalLM>(new DeepseekForCausalLM(folder.config(), ws, o));
    };
    r.add(std::move(e));
  }
}

}  // namespace deepfuse
