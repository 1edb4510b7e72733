// strata_pooling_kernels: the pooling table of a level.
#include "strata_pooling.h"
#include "../simd/family.h"

STRATA_FAMILY_LOOKUP(pooling, StrataPoolingKernels)
