// safetensors: memory-mapped reader with zero-copy tensor views, and a writer.
//
// File layout: u64 little-endian header length N, N bytes of UTF-8 JSON
// {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the data section; offsets are relative to the data section.
//
// The reader validates everything before any tensor is handed out: header length bounded
// (<= 100 MB and inside the file, checked before anything is allocated), JSON well formed,
// names unique and valid UTF-8, dtype known, shape non-negative, byte size = numel x dtype size
// (overflow checked), offsets inside the data section, begin <= end, no two tensors overlapping.
// Any violation is a FormatError naming the file, the tensor and what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/tensor.h"

namespace deepfuse {

// Headers larger than this are rejected before allocating (real headers are < 10 MB).
inline constexpr uint64_t kSafetensorsMaxHeaderBytes = 100ull * 1000 * 1000;

struct SafetensorsEntry {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  uint64_t begin = 0;  // byte offset relative to the data section
  uint64_t end = 0;    // one past the last byte
  uint64_t nbytes() const { return end - begin; }
};

class SafetensorsFile {
 public:
  // Maps and validates `path`. NotFound when missing, FormatError when malformed.
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_->path(); }
  // Entries in data-offset order.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // nullptr when absent.
  const SafetensorsEntry* find(const std::string& name) const;
  // Zero-copy view of a tensor's bytes; keeps the mapping alive. NotFound when absent.
  Tensor tensor(const std::string& name) const;
  Tensor tensor(const SafetensorsEntry& e) const;
  uint64_t file_size() const { return file_->size(); }

 private:
  SafetensorsFile() = default;
  std::shared_ptr<MappedFile> file_;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsEntry> entries_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// Parses and validates a header (the JSON text) against a data section of `data_size` bytes.
// `file` is used in error messages. Exposed for tests and fuzzing.
std::vector<SafetensorsEntry> parse_safetensors_header(
    const std::string& header, uint64_t data_size, const std::string& file,
    std::map<std::string, std::string>* metadata);

// Writes tensors (CPU, any dtype) to `path` atomically, in the given order, with the header
// padded to a multiple of 8 bytes so every tensor's data starts 8-byte aligned.
void write_safetensors(const std::string& path,
                       const std::vector<std::pair<std::string, Tensor>>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(const std::string& s);

}  // namespace deepfuse
