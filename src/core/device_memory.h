// Raw device allocation and copies. The CPU build answers Unsupported for CUDA requests;
// a CUDA build (DEEPFUSE_CUDA) implements them with cudaMalloc/cudaMemcpy.
#pragma once

#include <cstddef>

namespace deepfuse {

// True when this binary was built with CUDA and at least one device is visible.
bool cuda_available();
void* cuda_alloc(size_t bytes);  // OutOfMemory when the device cannot satisfy it
void cuda_free(void* p);
enum class CopyKind { HostToDevice, DeviceToHost, DeviceToDevice };
void cuda_copy(void* dst, const void* src, size_t bytes, CopyKind kind);

}  // namespace deepfuse
