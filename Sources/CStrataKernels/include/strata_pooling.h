// The pooling family: 2×2 max pooling at stride 2 (the common `MaxPool2d(2)`), Float32, compiled for every
// level. Other windows, and Float64, take the general loop in Ops/Pooling.swift.
#ifndef STRATA_POOLING_H
#define STRATA_POOLING_H

#include <stddef.h>
#include <stdint.h>
#include "strata_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/// `y [planes, ⌊h/2⌋, ⌊w/2⌋]` from `x [planes, h, w]` (both contiguous): each output the maximum of its 2×2
/// window, and `indices` the flat index `row·w + column` in its plane of the element taken. Within a window the
/// candidates are taken in scan order and one replaces the best so far when it is strictly larger, or a NaN
/// over a number, so ties go to the first and a NaN wins (PyTorch's rule). `h·w` must be below 2^31.
typedef void (*strata_max_pool_2x2)(const float *x, ptrdiff_t planes, ptrdiff_t h, ptrdiff_t w, float *y,
                                    int64_t *indices);

/// One level's pooling kernels.
typedef struct StrataPoolingKernels {
    strata_max_pool_2x2 max_pool_2x2;
} StrataPoolingKernels;

/// The pooling kernels of level `isa`, or NULL when this CPU does not run it.
const StrataPoolingKernels *strata_pooling_kernels(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
