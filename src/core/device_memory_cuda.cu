// Device memory through the CUDA runtime. Compiled only when DEEPFUSE_CUDA is on.
#include <cuda_runtime.h>

#include <string>

#include "core/device_memory.h"
#include "core/error.h"

namespace deepfuse {

namespace {
void check(cudaError_t e, const char* what, size_t bytes) {
  if (e == cudaSuccess) return;
  std::string msg = std::string(what) + " of " + std::to_string(bytes) +
                    " bytes failed: " + cudaGetErrorString(e);
  if (e == cudaErrorMemoryAllocation) throw OutOfMemory(msg + " (reduce batch or context size)");
  throw Error(msg);
}
}  // namespace

bool cuda_available() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

void* cuda_alloc(size_t bytes) {
  void* p = nullptr;
  check(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc", bytes);
  return p;
}

void cuda_free(void* p) {
  if (p) cudaFree(p);
}

void cuda_copy(void* dst, const void* src, size_t bytes, CopyKind kind) {
  cudaMemcpyKind k = kind == CopyKind::HostToDevice   ? cudaMemcpyHostToDevice
                     : kind == CopyKind::DeviceToHost ? cudaMemcpyDeviceToHost
                                                      : cudaMemcpyDeviceToDevice;
  check(cudaMemcpy(dst, src, bytes, k), "cudaMemcpy", bytes);
}

}  // namespace deepfuse
