// The transformers-shaped C++ API (include/deepfuse/auto_model.h): folder -> registry ->
// family factory.
#include "deepfuse/auto_model.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "formats/model_folder.h"
#include "models/causal_lm.h"
#include "models/encoder.h"
#include "models/registry.h"

namespace deepfuse {
namespace {

LoadOptions to_load_options(const ModelOptions& o) {
  LoadOptions l;
  l.device = device_from_string(o.device);
  DF_CHECK(l.device == Device::CPU, Unsupported,
           "device '" << o.device << "': only the CPU backend runs models for now (expected cpu)");
  if (o.dtype != "auto") {
    const DType d = dtype_from_string(o.dtype, "dtype");
    DF_CHECK(d == DType::F32 || d == DType::BF16 || d == DType::F16, InvalidArgument,
             "dtype '" << o.dtype << "' (expected auto, float32, bfloat16 or float16)");
    l.weight_dtype = d;
    l.dtype = d;
  }
  return l;
}

const ModelEntry& entry_for(const ModelFolder& f) {
  const HFConfig& c = f.config();
  DF_CHECK(!c.architecture.empty(), FormatError,
           c.path << ": field 'architectures' is missing (expected e.g. [\"LlamaForCausalLM\"])");
  return ModelRegistry::instance().get(c.architecture);
}

}  // namespace

std::unique_ptr<CausalLM> load_causal_lm(const std::string& dir, const ModelOptions& opts) {
  const ModelFolder f = ModelFolder::open(dir);
  const ModelEntry& e = entry_for(f);
  DF_CHECK(e.kind == ModelKind::CausalLM && e.make_causal_lm, Unsupported,
           f.config_path() << ": architecture " << e.architecture << " is a "
                           << model_kind_name(e.kind) << ", not a causal language model");
  const LoadOptions lo = to_load_options(opts);
  return e.make_causal_lm(f, f.open_weights(), lo);
}

std::unique_ptr<EncoderModel> load_encoder(const std::string& dir, const ModelOptions& opts) {
  const ModelFolder f = ModelFolder::open(dir);
  const ModelEntry& e = entry_for(f);
  DF_CHECK(e.make_encoder, Unsupported,
           f.config_path() << ": architecture " << e.architecture << " is a "
                           << model_kind_name(e.kind) << ", not an encoder");
  const LoadOptions lo = to_load_options(opts);
  return e.make_encoder(f, f.open_weights(), lo);
}

AutoModelForCausalLM AutoModelForCausalLM::from_pretrained(const std::string& dir,
                                                           const ModelOptions& opts) {
  AutoModelForCausalLM m;
  m.model_ = load_causal_lm(dir, opts);
  m.gen_ = ModelFolder::open(dir).generation_config();
  return m;
}

const ModelInfo& AutoModelForCausalLM::info() const { return model_->info(); }

std::unique_ptr<KVCache> AutoModelForCausalLM::make_cache(int64_t max_tokens) const {
  constexpr int32_t kBlock = 16;
  const int64_t blocks = std::max<int64_t>(1, (max_tokens + kBlock - 1) / kBlock);
  return std::make_unique<KVCache>(model_->kv_layout(), kBlock, static_cast<int32_t>(blocks));
}

Tensor AutoModelForCausalLM::forward(const std::vector<int32_t>& ids) {
  DF_CHECK(!ids.empty(), InvalidArgument, "forward: no input ids");
  auto cache = make_cache(static_cast<int64_t>(ids.size()));
  std::vector<int32_t> table;
  cache->reserve(table, static_cast<int64_t>(ids.size()));
  return model_->forward(ForwardBatch::single(ids, 0, table, /*all_logits=*/true), *cache);
}

std::vector<int32_t> AutoModelForCausalLM::generate(const std::vector<int32_t>& ids,
                                                    int max_new_tokens, bool stop_at_eos) {
  DF_CHECK(!ids.empty(), InvalidArgument, "generate: empty prompt (expected at least one id)");
  DF_CHECK(max_new_tokens >= 0, InvalidArgument,
           "generate: max_new_tokens must be >= 0, got " << max_new_tokens);
  const int64_t limit = info().max_positions > 0 ? info().max_positions : INT32_MAX;
  const int64_t total = std::min<int64_t>(static_cast<int64_t>(ids.size()) + max_new_tokens, limit);
  DF_CHECK(static_cast<int64_t>(ids.size()) <= limit, InvalidArgument,
           "generate: prompt of " << ids.size() << " tokens exceeds the model's " << limit
                                  << " positions");
  auto cache = make_cache(total);
  std::vector<int32_t> table;
  cache->reserve(table, total);
  std::vector<int32_t> out;
  std::vector<int32_t> step = ids;
  int32_t context = 0;
  while (static_cast<int>(out.size()) < max_new_tokens &&
         context + static_cast<int64_t>(step.size()) < total + 1) {
    const Tensor logits =
        model_->forward(ForwardBatch::single(step, context, table, /*all_logits=*/false), *cache);
    context += static_cast<int32_t>(step.size());
    const float* p = logits.data<float>();
    const int64_t v = logits.dim(-1);
    const int32_t next = static_cast<int32_t>(std::max_element(p, p + v) - p);
    out.push_back(next);
    if (stop_at_eos && std::find(gen_.eos_token_ids.begin(), gen_.eos_token_ids.end(), next) !=
                           gen_.eos_token_ids.end())
      break;
    if (context >= total) break;
    step = {next};
  }
  return out;
}

AutoModel AutoModel::from_pretrained(const std::string& dir, const ModelOptions& opts) {
  AutoModel m;
  m.model_ = load_encoder(dir, opts);
  return m;
}

const EncoderInfo& AutoModel::info() const { return model_->info(); }
Tensor AutoModel::encode(const std::vector<int32_t>& ids) { return model_->encode(ids); }
std::vector<float> AutoModel::embed(const std::vector<int32_t>& ids) { return model_->embed(ids); }

const EncoderInfo& AutoModelForSequenceClassification::info() const { return model_->info(); }

AutoModelForSequenceClassification AutoModelForSequenceClassification::from_pretrained(
    const std::string& dir, const ModelOptions& opts) {
  AutoModelForSequenceClassification m;
  m.model_ = load_encoder(dir, opts);
  DF_CHECK(!m.model_->info().id2label.empty(), Unsupported,
           dir << ": " << m.model_->info().architecture
               << " has no classification head (expected a *ForSequenceClassification model)");
  return m;
}

Classification AutoModelForSequenceClassification::classify(const std::vector<int32_t>& ids) {
  Classification c;
  c.logits = model_->classify(ids);
  DF_CHECK(!c.logits.empty(), InternalError, "classifier returned no logits");
  const auto best = std::max_element(c.logits.begin(), c.logits.end());
  c.label_id = best - c.logits.begin();
  double sum = 0;
  for (float x : c.logits) sum += std::exp(static_cast<double>(x - *best));
  c.score = static_cast<float>(1.0 / sum);
  const auto& labels = model_->info().id2label;
  auto it = labels.find(c.label_id);
  c.label = it != labels.end() ? it->second : "LABEL_" + std::to_string(c.label_id);
  return c;
}

}  // namespace deepfuse
