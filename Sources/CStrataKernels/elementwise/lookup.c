// strata_elementwise_kernels: the elementwise table of a level.
#include "strata_elementwise.h"
#include "../simd/family.h"

STRATA_FAMILY_LOOKUP(elementwise, StrataElementwiseKernels)
