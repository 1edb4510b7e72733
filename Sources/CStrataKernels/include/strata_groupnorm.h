// The group-norm family: group normalisation's statistics, forward and backward, Float32, compiled for every
// level. Layer norm over rows of K is its one-group, one-position case (`groups = 1`, `channels = K`, `s = 1`).
#ifndef STRATA_GROUPNORM_H
#define STRATA_GROUPNORM_H

#include <stddef.h>
#include "strata_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Normalises `blocks` consecutive blocks of `channels·s` floats of `x` (contiguous): block `b` is group
/// `k = (group0 + b) mod groups` of its sample, its channels `k·channels + j` for `j < channels`, each a run of
/// `s` floats. Per block, the mean `μ` and `rstd = 1/√(Var + eps)` (the biased variance, from a second pass
/// over `x − μ`) go to `mean[b]` and `rstd[b]`, and `y = (x − μ)·rstd·γ[c] + β[c]` for channel `c`.
/// `gamma` and `beta` (`groups·channels` floats) may be NULL: 1 and 0.
typedef void (*strata_group_norm_forward)(const float *x, float *y, const float *gamma, const float *beta,
                                          ptrdiff_t blocks, ptrdiff_t group0, ptrdiff_t groups, ptrdiff_t channels,
                                          ptrdiff_t s, float eps, float *mean, float *rstd);

/// The gradient of `strata_group_norm_forward` from the upstream gradient `g`, over the same blocks, with
/// `x̂ = (x − μ)·rstd`: `dx = rstd·(g·γ − mean(g·γ) − x̂·mean(g·γ·x̂))` (means over the block), and for each
/// channel `c` adds `Σ g·x̂` into `dgamma[c]` and `Σ g` into `dbeta[c]` (both `groups·channels` floats).
/// `gamma` may be NULL (1).
typedef void (*strata_group_norm_backward)(const float *g, const float *x, const float *gamma, const float *mean,
                                           const float *rstd, ptrdiff_t blocks, ptrdiff_t group0, ptrdiff_t groups,
                                           ptrdiff_t channels, ptrdiff_t s, float *dx, float *dgamma, float *dbeta);

/// One level's group-norm kernels.
typedef struct StrataGroupNormKernels {
    strata_group_norm_forward forward;
    strata_group_norm_backward backward;
} StrataGroupNormKernels;

/// The group-norm kernels of level `isa`, or NULL when this CPU does not run it.
const StrataGroupNormKernels *strata_groupnorm_kernels(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
