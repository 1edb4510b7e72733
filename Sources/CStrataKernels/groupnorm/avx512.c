// The group-norm kernels for AVX-512 (16 lanes).
#if defined(__x86_64__)
#include "strata_groupnorm.h"
#define STRATA_LEVEL STRATA_LEVEL_AVX512
#include "../simd/begin.h"
#include "groupnorm.inc"
#include "../simd/end.h"
#endif
