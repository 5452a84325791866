#include "formats/weight_store.h"

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_reader.h"

namespace deepfuse {

namespace {
constexpr size_t kInMemory = std::numeric_limits<size_t>::max();
}

WeightStore WeightStore::open_file(const std::string& path) {
  WeightStore s;
  s.source_ = path;
  s.files_.push_back(SafetensorsFile::open(path));
  for (const auto& e : s.files_[0]->entries()) s.where_[e.name] = 0;
  return s;
}

WeightStore WeightStore::open_index(const std::string& index_path) {
  namespace fs = std::filesystem;
  WeightStore s;
  s.source_ = index_path;
  nlohmann::json j = load_json_file(index_path);
  if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
    throw FormatError(index_path + ": expected an object with a 'weight_map' object");
  const fs::path dir = fs::path(index_path).parent_path();
  std::map<std::string, size_t> shard_index;
  for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
    if (!it.value().is_string())
      throw FormatError(index_path + ": weight_map['" + it.key() + "'] must be a file name");
    const std::string shard = it.value().get<std::string>();
    // Shards must stay inside the model folder: no paths, no '..'.
    if (shard.empty() || shard.find('/') != std::string::npos ||
        shard.find('\\') != std::string::npos || shard == "." || shard == "..")
      throw FormatError(index_path + ": weight_map['" + it.key() + "'] = '" + shard +
                        "' must be a plain file name in the model folder");
    auto sit = shard_index.find(shard);
    if (sit == shard_index.end()) {
      s.files_.push_back(SafetensorsFile::open((dir / shard).string()));
      sit = shard_index.emplace(shard, s.files_.size() - 1).first;
    }
    const auto& f = s.files_[sit->second];
    if (!f->find(it.key()))
      throw FormatError(index_path + ": tensor '" + it.key() + "' is mapped to " + shard +
                        " but that file does not contain it");
    s.where_[it.key()] = sit->second;
  }
  // Tensors present in a shard but missing from the map are still usable (HF loads by file).
  for (size_t i = 0; i < s.files_.size(); ++i)
    for (const auto& e : s.files_[i]->entries()) s.where_.emplace(e.name, i);
  return s;
}

WeightStore WeightStore::from_tensors(std::map<std::string, Tensor> tensors) {
  WeightStore s;
  s.source_ = "<memory>";
  for (auto& [k, v] : tensors) s.where_[k] = kInMemory;
  s.memory_ = std::move(tensors);
  return s;
}

Tensor WeightStore::get(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) throw NotFound(source_ + ": no tensor named '" + name + "'");
  if (it->second == kInMemory) return memory_.at(name);
  return files_[it->second]->tensor(name);
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [k, v] : where_) out.push_back(k);
  return out;
}

const SafetensorsEntry* WeightStore::entry(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end() || it->second == kInMemory) return nullptr;
  return files_[it->second]->find(name);
}

DType WeightStore::dtype(const std::string& name) const {
  if (const auto* e = entry(name)) return e->dtype;
  return get(name).dtype();
}

Shape WeightStore::shape(const std::string& name) const {
  if (const auto* e = entry(name)) return e->shape;
  return get(name).shape();
}

}  // namespace deepfuse
