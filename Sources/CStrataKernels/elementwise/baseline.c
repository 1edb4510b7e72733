// The elementwise kernels for baseline x86-64 (SSE2, 4 lanes), and the portable build on other CPUs.
#include "strata_elementwise.h"
#define STRATA_LEVEL STRATA_LEVEL_BASELINE
#include "../simd/begin.h"
#include "elementwise.inc"
#include "../simd/end.h"
