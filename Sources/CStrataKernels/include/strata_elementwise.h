// The elementwise family: Float32 maps over one or two operands, compiled for every instruction-set level.
#ifndef STRATA_ELEMENTWISE_H
#define STRATA_ELEMENTWISE_H

#include <stddef.h>
#include "strata_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/// `y[i] = f(x[i·incx]; p)` for `i < n`. `y` is contiguous; `incx` is any element stride (0 broadcasts one
/// value). `p` is the function's parameter (the slope of leaky ReLU), ignored by the others.
typedef void (*strata_map1)(const float *x, ptrdiff_t incx, float *y, ptrdiff_t n, float p);

/// `y[i] = f(a[i·inca], b[i·incb]; p)` for `i < n`, as `strata_map1` with two operands.
typedef void (*strata_map2)(const float *a, ptrdiff_t inca, const float *b, ptrdiff_t incb, float *y,
                            ptrdiff_t n, float p);

/// One level's elementwise kernels. A gradient kernel takes the upstream gradient `g` as `a`, and as `b`
/// the forward input `x` or output `y` its name says.
typedef struct StrataElementwiseKernels {
    strata_map1 neg, relu, leaky_relu, exp, log, sqrt, tanh, sigmoid, erf, gelu, gelu_tanh, silu;
    strata_map2 add, sub, mul, div;
    strata_map2 relu_grad_x, leaky_relu_grad_x, tanh_grad_y, sigmoid_grad_y, silu_grad_x, gelu_grad_x,
        gelu_tanh_grad_x;
} StrataElementwiseKernels;

/// The elementwise kernels of level `isa`, or NULL when this CPU does not run it (`strata_isa_is_supported`).
const StrataElementwiseKernels *strata_elementwise_kernels(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
