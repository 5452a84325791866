#include "kernels/cpu/vec_kernels.h"

#include <algorithm>

namespace deepfuse::cpu {

namespace generic {
const VecKernels& table();
}
namespace avx2 {
const VecKernels& table();
}
namespace avx512 {
const VecKernels& table();
}

int64_t attend_block_scratch_floats(const AttendBlockArgs& a) {
  // Must match attend_block's layout: kt [hd, lp], v [len, vhd], scores [rows, lp], one row.
  int32_t begin = 0, end = 0;
  attend_block_span(a, &begin, &end);
  const int64_t len = end - begin;
  const int64_t lp = (len + 15) / 16 * 16;
  const int64_t rows = static_cast<int64_t>(a.tokens) * a.group;
  return a.head_dim * lp + len * a.v_head_dim + rows * lp + std::max(a.head_dim, a.v_head_dim);
}

const VecKernels& vec_kernels(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return avx512::table();
    case Isa::Avx2:
      return avx2::table();
    case Isa::Scalar:
      break;
  }
  return generic::table();
}

}  // namespace deepfuse::cpu
