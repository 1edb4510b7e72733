// strata_conv_kernels: the convolution table of a level.
#include "strata_conv.h"
#include "../simd/family.h"

STRATA_FAMILY_LOOKUP(conv, StrataConvKernels)
