// Device memory for builds without CUDA: every request says how to get a CUDA build.
#include "core/device_memory.h"
#include "core/error.h"

#ifndef DEEPFUSE_HAVE_CUDA
namespace deepfuse {
namespace {
[[noreturn]] void no_cuda() {
  throw Unsupported(
      "device cuda: this deepfuse was built without CUDA (rebuild with -DDEEPFUSE_CUDA=ON on a "
      "machine with nvcc, or use --device cpu)");
}
}  // namespace
bool cuda_available() {
  return false;
}
void* cuda_alloc(size_t) {
  no_cuda();
}
void cuda_free(void*) {}
void cuda_copy(void*, const void*, size_t, CopyKind) {
  no_cuda();
}
}  // namespace deepfuse
#endif
