// Block-wise FP8 (e4m3fn) weights as DeepSeek-V3/R1 ship them: a weight [rows, cols] of
// F8_E4M3 plus `weight_scale_inv` [ceil(rows/br), ceil(cols/bc)] f32 (edge blocks partial),
// value = fp8 * scale_inv of its block. transformers' dequantisation computes the product in
// f32; this does the same, then rounds once to the requested dtype.
#pragma once

#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace deepfuse {

// FormatError (naming `name`) when the dtypes or the scale shape do not match the recipe,
// or when a scale is not finite. `out` is F32 or BF16 (or F16).
Tensor dequantize_fp8_block(const Tensor& weight, const Tensor& scale_inv, int64_t block_rows,
                            int64_t block_cols, DType out, const std::string& name);

}  // namespace deepfuse
