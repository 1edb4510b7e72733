// The softmax kernels for AVX-512 (16 lanes).
#if defined(__x86_64__)
#include "strata_softmax.h"
#define STRATA_LEVEL STRATA_LEVEL_AVX512
#include "../simd/begin.h"
#include "softmax.inc"
#include "../simd/end.h"
#endif
