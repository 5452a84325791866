// Tensor: a dtype, a shape and contiguous row-major storage on one device.
//
// Conventions used across deepfuse (stated once here):
// - Shapes are listed outermost first: a [n_tokens, hidden] activation has `hidden` contiguous
//   elements per token. Shape comments in code use the same order: `// [n_tokens, n_heads,
//   head_dim]`.
// - Linear weights keep Hugging Face's layout [out_features, in_features] (torch nn.Linear), so
//   y = x W^T; GPT-2's Conv1D weights ([in, out]) are transposed once at load time.
// - A Tensor is always contiguous; views (reshape, row slices) share storage without copying.
// - Storage is either owned (allocated here, freed with the last reference) or borrowed (a
//   memory-mapped file or a caller's buffer, kept alive by an opaque keep-alive handle).
// - Device tags say where the bytes live; CPU kernels never dereference a CUDA tensor.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "deepfuse/dtype.h"

namespace deepfuse {

enum class Device : uint8_t { CPU, CUDA };
const char* device_name(Device d);
Device device_from_string(const std::string& s);  // "cpu", "cuda" (InvalidArgument otherwise)

// Up to 8 dimensions, stored inline (no heap allocation per tensor).
class Shape {
 public:
  static constexpr int kMaxDims = 8;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(const std::vector<int64_t>& dims);

  int ndim() const { return ndim_; }
  int64_t operator[](int i) const { return dims_[static_cast<size_t>(i)]; }
  int64_t& operator[](int i) { return dims_[static_cast<size_t>(i)]; }
  int64_t numel() const;
  std::vector<int64_t> to_vector() const { return {dims_.begin(), dims_.begin() + ndim_}; }
  std::string str() const;  // "[2, 3, 4]"
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  std::array<int64_t, kMaxDims> dims_{};
  int ndim_ = 0;
};

// The bytes behind one or more tensors.
class Storage {
 public:
  // Owning allocation of `bytes` on `device`, 64-byte aligned on the CPU (AVX-512 lines).
  static std::shared_ptr<Storage> allocate(size_t bytes, Device device);
  // Borrowed memory; `keepalive` holds whatever owns it (a mapped file) for the storage's life.
  static std::shared_ptr<Storage> borrow(void* data, size_t bytes, Device device,
                                         std::shared_ptr<const void> keepalive);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  Device device() const { return device_; }
  bool owned() const { return owned_; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t bytes_ = 0;
  Device device_ = Device::CPU;
  bool owned_ = false;
  std::shared_ptr<const void> keepalive_;
};

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised tensor (CPU memory is not zeroed: kernels overwrite it).
  static Tensor empty(DType dtype, Shape shape, Device device = Device::CPU);
  static Tensor zeros(DType dtype, Shape shape, Device device = Device::CPU);
  // View of memory owned by someone else; `keepalive` (may be null) is held while views live.
  static Tensor borrow(void* data, DType dtype, Shape shape, Device device = Device::CPU,
                       std::shared_ptr<const void> keepalive = nullptr);
  // Copies a host vector into a new f32 / i32 tensor of the given shape.
  static Tensor from_vector(const std::vector<float>& v, Shape shape);
  static Tensor from_vector(const std::vector<int32_t>& v, Shape shape);

  bool defined() const { return storage_ != nullptr; }
  DType dtype() const { return dtype_; }
  Device device() const { return storage_ ? storage_->device() : Device::CPU; }
  const Shape& shape() const { return shape_; }
  int ndim() const { return shape_.ndim(); }
  // Size of dimension `i`; negative `i` counts from the end (-1 = last).
  int64_t dim(int i) const;
  int64_t numel() const { return shape_.numel(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  // True when this tensor owns its storage (false for mmap-borrowed weights).
  bool owns_storage() const { return storage_ && storage_->owned(); }

  void* raw() const { return static_cast<char*>(storage_->data()) + offset_; }
  template <typename T>
  T* data() const {
    return static_cast<T*>(raw());
  }

  // Same bytes, new shape with the same element count. One dimension may be -1 (inferred).
  Tensor reshape(std::initializer_list<int64_t> dims) const;
  Tensor reshape(const Shape& shape) const;
  // Rows [start, start+len) along dimension 0; shares storage.
  Tensor slice_rows(int64_t start, int64_t len) const;
  // Row `i` along dimension 0 with that dimension removed; shares storage.
  Tensor row(int64_t i) const;
  // Deep copy into a new owning tensor of `dtype` (float conversions RNE); same device (CPU).
  Tensor to(DType dtype) const;
  Tensor clone() const { return to(dtype_); }
  // Copies to `device` (CPU<->CUDA needs a CUDA build; Unsupported otherwise).
  Tensor to_device(Device device) const;
  // Reads all elements as f32 (float dtypes only); convenient for tests and tools.
  std::vector<float> to_f32_vector() const;

  std::string describe() const;  // "bfloat16[2, 3] cpu"

 private:
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;  // in bytes
  DType dtype_ = DType::F32;
  Shape shape_;
};

}  // namespace deepfuse
