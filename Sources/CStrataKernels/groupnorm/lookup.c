// strata_groupnorm_kernels: the group-norm table of a level.
#include "strata_groupnorm.h"
#include "../simd/family.h"

STRATA_FAMILY_LOOKUP(groupnorm, StrataGroupNormKernels)
