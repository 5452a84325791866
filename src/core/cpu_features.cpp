#include "core/cpu_features.h"

#include <cpuid.h>

#include <cstdlib>
#include <string>

namespace deepfuse {

namespace {
CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid_count(1, 0, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1;
  f.fma = (c >> 12) & 1;
  f.f16c = (c >> 29) & 1;
  unsigned long long xcr0 = 0;
  if (osxsave) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    xcr0 = (static_cast<unsigned long long>(hi) << 32) | lo;
  }
  const bool ymm_ok = (xcr0 & 0x6) == 0x6;
  const bool zmm_ok = (xcr0 & 0xe6) == 0xe6;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm_ok && ((b >> 5) & 1);
  f.avx512f = zmm_ok && ((b >> 16) & 1);
  f.avx512dq = zmm_ok && ((b >> 17) & 1);
  f.avx512bw = zmm_ok && ((b >> 30) & 1);
  f.avx512vl = zmm_ok && ((b >> 31) & 1);
  f.avx512_vnni = zmm_ok && ((c >> 11) & 1);
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx512_bf16 = zmm_ok && ((a >> 5) & 1);
  if (!ymm_ok) f.fma = f.f16c = false;
  return f;
}
}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

Isa best_isa() {
  static const Isa isa = [] {
    const CpuFeatures& f = cpu_features();
    Isa best = Isa::Scalar;
    if (f.avx2 && f.fma && f.f16c) best = Isa::Avx2;
    if (best == Isa::Avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq)
      best = Isa::Avx512;
    if (const char* cap = std::getenv("DEEPFUSE_ISA")) {
      const std::string c = cap;
      if (c == "scalar") best = Isa::Scalar;
      if (c == "avx2" && best == Isa::Avx512) best = Isa::Avx2;
    }
    return best;
  }();
  return isa;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar:
      return "scalar";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  return "?";
}

}  // namespace deepfuse
