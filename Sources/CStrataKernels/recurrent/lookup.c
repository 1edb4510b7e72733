// strata_recurrent_kernels: the recurrent table of a level.
#include "strata_recurrent.h"
#include "../simd/family.h"

STRATA_FAMILY_LOOKUP(recurrent, StrataRecurrentKernels)
