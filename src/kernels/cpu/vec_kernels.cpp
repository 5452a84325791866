#include "kernels/cpu/vec_kernels.h"

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
