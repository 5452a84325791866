// Row kernels compiled for the generic instruction set (flags set in kernels/CMakeLists.txt).
#define DF_VEC_NS generic
#include "kernels/cpu/vec_kernels_impl.h"
