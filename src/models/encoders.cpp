// Encoders: BertModel, DistilBertModel, XLMRobertaModel (and RoBERTa) for embeddings, and
// their *ForSequenceClassification heads. Post-LayerNorm transformer blocks with bidirectional
// attention over one unpadded sequence.
//
// Pooling follows sentence-transformers when the folder has modules.json / 1_Pooling: CLS or
// mean over tokens, then L2 normalisation when a Normalize module is listed. Without those
// files: mean pooling, no normalisation (sentence-transformers' default for a plain model).
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/json_fields.h"
#include "models/encoder.h"
#include "models/model_util.h"
#include "models/registry.h"
#include "ops/ops.h"

namespace deepfuse {

std::vector<float> EncoderModel::embed(const std::vector<int32_t>& ids) {
  const Tensor h = encode(ids);  // [n, hidden]
  const int64_t n = h.dim(0), d = h.dim(1);
  const float* p = h.data<float>();
  std::vector<float> v(static_cast<size_t>(d), 0.f);
  if (info().pooling == Pooling::Cls) {
    std::copy(p, p + d, v.begin());
  } else {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) v[static_cast<size_t>(j)] += p[i * d + j];
    for (float& x : v) x /= static_cast<float>(n);
  }
  if (info().normalize) {
    double ss = 0;
    for (float x : v) ss += static_cast<double>(x) * x;
    const float inv = static_cast<float>(1.0 / std::max(std::sqrt(ss), 1e-12));
    for (float& x : v) x *= inv;
  }
  return v;
}

std::vector<float> EncoderModel::classify(const std::vector<int32_t>&) {
  throw Unsupported(info().architecture +
                    " has no classification head (expected a "
                    "*ForSequenceClassification checkpoint)");
}

namespace {

enum class EncFamily { Bert, Roberta, DistilBert };

struct EncSpec {
  EncFamily family;
  bool classifier;
  const char* head_prefix;  // prefix of the encoder tensors in classification checkpoints
};

EncoderConfig parse_config(const HFConfig& cfg, EncFamily f) {
  EncoderConfig c =
      f == EncFamily::DistilBert ? parse_distilbert_config(cfg) : parse_bert_config(cfg);
  if (f == EncFamily::Roberta) c.roberta_positions = true;
  return c;
}

// Encoder tensors live under a prefix in *ForSequenceClassification checkpoints ("bert.") and
// at the root in plain / sentence-transformers checkpoints.
std::string enc_prefix(const WeightStore& w, const EncSpec& s) {
  const std::string p = s.head_prefix;
  return w.contains(p + "embeddings.word_embeddings.weight") ? p : "";
}

std::vector<TensorSpec> enc_tensors(const EncoderConfig& c, const EncSpec& s,
                                    const std::string& p) {
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const int64_t L = static_cast<int64_t>(c.id2label.size());
  std::vector<TensorSpec> t;
  t.push_back({p + "embeddings.word_embeddings.weight", {c.vocab_size, H}});
  t.push_back({p + "embeddings.position_embeddings.weight", {c.max_position_embeddings, H}});
  if (c.type_vocab_size > 0)
    t.push_back({p + "embeddings.token_type_embeddings.weight", {c.type_vocab_size, H}});
  t.push_back({p + "embeddings.LayerNorm.weight", {H}});
  t.push_back({p + "embeddings.LayerNorm.bias", {H}});
  auto lin = [&](const std::string& n, int64_t out, int64_t in) {
    t.push_back({n + ".weight", {out, in}});
    t.push_back({n + ".bias", {out}});
  };
  auto ln = [&](const std::string& n) {
    t.push_back({n + ".weight", {H}});
    t.push_back({n + ".bias", {H}});
  };
  for (int64_t i = 0; i < c.num_layers; ++i) {
    if (s.family == EncFamily::DistilBert) {
      const std::string b = p + "transformer.layer." + std::to_string(i) + ".";
      lin(b + "attention.q_lin", H, H);
      lin(b + "attention.k_lin", H, H);
      lin(b + "attention.v_lin", H, H);
      lin(b + "attention.out_lin", H, H);
      ln(b + "sa_layer_norm");
      lin(b + "ffn.lin1", I, H);
      lin(b + "ffn.lin2", H, I);
      ln(b + "output_layer_norm");
    } else {
      const std::string b = p + "encoder.layer." + std::to_string(i) + ".";
      lin(b + "attention.self.query", H, H);
      lin(b + "attention.self.key", H, H);
      lin(b + "attention.self.value", H, H);
      lin(b + "attention.output.dense", H, H);
      ln(b + "attention.output.LayerNorm");
      lin(b + "intermediate.dense", I, H);
      lin(b + "output.dense", H, I);
      ln(b + "output.LayerNorm");
    }
  }
  if (s.classifier) {
    DF_CHECK(L > 0, FormatError, "sequence classifier config has no id2label");
    if (s.family == EncFamily::Bert) {
      lin(p + "pooler.dense", H, H);
      lin("classifier", L, H);
    } else if (s.family == EncFamily::Roberta) {
      lin("classifier.dense", H, H);
      lin("classifier.out_proj", L, H);
    } else {
      lin("pre_classifier", H, H);
      lin("classifier", L, H);
    }
  } else if (s.family != EncFamily::DistilBert) {
    t.push_back({p + "pooler.dense.weight", {H, H}, true});  // unused by embeddings
    t.push_back({p + "pooler.dense.bias", {H}, true});
  }
  return t;
}

// Bidirectional softmax attention of one unpadded sequence: out [n, nh, hd].
void full_attention(const Tensor& q, const Tensor& k, const Tensor& v, Tensor& out) {
  const int64_t n = q.dim(0), nh = q.dim(1), hd = q.dim(2);
  const float scale = 1.f / std::sqrt(static_cast<float>(hd));
  const float* Q = q.data<float>();
  const float* K = k.data<float>();
  const float* V = v.data<float>();
  float* O = out.data<float>();
  ThreadPool::current().parallel_for(n * nh, 1, [&](int64_t b, int64_t e) {
    std::vector<float> s(static_cast<size_t>(n));
    for (int64_t r = b; r < e; ++r) {
      const int64_t i = r / nh, h = r % nh;
      const float* qi = Q + (i * nh + h) * hd;
      float mx = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        const float* kj = K + (j * nh + h) * hd;
        float dot = 0.f;
        for (int64_t d = 0; d < hd; ++d) dot += qi[d] * kj[d];
        s[static_cast<size_t>(j)] = dot * scale;
        mx = std::max(mx, s[static_cast<size_t>(j)]);
      }
      float sum = 0.f;
      for (auto& x : s) sum += (x = std::exp(x - mx));
      float* o = O + (i * nh + h) * hd;
      std::fill(o, o + hd, 0.f);
      for (int64_t j = 0; j < n; ++j) {
        const float w = s[static_cast<size_t>(j)] / sum;
        const float* vj = V + (j * nh + h) * hd;
        for (int64_t d = 0; d < hd; ++d) o[d] += w * vj[d];
      }
    }
  });
}

struct Lin {
  Tensor w, b;
  Tensor operator()(const Tensor& x) const { return ops::linear(x, w, b.defined() ? &b : nullptr); }
};
struct Norm {
  Tensor w, b;
};

class Encoder final : public EncoderModel {
 public:
  Encoder(const ModelFolder& folder, const WeightStore& w, const LoadOptions& opts,
          const EncSpec& s)
      : s_(s), c_(parse_config(folder.config(), s.family)) {
    DF_CHECK(!c_.sinusoidal_positions, Unsupported,
             folder.config_path() << ": sinusoidal_pos_embds is not supported");
    const std::string p = enc_prefix(w, s);
    validate_weights(w, enc_tensors(c_, s, p), w.source());
    act_ = ops::activation_from_string(c_.hidden_act);
    auto get = [&](const std::string& n) { return load_weight(w, n, opts); };
    auto lin = [&](const std::string& n) { return Lin{get(n + ".weight"), get(n + ".bias")}; };
    auto norm = [&](const std::string& n) { return Norm{get(n + ".weight"), get(n + ".bias")}; };
    word_ = get(p + "embeddings.word_embeddings.weight");
    pos_ = get(p + "embeddings.position_embeddings.weight");
    if (c_.type_vocab_size > 0) type_ = get(p + "embeddings.token_type_embeddings.weight");
    emb_norm_ = norm(p + "embeddings.LayerNorm");
    for (int64_t i = 0; i < c_.num_layers; ++i) {
      Layer L;
      if (s.family == EncFamily::DistilBert) {
        const std::string b = p + "transformer.layer." + std::to_string(i) + ".";
        L.q = lin(b + "attention.q_lin");
        L.k = lin(b + "attention.k_lin");
        L.v = lin(b + "attention.v_lin");
        L.o = lin(b + "attention.out_lin");
        L.attn_norm = norm(b + "sa_layer_norm");
        L.up = lin(b + "ffn.lin1");
        L.down = lin(b + "ffn.lin2");
        L.out_norm = norm(b + "output_layer_norm");
      } else {
        const std::string b = p + "encoder.layer." + std::to_string(i) + ".";
        L.q = lin(b + "attention.self.query");
        L.k = lin(b + "attention.self.key");
        L.v = lin(b + "attention.self.value");
        L.o = lin(b + "attention.output.dense");
        L.attn_norm = norm(b + "attention.output.LayerNorm");
        L.up = lin(b + "intermediate.dense");
        L.down = lin(b + "output.dense");
        L.out_norm = norm(b + "output.LayerNorm");
      }
      layers_.push_back(std::move(L));
    }
    if (s.classifier) {
      if (s.family == EncFamily::Bert) {
        head_dense_ = lin(p + "pooler.dense");
        head_out_ = lin("classifier");
      } else if (s.family == EncFamily::Roberta) {
        head_dense_ = lin("classifier.dense");
        head_out_ = lin("classifier.out_proj");
      } else {
        head_dense_ = lin("pre_classifier");
        head_out_ = lin("classifier");
      }
    }
    info_.architecture = folder.config().architecture;
    info_.model_type = folder.config().model_type;
    info_.vocab_size = c_.vocab_size;
    info_.hidden_size = c_.hidden_size;
    info_.max_positions = c_.roberta_positions ? c_.max_position_embeddings - c_.pad_token_id - 1
                                               : c_.max_position_embeddings;
    info_.num_parameters = count_parameters(w, {});
    info_.id2label = c_.id2label;
    read_pooling(folder);
  }

  const EncoderInfo& info() const override { return info_; }

  Tensor encode(const std::vector<int32_t>& ids) override {
    const int64_t n = static_cast<int64_t>(ids.size()), H = c_.hidden_size, nh = c_.num_heads,
                  hd = H / nh;
    DF_CHECK(n > 0, InvalidArgument, "encode: empty input (expected at least one token id)");
    DF_CHECK(
        n <= info_.max_positions, InvalidArgument,
        "encode: " << n << " tokens exceed the model's " << info_.max_positions << " positions");
    std::vector<int32_t> pos(static_cast<size_t>(n));
    // RoBERTa / XLM-R number positions from padding_idx + 1 (no padding in one sequence).
    const int32_t first = c_.roberta_positions ? static_cast<int32_t>(c_.pad_token_id + 1) : 0;
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = first + static_cast<int32_t>(i);
    Tensor x = ops::embedding(word_, ids);  // [n, H]
    ops::add_inplace(x, ops::embedding(pos_, pos));
    if (type_.defined()) ops::add_bias_inplace(x, type_.row(0));  // token_type_ids = 0
    const float eps = static_cast<float>(c_.layer_norm_eps);
    ops::layer_norm(x, emb_norm_.w, &emb_norm_.b, eps, x);
    Tensor attn = Tensor::empty(DType::F32, {n, nh, hd});
    for (const Layer& L : layers_) {
      const Tensor q = L.q(x).reshape({n, nh, hd});
      const Tensor k = L.k(x).reshape({n, nh, hd});
      const Tensor v = L.v(x).reshape({n, nh, hd});
      full_attention(q, k, v, attn);
      Tensor a = L.o(attn.reshape({n, H}));  // [n, H]
      ops::add_inplace(a, x);
      ops::layer_norm(a, L.attn_norm.w, &L.attn_norm.b, eps, a);
      Tensor m = L.up(a);  // [n, I]
      ops::act_inplace(m, act_);
      x = L.down(m);  // [n, H]
      ops::add_inplace(x, a);
      ops::layer_norm(x, L.out_norm.w, &L.out_norm.b, eps, x);
    }
    return x;
  }

  std::vector<float> classify(const std::vector<int32_t>& ids) override {
    if (!s_.classifier) return EncoderModel::classify(ids);
    const Tensor h = encode(ids);
    Tensor cls = h.slice_rows(0, 1).clone();  // [1, H]: the first token ([CLS] / <s>)
    Tensor d = head_dense_(cls);
    if (s_.family == EncFamily::DistilBert) {
      ops::act_inplace(d, Activation::ReLU);
    } else {
      float* p = d.data<float>();
      for (int64_t i = 0; i < d.numel(); ++i) p[i] = std::tanh(p[i]);
    }
    return head_out_(d).to_f32_vector();
  }

 private:
  void read_pooling(const ModelFolder& folder) {
    info_.pooling = Pooling::Mean;
    info_.normalize = false;
    const auto modules = folder.file("modules.json");
    if (!modules) return;
    const nlohmann::json mj = nlohmann::json::parse(read_file(*modules), nullptr, false);
    DF_CHECK(mj.is_array(), FormatError, *modules << ": expected a JSON list of modules");
    for (const auto& m : mj) {
      if (!m.is_object()) continue;
      const std::string type = m.value("type", "");
      const std::string path = m.value("path", "");
      if (type.find("Normalize") != std::string::npos) info_.normalize = true;
      if (type.find("Pooling") != std::string::npos) {
        const auto cfg = folder.file(path + "/config.json");
        if (!cfg) continue;
        const nlohmann::json pj = JsonFields::load_file(*cfg);
        const JsonFields f(pj, *cfg);
        if (f.get_bool("pooling_mode_cls_token", false)) {
          info_.pooling = Pooling::Cls;
        } else if (f.get_bool("pooling_mode_mean_tokens", false)) {
          info_.pooling = Pooling::Mean;
        } else {
          throw Unsupported(*cfg + ": only CLS or mean pooling is supported");
        }
      }
    }
  }

  struct Layer {
    Lin q, k, v, o, up, down;
    Norm attn_norm, out_norm;
  };
  EncSpec s_;
  EncoderConfig c_;
  Activation act_;
  Tensor word_, pos_, type_;
  Norm emb_norm_;
  std::vector<Layer> layers_;
  Lin head_dense_, head_out_;
  EncoderInfo info_;
};

void add_encoder(ModelRegistry& r, const char* arch, EncSpec s) {
  ModelEntry e;
  e.architecture = arch;
  e.kind = s.classifier ? ModelKind::SequenceClassifier : ModelKind::Encoder;
  e.expected_tensors_in = [s](const HFConfig& cfg, const WeightStore& w) {
    return enc_tensors(parse_config(cfg, s.family), s, enc_prefix(w, s));
  };
  e.tied_tensors = [](const HFConfig&) { return std::vector<std::string>{}; };
  e.kv_layout = [](const HFConfig&, DType) { return std::vector<KVLayerSpec>{}; };
  e.make_encoder = [s](const ModelFolder& f, WeightStore w, const LoadOptions& o) {
    return std::unique_ptr<EncoderModel>(new Encoder(f, w, o, s));
  };
  r.add(std::move(e));
}

}  // namespace

void register_encoder_models(ModelRegistry& r) {
  add_encoder(r, "BertModel", {EncFamily::Bert, false, "bert."});
  add_encoder(r, "BertForSequenceClassification", {EncFamily::Bert, true, "bert."});
  add_encoder(r, "XLMRobertaModel", {EncFamily::Roberta, false, "roberta."});
  add_encoder(r, "XLMRobertaForSequenceClassification", {EncFamily::Roberta, true, "roberta."});
  add_encoder(r, "RobertaModel", {EncFamily::Roberta, false, "roberta."});
  add_encoder(r, "RobertaForSequenceClassification", {EncFamily::Roberta, true, "roberta."});
  add_encoder(r, "DistilBertModel", {EncFamily::DistilBert, false, "distilbert."});
  add_encoder(r, "DistilBertForSequenceClassification",
              {EncFamily::DistilBert, true, "distilbert."});
}

}  // namespace deepfuse
