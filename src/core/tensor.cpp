#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>

#include "core/device_memory.h"
#include "core/error.h"

namespace deepfuse {

const char* device_name(Device d) {
  return d == Device::CPU ? "cpu" : "cuda";
}

Device device_from_string(const std::string& s) {
  if (s == "cpu") return Device::CPU;
  if (s == "cuda" || s.rfind("cuda:", 0) == 0) return Device::CUDA;
  throw InvalidArgument("device: unknown device '" + s + "' (expected cpu or cuda)");
}

Shape::Shape(std::initializer_list<int64_t> dims) {
  DF_CHECK(dims.size() <= kMaxDims, InvalidArgument,
           "shape has " << dims.size() << " dimensions, at most " << kMaxDims << " supported");
  for (int64_t d : dims) dims_[static_cast<size_t>(ndim_++)] = d;
}

Shape::Shape(const std::vector<int64_t>& dims) {
  DF_CHECK(dims.size() <= kMaxDims, InvalidArgument,
           "shape has " << dims.size() << " dimensions, at most " << kMaxDims << " supported");
  for (int64_t d : dims) dims_[static_cast<size_t>(ndim_++)] = d;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int i = 0; i < ndim_; ++i) n *= dims_[static_cast<size_t>(i)];
  return n;
}

std::string Shape::str() const {
  std::ostringstream os;
  os << '[';
  for (int i = 0; i < ndim_; ++i) os << (i ? ", " : "") << dims_[static_cast<size_t>(i)];
  os << ']';
  return os.str();
}

bool Shape::operator==(const Shape& o) const {
  if (ndim_ != o.ndim_) return false;
  for (int i = 0; i < ndim_; ++i)
    if (dims_[static_cast<size_t>(i)] != o.dims_[static_cast<size_t>(i)]) return false;
  return true;
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes, Device device) {
  auto s = std::shared_ptr<Storage>(new Storage());
  s->bytes_ = bytes;
  s->device_ = device;
  s->owned_ = true;
  if (device == Device::CUDA) {
    s->data_ = cuda_alloc(bytes);
    return s;
  }
  const size_t rounded = (bytes + 63) / 64 * 64;
  s->data_ = std::aligned_alloc(64, rounded == 0 ? 64 : rounded);
  if (!s->data_)
    throw OutOfMemory("allocating " + std::to_string(bytes) + " bytes of host memory failed");
  return s;
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t bytes, Device device,
                                         std::shared_ptr<const void> keepalive) {
  auto s = std::shared_ptr<Storage>(new Storage());
  s->data_ = data;
  s->bytes_ = bytes;
  s->device_ = device;
  s->owned_ = false;
  s->keepalive_ = std::move(keepalive);
  return s;
}

Storage::~Storage() {
  if (!owned_) return;
  if (device_ == Device::CUDA)
    cuda_free(data_);
  else
    std::free(data_);
}

Tensor Tensor::empty(DType dtype, Shape shape, Device device) {
  for (int i = 0; i < shape.ndim(); ++i)
    DF_CHECK(shape[i] >= 0, InvalidArgument, "negative dimension in shape " << shape.str());
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.storage_ = Storage::allocate(static_cast<size_t>(shape.numel()) * dtype_size(dtype), device);
  return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape, Device device) {
  DF_CHECK(device == Device::CPU, Unsupported, "Tensor::zeros on " << device_name(device));
  Tensor t = empty(dtype, shape, device);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}

Tensor Tensor::borrow(void* data, DType dtype, Shape shape, Device device,
                      std::shared_ptr<const void> keepalive) {
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = shape;
  t.storage_ = Storage::borrow(data, static_cast<size_t>(shape.numel()) * dtype_size(dtype), device,
                               std::move(keepalive));
  return t;
}

Tensor Tensor::from_vector(const std::vector<float>& v, Shape shape) {
  DF_CHECK(static_cast<int64_t>(v.size()) == shape.numel(), InvalidArgument,
           "from_vector: " << v.size() << " values for shape " << shape.str());
  Tensor t = empty(DType::F32, shape);
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(float));
  return t;
}

Tensor Tensor::from_vector(const std::vector<int32_t>& v, Shape shape) {
  DF_CHECK(static_cast<int64_t>(v.size()) == shape.numel(), InvalidArgument,
           "from_vector: " << v.size() << " values for shape " << shape.str());
  Tensor t = empty(DType::I32, shape);
  std::memcpy(t.raw(), v.data(), v.size() * sizeof(int32_t));
  return t;
}

int64_t Tensor::dim(int i) const {
  const int n = shape_.ndim();
  const int j = i < 0 ? n + i : i;
  DF_CHECK(j >= 0 && j < n, InvalidArgument,
           "dimension " << i << " out of range for tensor of shape " << shape_.str());
  return shape_[j];
}

Tensor Tensor::reshape(std::initializer_list<int64_t> dims) const {
  return reshape(Shape(std::vector<int64_t>(dims)));
}

Tensor Tensor::reshape(const Shape& shape) const {
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < s.ndim(); ++i) {
    if (s[i] == -1) {
      DF_CHECK(infer < 0, InvalidArgument, "reshape " << shape.str() << ": more than one -1");
      infer = i;
    } else {
      known *= s[i];
    }
  }
  if (infer >= 0) s[infer] = known == 0 ? 0 : numel() / known;
  DF_CHECK(s.numel() == numel(), InvalidArgument,
           "cannot reshape " << shape_.str() << " (" << numel() << " elements) to " << shape.str());
  Tensor t = *this;
  t.shape_ = s;
  return t;
}

Tensor Tensor::slice_rows(int64_t start, int64_t len) const {
  DF_CHECK(ndim() >= 1 && start >= 0 && len >= 0 && start + len <= shape_[0], InvalidArgument,
           "slice_rows(" << start << ", " << len << ") out of range for shape " << shape_.str());
  Tensor t = *this;
  const size_t row_bytes = shape_[0] == 0 ? 0 : nbytes() / static_cast<size_t>(shape_[0]);
  t.offset_ += static_cast<size_t>(start) * row_bytes;
  t.shape_[0] = len;
  return t;
}

Tensor Tensor::row(int64_t i) const {
  Tensor r = slice_rows(i, 1);
  std::vector<int64_t> dims = shape_.to_vector();
  dims.erase(dims.begin());
  r.shape_ = Shape(dims);
  return r;
}

Tensor Tensor::to(DType dtype) const {
  DF_CHECK(
      device() == Device::CPU, Unsupported,
      "Tensor::to(dtype) on a " << device_name(device()) << " tensor; copy it to the CPU first");
  Tensor t = empty(dtype, shape_);
  convert(raw(), dtype_, t.raw(), dtype, static_cast<size_t>(numel()));
  return t;
}

Tensor Tensor::to_device(Device device) const {
  if (device == this->device()) return *this;
  Tensor t = empty(dtype_, shape_, device);
  cuda_copy(t.raw(), raw(), nbytes(),
            device == Device::CUDA ? CopyKind::HostToDevice : CopyKind::DeviceToHost);
  return t;
}

std::vector<float> Tensor::to_f32_vector() const {
  std::vector<float> out(static_cast<size_t>(numel()));
  convert(raw(), dtype_, out.data(), DType::F32, out.size());
  return out;
}

std::string Tensor::describe() const {
  return std::string(dtype_name(dtype_)) + shape_.str() + " " + device_name(device());
}

}  // namespace deepfuse
