#include "formats/fp8_block.h"

#include <array>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"

namespace deepfuse {

namespace {

// All 256 e4m3fn values in f32 (NaN codes included), so the inner loop is a table lookup.
const std::array<float, 256>& fp8_table() {
  static const std::array<float, 256> t = [] {
    std::array<float, 256> a{};
    for (int i = 0; i < 256; ++i)
      a[static_cast<size_t>(i)] = f8e4m3_to_f32(static_cast<uint8_t>(i));
    return a;
  }();
  return t;
}

}  // namespace

Tensor dequantize_fp8_block(const Tensor& weight, const Tensor& scale_inv, int64_t block_rows,
                            int64_t block_cols, DType out, const std::string& name) {
  DF_CHECK(weight.dtype() == DType::F8E4M3 && weight.ndim() == 2, FormatError,
           name << ": expected a 2-D F8_E4M3 weight, got " << weight.describe());
  DF_CHECK(block_rows > 0 && block_cols > 0, FormatError, name << ": block size must be positive");
  const int64_t rows = weight.dim(0), cols = weight.dim(1);
  const int64_t br = (rows + block_rows - 1) / block_rows;
  const int64_t bc = (cols + block_cols - 1) / block_cols;
  DF_CHECK(scale_inv.ndim() == 2 && scale_inv.dim(0) == br && scale_inv.dim(1) == bc, FormatError,
           name << "_scale_inv: expected shape [" << br << ", " << bc << "] for a [" << rows << ", "
                << cols << "] weight in " << block_rows << "x" << block_cols << " blocks, got "
                << scale_inv.shape().str());
  DF_CHECK(dtype_is_float(scale_inv.dtype()), FormatError,
           name << "_scale_inv: expected a float tensor, got " << dtype_name(scale_inv.dtype()));
  DF_CHECK(out == DType::F32 || out == DType::BF16 || out == DType::F16, InvalidArgument,
           "fp8 dequantisation target must be f32, bf16 or f16");
  const std::vector<float> scales = scale_inv.to_f32_vector();
  for (float s : scales)
    DF_CHECK(std::isfinite(s), FormatError, name << "_scale_inv: holds a non-finite scale");

  Tensor result = Tensor::empty(out, Shape{rows, cols});
  const uint8_t* src = weight.data<uint8_t>();
  const auto& table = fp8_table();
  ThreadPool::current().parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      const float* srow = &scales[static_cast<size_t>((r / block_rows) * bc)];
      const uint8_t* w = src + r * cols;
      for (int64_t c = 0; c < cols; ++c)
        row[static_cast<size_t>(c)] = table[w[c]] * srow[c / block_cols];
      char* dst =
          static_cast<char*>(result.raw()) + r * cols * static_cast<int64_t>(dtype_size(out));
      convert(row.data(), DType::F32, dst, out, static_cast<size_t>(cols));
    }
  });
  return result;
}

}  // namespace deepfuse
