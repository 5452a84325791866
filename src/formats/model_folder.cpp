#include "formats/model_folder.h"

#include <filesystem>
#include <vector>

#include "core/error.h"

namespace deepfuse {

namespace fs = std::filesystem;

ModelFolder ModelFolder::open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw NotFound(dir +
                   ": model folder not found (expected a folder with config.json and "
                   "*.safetensors)");
  ModelFolder m;
  m.dir_ = dir;
  while (m.dir_.size() > 1 && m.dir_.back() == '/') m.dir_.pop_back();
  if (!fs::is_regular_file(m.config_path(), ec))
    throw NotFound(m.config_path() + ": no config.json in the model folder");
  m.config_ = HFConfig::load(m.config_path());
  return m;
}

std::optional<std::string> ModelFolder::file(const std::string& rel) const {
  std::error_code ec;
  const std::string p = dir_ + "/" + rel;
  if (fs::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

std::string ModelFolder::weights_path() const {
  if (auto p = file("model.safetensors.index.json")) return *p;
  if (auto p = file("model.safetensors")) return *p;
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec))
    if (e.is_regular_file(ec) && e.path().extension() == ".safetensors")
      found.push_back(e.path().string());
  if (found.size() == 1) return found[0];
  if (found.empty())
    throw NotFound(dir_ +
                   ": no weights (expected model.safetensors or "
                   "model.safetensors.index.json)");
  throw FormatError(dir_ + ": " + std::to_string(found.size()) +
                    " .safetensors files but no model.safetensors.index.json to say which "
                    "tensor is where");
}

WeightStore ModelFolder::open_weights() const {
  const std::string p = weights_path();
  if (p.size() >= 5 && p.compare(p.size() - 5, 5, ".json") == 0) return WeightStore::open_index(p);
  return WeightStore::open_file(p);
}

GenerationDefaults ModelFolder::generation_config() const {
  if (auto p = generation_config_path()) return load_generation_defaults(*p);
  return generation_defaults_from_json(config_.raw, config_.path);
}

}  // namespace deepfuse
