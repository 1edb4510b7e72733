// The pooling kernels for baseline x86-64 (SSE2, 4 lanes), and the portable build on other CPUs.
#include "strata_pooling.h"
#define STRATA_LEVEL STRATA_LEVEL_BASELINE
#include "../simd/begin.h"
#include "pooling.inc"
#include "../simd/end.h"
