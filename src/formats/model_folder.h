// A Hugging Face model folder on disk: finds config.json, the weights (single file or sharded
// index), tokenizer files, generation config and sentence-transformers pooling files.
#pragma once

#include <optional>
#include <string>

#include "formats/hf_config.h"
#include "formats/weight_store.h"

namespace deepfuse {

class ModelFolder {
 public:
  // NotFound when `dir` is not a folder or has no config.json.
  static ModelFolder open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::string config_path() const { return dir_ + "/config.json"; }
  const HFConfig& config() const { return config_; }
  // model.safetensors.index.json when present, else model.safetensors, else the only
  // *.safetensors file. NotFound (listing what was looked for) when there is none.
  std::string weights_path() const;
  WeightStore open_weights() const;

  // Optional files: the path when present.
  std::optional<std::string> file(const std::string& rel) const;
  std::optional<std::string> tokenizer_json() const { return file("tokenizer.json"); }
  std::optional<std::string> tokenizer_config() const { return file("tokenizer_config.json"); }
  std::optional<std::string> generation_config_path() const {
    return file("generation_config.json");
  }
  // generation_config.json when present, else the generation fields of config.json.
  GenerationDefaults generation_config() const;

 private:
  std::string dir_;
  HFConfig config_;
};

}  // namespace deepfuse
