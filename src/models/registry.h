// Architecture registry: config.json "architectures"[0] -> how to build and describe a model.
//
// Architecture knowledge lives in models/<family>.cpp; each family adds its entries through one
// register_<family>_models() call listed in registry.cpp. Nothing else switches on architecture:
// `deepfuse inspect`, the loaders and the C++ API all go through find()/get().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/hf_config.h"
#include "formats/model_folder.h"
#include "formats/weight_store.h"
#include "models/causal_lm.h"
#include "models/encoder.h"

namespace deepfuse {

enum class ModelKind { CausalLM, Encoder, SequenceClassifier };
const char* model_kind_name(ModelKind k);

// One tensor a checkpoint of an architecture is expected to hold.
struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  bool optional = false;  // e.g. lm_head.weight when embeddings are tied, BERT's pooler
};

// How to load a model.
struct LoadOptions {
  // Compute / KV-cache dtype request (f32 default). Families whose kernels run in f32 treat
  // bf16/f16 here as "weights in that dtype" when weight_dtype is unset.
  DType dtype = DType::F32;
  // Weight dtype. Unset: keep the checkpoint's dtype, borrowed from the mmap (zero copy);
  // set (f32 / bf16 / f16): weights of another dtype are converted once at load.
  // Activations are always f32.
  std::optional<DType> weight_dtype;
  Device device = Device::CPU;
};

struct ModelEntry {
  std::string architecture;  // "LlamaForCausalLM"
  ModelKind kind = ModelKind::CausalLM;
  // Tensors a checkpoint must (or may) contain, with shapes, for this config. Set one of the
  // two; the second lets a family pick between name prefixes checkpoints use ("transformer.",
  // "bert.", none). Callers use expected().
  std::function<std::vector<TensorSpec>(const HFConfig&)> expected_tensors;
  std::function<std::vector<TensorSpec>(const HFConfig&, const WeightStore& weights)>
      expected_tensors_in;
  std::vector<TensorSpec> expected(const HFConfig& cfg, const WeightStore& weights) const {
    return expected_tensors_in ? expected_tensors_in(cfg, weights) : expected_tensors(cfg);
  }
  // Tensors that duplicate another when the config ties them ({"lm_head.weight"}): counted once.
  std::function<std::vector<std::string>(const HFConfig&)> tied_tensors;
  // KV cache layout per layer (elements per token, dtype) for a given cache dtype.
  std::function<std::vector<KVLayerSpec>(const HFConfig&, DType)> kv_layout;
  // Optional lines `deepfuse inspect` prints for this family (cache layout, skipped MTP
  // layers, load-time dequantisation); `weights` is null for a config-only folder.
  std::function<std::vector<std::string>(const HFConfig&, const WeightStore* weights)> notes;
  // Factories; only the one matching `kind` is set.
  std::function<std::unique_ptr<CausalLM>(const ModelFolder&, WeightStore, const LoadOptions&)>
      make_causal_lm;
  std::function<std::unique_ptr<EncoderModel>(const ModelFolder&, WeightStore, const LoadOptions&)>
      make_encoder;
};

class ModelRegistry {
 public:
  static ModelRegistry& instance();
  void add(ModelEntry e);  // InternalError on a duplicate architecture
  const ModelEntry* find(const std::string& architecture) const;
  // Unsupported naming the architecture and listing the supported ones when absent.
  const ModelEntry& get(const std::string& architecture) const;
  std::vector<std::string> architectures() const;

 private:
  ModelRegistry();
  std::vector<ModelEntry> entries_;
};

// Checks that `weights` holds every required tensor of `expected` with the expected shape;
// FormatError naming the tensor, its shape and the expected shape otherwise.
void validate_weights(const WeightStore& weights, const std::vector<TensorSpec>& expected,
                      const std::string& where);

}  // namespace deepfuse
