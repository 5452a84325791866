// Instruction-set features detected at run time, so one binary picks AVX-512 / AVX2 kernels
// on the machine it runs on. DEEPFUSE_ISA=avx512|avx2|scalar caps the choice (tests use it to
// exercise every path on one machine).
#pragma once

namespace deepfuse {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_bf16 = false;
  bool avx512_vnni = false;
};

enum class Isa { Scalar, Avx2, Avx512 };

const CpuFeatures& cpu_features();
// Best ISA level usable here, after the DEEPFUSE_ISA cap.
Isa best_isa();
const char* isa_name(Isa isa);

}  // namespace deepfuse
