// Tensor, Shape, Storage and Device are part of the public API: include/deepfuse/tensor.h.
#pragma once

#include "deepfuse/tensor.h"
