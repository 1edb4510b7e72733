// The convolution family: 2-D convolution of one image as tiles of a matrix product, compiled for every
// instruction-set level. The products are those of im2col + gemm, computed by the family's own register-tile
// kernel (Sources/CStrataKernels/conv/conv.inc), so that the columns are written once into a workspace the
// tiles read from cache, and the bias, the zero padding and the col2im fold happen in the same passes.
#ifndef STRATA_CONV_H
#define STRATA_CONV_H

#include <stddef.h>
#include "strata_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/// One group of one image of a 2-D convolution (cross-correlation), image side `[C, H, W]` to output side
/// `[O, Ho, Wo]`, both contiguous. `K = C·kh·kw` rows of columns, `L = Ho·Wo` output positions. Output
/// `(oh, ow)` reads input `(oh·stride_h − pad_h + i·dilation_h, ow·stride_w − pad_w + j·dilation_w)`.
typedef struct StrataConvShape {
    ptrdiff_t channels, height, width;
    ptrdiff_t out_channels, out_height, out_width;
    ptrdiff_t kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
} StrataConvShape;

/// Floats a buffer needs for `s`: the packed weight of `forward` or of `input_grad`, one thread's workspace,
/// or the accumulator of `weight_grad`.
typedef ptrdiff_t (*strata_conv_size)(const StrataConvShape *s);

/// Packs the weight `w [O, K]` (row-major) into `packed`, in the tile order `forward` (or `input_grad`) reads.
typedef void (*strata_conv_pack)(const float *w, const StrataConvShape *s, float *packed);

/// `out [O, L] = W ⋆ image (+ bias [O])`, from the weight packed by `pack_forward_weight`.
typedef void (*strata_conv_forward)(const float *packed, const float *bias, const float *image,
                                    const StrataConvShape *s, float *out, float *workspace);

/// `image_grad [C, H, W] = col2im(Wᵀ · grad)` (or `+=` when `accumulate`), `grad [O, L]`: the adjoint of
/// `forward` without its bias, from the weight packed by `pack_input_grad_weight`.
typedef void (*strata_conv_input_grad)(const float *packed, const float *grad, const StrataConvShape *s,
                                       float *image_grad, int accumulate, float *workspace);

/// `acc += columns(image) · gradᵀ`, the transposed weight gradient `[K, O]` in the accumulator layout
/// (`accumulator_size` floats, zeroed by the caller before the first image), `grad [O, L]`.
typedef void (*strata_conv_weight_grad)(const float *image, const float *grad, const StrataConvShape *s,
                                        float *acc, float *workspace);

/// `dw [O, K] = accᵀ` (or `+=` when `accumulate`): the weight gradient out of an accumulator.
typedef void (*strata_conv_weight_grad_finish)(const float *acc, const StrataConvShape *s, float *dw, int accumulate);

/// One level's convolution kernels.
typedef struct StrataConvKernels {
    strata_conv_size forward_weight_size, input_grad_weight_size, workspace_size, accumulator_size;
    strata_conv_pack pack_forward_weight, pack_input_grad_weight;
    strata_conv_forward forward;
    strata_conv_input_grad input_grad;
    strata_conv_weight_grad weight_grad;
    strata_conv_weight_grad_finish weight_grad_finish;
} StrataConvKernels;

/// The convolution kernels of level `isa`, or NULL when this CPU does not run it (`strata_isa_is_supported`).
const StrataConvKernels *strata_conv_kernels(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
