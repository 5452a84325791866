// All tensors of a model folder: one model.safetensors, or the shards named by
// model.safetensors.index.json. Tensors are zero-copy views into the mapped files.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "formats/safetensors.h"

namespace deepfuse {

class WeightStore {
 public:
  // Opens a single .safetensors file.
  static WeightStore open_file(const std::string& path);
  // Opens the shards listed in a model.safetensors.index.json ("weight_map": {name: file}).
  // Shard names must be plain file names in the index's folder; every tensor the index names
  // must be in the shard it names.
  static WeightStore open_index(const std::string& index_path);
  // Builds a store from in-memory tensors (tests, weights derived at load time).
  static WeightStore from_tensors(std::map<std::string, Tensor> tensors);

  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  // Zero-copy view; NotFound naming the tensor when absent.
  Tensor get(const std::string& name) const;
  // Names in sorted order.
  std::vector<std::string> names() const;
  // Entry (dtype, shape, byte range) of a tensor; nullptr when absent or in-memory.
  const SafetensorsEntry* entry(const std::string& name) const;
  DType dtype(const std::string& name) const;
  Shape shape(const std::string& name) const;
  // Files backing the store (for messages and prefetch).
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  // Where the weights came from (a file or an index), for error messages.
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // name -> index in files_ (or SIZE_MAX: memory_)
  std::map<std::string, Tensor> memory_;
};

}  // namespace deepfuse
