#include "models/registry.h"

#include <algorithm>

#include "core/error.h"

namespace deepfuse {

// One line per family (models/<family>.cpp defines it).
void register_llama_models(ModelRegistry& r);
void register_gpt2_models(ModelRegistry& r);
void register_gpt_neo_models(ModelRegistry& r);
void register_encoder_models(ModelRegistry& r);
void register_deepseek_models(ModelRegistry& r);

const char* model_kind_name(ModelKind k) {
  switch (k) {
    case ModelKind::CausalLM:
      return "causal_lm";
    case ModelKind::Encoder:
      return "encoder";
    case ModelKind::SequenceClassifier:
      return "sequence_classifier";
  }
  return "unknown";
}

ModelRegistry::ModelRegistry() {
  register_llama_models(*this);
  register_gpt2_models(*this);
  register_gpt_neo_models(*this);
  register_encoder_models(*this);
  register_deepseek_models(*this);
}

ModelRegistry& ModelRegistry::instance() {
  static ModelRegistry r;
  return r;
}

void ModelRegistry::add(ModelEntry e) {
  if (find(e.architecture)) throw InternalError("architecture registered twice: " + e.architecture);
  entries_.push_back(std::move(e));
}

const ModelEntry* ModelRegistry::find(const std::string& architecture) const {
  for (const auto& e : entries_)
    if (e.architecture == architecture) return &e;
  return nullptr;
}

const ModelEntry& ModelRegistry::get(const std::string& architecture) const {
  if (const ModelEntry* e = find(architecture)) return *e;
  std::string list;
  for (const auto& a : architectures()) list += (list.empty() ? "" : ", ") + a;
  throw Unsupported("architecture '" + architecture + "' is not supported (supported: " + list +
                    ")");
}

std::vector<std::string> ModelRegistry::architectures() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.architecture);
  std::sort(out.begin(), out.end());
  return out;
}

void validate_weights(const WeightStore& weights, const std::vector<TensorSpec>& expected,
                      const std::string& where) {
  for (const TensorSpec& s : expected) {
    const Shape want(s.shape);
    if (!weights.contains(s.name)) {
      if (s.optional) continue;
      throw FormatError(where + ": tensor '" + s.name + "' is missing (expected shape " +
                        want.str() + ")");
    }
    const Shape got = weights.shape(s.name);
    if (got != want)
      throw FormatError(where + ": tensor '" + s.name + "' has shape " + got.str() + ", expected " +
                        want.str());
  }
}

}  // namespace deepfuse
