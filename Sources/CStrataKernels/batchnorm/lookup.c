// strata_batchnorm_kernels: the batch-normalisation table of a level.
#include "strata_batchnorm.h"
#include "../simd/family.h"

STRATA_FAMILY_LOOKUP(batchnorm, StrataBatchNormKernels)
