// strata_softmax_kernels: the softmax table of a level.
#include "strata_softmax.h"
#include "../simd/family.h"

STRATA_FAMILY_LOOKUP(softmax, StrataSoftmaxKernels)
