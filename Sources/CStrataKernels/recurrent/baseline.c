// The recurrent kernels for baseline x86-64 (SSE2, 4 lanes), and the portable build on other CPUs.
#include "strata_recurrent.h"
#define STRATA_LEVEL STRATA_LEVEL_BASELINE
#include "../simd/begin.h"
#include "recurrent.inc"
#include "../simd/end.h"
