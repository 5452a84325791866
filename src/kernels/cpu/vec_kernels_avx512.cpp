// Row kernels compiled for the avx512 instruction set (flags set in kernels/CMakeLists.txt).
#define DF_VEC_NS avx512
#include "kernels/cpu/vec_kernels_impl.h"
