// Helpers shared by the model families: weight access with dtype policy, parameter counting,
// rotary frequency tables for HF's rope types.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "formats/hf_config.h"
#include "formats/weight_store.h"
#include "models/registry.h"

namespace deepfuse {

// A float weight (F32/F16/BF16) ready for the ops: borrowed from the mmap when its dtype is
// kept, converted once (owned) when `opts.weight_dtype` asks for another. Unsupported for
// other dtypes, NotFound naming the tensor when absent.
Tensor load_weight(const WeightStore& w, const std::string& name, const LoadOptions& opts);
// Same, or an undefined tensor when absent.
Tensor load_optional_weight(const WeightStore& w, const std::string& name, const LoadOptions& opts);
// Copies `t` transposed ([a, b] -> [b, a]) into a new tensor of the same dtype.
Tensor transpose_2d(const Tensor& t);

// Sum of element counts of all tensors in `w`, skipping `tied` names (counted once through the
// tensor they share storage with).
int64_t count_parameters(const WeightStore& w, const std::vector<std::string>& tied);
// Dtype holding most of the parameters.
DType dominant_dtype(const WeightStore& w);

// Gathers rows `rows` of x [n, d] into a new [rows.size(), d] tensor.
Tensor gather_rows(const Tensor& x, const std::vector<int32_t>& rows);

}  // namespace deepfuse
