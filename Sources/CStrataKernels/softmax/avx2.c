// The softmax kernels for AVX2 with FMA (8 lanes).
#if defined(__x86_64__)
#include "strata_softmax.h"
#define STRATA_LEVEL STRATA_LEVEL_AVX2
#include "../simd/begin.h"
#include "softmax.inc"
#include "../simd/end.h"
#endif
