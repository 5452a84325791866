// A read-only memory-mapped file. Weights are served straight from the page cache: tensors
// borrow views into the mapping (zero copy) and keep it alive through a shared_ptr.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace deepfuse {

class MappedFile {
 public:
  // Maps `path` read-only. NotFound when it does not exist, FormatError when it is not a
  // regular file, Error when mmap fails. An empty file maps to size() == 0, data() == nullptr.
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }
  // Hints the kernel that the whole file will be read soon (MADV_WILLNEED).
  void prefetch() const;

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Reads a whole (small) file into a string; NotFound / Error with the path in the message.
std::string read_file(const std::string& path);
// Writes `content` to `path` atomically: a temporary file in the same folder, fsync, rename.
// Nothing half-written remains if the process dies mid-way.
void write_file_atomic(const std::string& path, const std::string& content);

}  // namespace deepfuse
