// The pooling kernels for AVX2 with FMA (8 lanes).
#if defined(__x86_64__)
#include "strata_pooling.h"
#define STRATA_LEVEL STRATA_LEVEL_AVX2
#include "../simd/begin.h"
#include "pooling.inc"
#include "../simd/end.h"
#endif
