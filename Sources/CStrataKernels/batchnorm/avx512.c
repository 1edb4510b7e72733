// The batch-normalisation kernels for AVX-512 (16 lanes).
#if defined(__x86_64__)
#include "strata_batchnorm.h"
#define STRATA_LEVEL STRATA_LEVEL_AVX512
#include "../simd/begin.h"
#include "batchnorm.inc"
#include "../simd/end.h"
#endif
