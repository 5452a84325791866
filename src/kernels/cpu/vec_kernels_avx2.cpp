// Row kernels compiled for the avx2 instruction set (flags set in kernels/CMakeLists.txt).
#define DF_VEC_NS avx2
#include "kernels/cpu/vec_kernels_impl.h"
