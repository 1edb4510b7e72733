// The pooling kernels for AVX-512 (16 lanes).
#if defined(__x86_64__)
#include "strata_pooling.h"
#define STRATA_LEVEL STRATA_LEVEL_AVX512
#include "../simd/begin.h"
#include "pooling.inc"
#include "../simd/end.h"
#endif
