// Internal: the one place an op picks its backend from the device of its tensors.
//
// Every op front-end validates its arguments (ops/check.h, device-blind), then calls
// dispatch(op, {tensors...}, cpu_fn). All tensors must share one device (InvalidArgument
// naming the op and the devices otherwise); CPU runs `cpu_fn` (kernels/cpu); CUDA is
// Unsupported("<op>: no CUDA kernel in this build") until the CUDA backend adds its branch here.
#pragma once

#include <initializer_list>
#include <string>

#include "core/error.h"
#include "core/tensor.h"

namespace deepfuse::ops::detail {

// The device all defined tensors of `ts` live on (CPU when none is defined).
inline Device common_device(const char* op, std::initializer_list<const Tensor*> ts) {
  bool any = false;
  Device d = Device::CPU;
  for (const Tensor* t : ts) {
    if (t == nullptr || !t->defined()) continue;
    if (!any) {
      d = t->device();
      any = true;
      continue;
    }
    DF_CHECK(t->device() == d, InvalidArgument,
             op << ": tensors on different devices (" << device_name(d) << " and "
                << device_name(t->device()) << "); move them to one device first");
  }
  return d;
}

template <class CpuFn>
void dispatch(const char* op, std::initializer_list<const Tensor*> ts, CpuFn&& cpu) {
  const Device d = common_device(op, ts);
  switch (d) {
    case Device::CPU:
      cpu();
      return;
    case Device::CUDA:
      break;
  }
  throw Unsupported(std::string(op) + ": no " + (d == Device::CUDA ? "CUDA" : device_name(d)) +
                    " kernel in this build");
}

}  // namespace deepfuse::ops::detail
