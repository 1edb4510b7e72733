// The softmax family: softmax and log-softmax over rows or columns, the masked attention softmax, their
// gradients, and cross-entropy from logits (log-softmax and NLL fused), Float32, compiled for every level.
#ifndef STRATA_SOFTMAX_H
#define STRATA_SOFTMAX_H

#include <stddef.h>
#include <stdint.h>
#include "strata_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Softmax (`log == 0`) or log-softmax of each of `rows` contiguous rows of `n` floats (`n ≥ 1`), `m` the
/// row's max: `y = exp(x − m) / Σ exp(x − m)`, or `y = (x − m) − log Σ exp(x − m)`. `y` may be `x`.
typedef void (*strata_softmax_rows)(const float *x, float *y, ptrdiff_t rows, ptrdiff_t n, int log);

/// The same along columns: `count` columns, column `c` the `length` floats `x[r·stride + c]` (`length ≥ 1`);
/// `y` has the same layout.
typedef void (*strata_softmax_columns)(const float *x, float *y, ptrdiff_t length, ptrdiff_t stride,
                                       ptrdiff_t count, int log);

/// The input gradient of each of `rows` rows of `n`, from the upstream gradient `g` and the forward output
/// `y`, with `h = g·keep` (`keep` NULL: `h = g`), all contiguous:
/// softmax `dx = y·(h − Σ h·y)·scale`, log-softmax `dx = (h − exp(y)·Σ h)·scale`.
/// The attention backward passes its dropout mask as `keep` and its score scale as `scale`.
typedef void (*strata_softmax_backward_rows)(const float *g, const float *y, const float *keep, float *dx,
                                             ptrdiff_t rows, ptrdiff_t n, float scale, int log);

/// `strata_softmax_backward_rows` along columns laid out as in `strata_softmax_columns` (no keep, scale 1).
typedef void (*strata_softmax_backward_columns)(const float *g, const float *y, float *dx, ptrdiff_t length,
                                                ptrdiff_t stride, ptrdiff_t count, int log);

/// Attention probabilities in place, over `rows` rows of `n` raw scores `p` (contiguous), the rows of one
/// `[L, S]` score matrix starting at query `first_query`. Each score becomes `v = p·scale`, then:
/// - `keep` (bool, may be NULL): `v = −inf` where `keep[r·mask_row_stride + j·mask_column_stride]` is false;
/// - `additive` (may be NULL, at most one of the two masks): `v += additive[…]` at the same offsets;
/// - `causal`: `v = −inf` for key `j > first_query + r`.
/// Then the row's softmax. A row whose values are all `−inf` gets zeros (PyTorch gives NaN).
typedef void (*strata_attention_softmax)(float *p, ptrdiff_t rows, ptrdiff_t n, ptrdiff_t first_query,
                                         int causal, float scale, const float *additive, const _Bool *keep,
                                         ptrdiff_t mask_row_stride, ptrdiff_t mask_column_stride);

/// Cross-entropy of each of `rows` rows of logits `z` (`[rows, c]`, contiguous, `c ≥ 1`) against `labels`:
/// `lse[i] = m + log Σ exp(z − m)`, and `loss[i] = (1 − ε)·w[y]·(lse − z[y]) + ε/c·Σ_k w[k]·(lse − z[k])` with
/// `ε = smoothing`, `y = labels[i]`, `w = weight`; 0 where `y == ignore_index`. Labels in `[0, c)` otherwise.
typedef void (*strata_cross_entropy_forward)(const float *z, ptrdiff_t rows, ptrdiff_t c, const int64_t *labels,
                                             int64_t ignore_index, const float *weight, float smoothing,
                                             float *loss, float *lse);

/// The logits' gradient of `Σ_i u_i·loss_i`, `u_i = scale·upstream[i·upstream_stride]`, with `p = exp(z − lse)`:
/// `dz[i, k] = u_i·((1 − ε)·w[y]·(p − 1[k = y]) + ε/c·(total_weight·p − w[k]))`; zeros for an ignored row.
/// `total_weight = Σ_k w[k]`.
typedef void (*strata_cross_entropy_backward)(const float *z, const float *lse, ptrdiff_t rows, ptrdiff_t c,
                                              const int64_t *labels, int64_t ignore_index, const float *weight,
                                              float total_weight, float smoothing, const float *upstream,
                                              ptrdiff_t upstream_stride, float scale, float *dz);

/// One level's softmax kernels.
typedef struct StrataSoftmaxKernels {
    strata_softmax_rows rows;
    strata_softmax_columns columns;
    strata_softmax_backward_rows backward_rows;
    strata_softmax_backward_columns backward_columns;
    strata_attention_softmax attention;
    strata_cross_entropy_forward cross_entropy_forward;
    strata_cross_entropy_backward cross_entropy_backward;
} StrataSoftmaxKernels;

/// The softmax kernels of level `isa`, or NULL when this CPU does not run it.
const StrataSoftmaxKernels *strata_softmax_kernels(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
