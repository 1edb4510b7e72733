// The batch-normalisation family: per-channel statistics, the affine map and the backward of F.batch_norm over
// Float32 `[N, C, S]` (S = positions per channel), compiled for every instruction-set level. Each kernel walks
// a range of channels (the sums) or of `(sample, channel)` rows (the maps), so that callers split the work
// across threads.
#ifndef STRATA_BATCHNORM_H
#define STRATA_BATCHNORM_H

#include <stddef.h>
#include "strata_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/// For each channel `ch` in `[c_begin, c_end)` of `x [N, C, S]`: `mean[ch] = Σ x / (N·S)` and the biased
/// `variance[ch] = Σ (x − mean)² / (N·S)`, in two passes. Sums run in float lanes within a row and in double
/// across rows.
typedef void (*strata_bn_stats)(const float *x, ptrdiff_t n, ptrdiff_t c, ptrdiff_t s, ptrdiff_t c_begin,
                                ptrdiff_t c_end, float *mean, float *variance);

/// For each row `r = sample·C + ch` in `[r_begin, r_end)`: `y = (x − mean[ch])·scale[ch] + shift[ch]` over its
/// `S` elements. The forward in both modes (scale = γ·rstd, shift = β).
typedef void (*strata_bn_affine)(const float *x, ptrdiff_t c, ptrdiff_t s, ptrdiff_t r_begin, ptrdiff_t r_end,
                                 const float *mean, const float *scale, const float *shift, float *y);

/// For each channel in `[c_begin, c_end)`: `sum_dy[ch] = Σ dy` and `sum_dy_xhat[ch] = Σ dy·(x − mean)·rstd`.
typedef void (*strata_bn_grad_sums)(const float *dy, const float *x, ptrdiff_t n, ptrdiff_t c, ptrdiff_t s,
                                    ptrdiff_t c_begin, ptrdiff_t c_end, const float *mean, const float *rstd,
                                    float *sum_dy, float *sum_dy_xhat);

/// For each row in `[r_begin, r_end)`: `dx = scale·(dy − mean_dy − (x − mean)·rstd·mean_dy_xhat)` (all per
/// channel), the input gradient with batch statistics; with `x` NULL, `dx = scale·dy` (running statistics).
typedef void (*strata_bn_grad_input)(const float *dy, const float *x, ptrdiff_t c, ptrdiff_t s, ptrdiff_t r_begin,
                                     ptrdiff_t r_end, const float *mean, const float *rstd, const float *scale,
                                     const float *mean_dy, const float *mean_dy_xhat, float *dx);

/// One level's batch-normalisation kernels.
typedef struct StrataBatchNormKernels {
    strata_bn_stats stats;
    strata_bn_affine affine;
    strata_bn_grad_sums grad_sums;
    strata_bn_grad_input grad_input;
} StrataBatchNormKernels;

/// The batch-normalisation kernels of level `isa`, or NULL when this CPU does not run it.
const StrataBatchNormKernels *strata_batchnorm_kernels(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
