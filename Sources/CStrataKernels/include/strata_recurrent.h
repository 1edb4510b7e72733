// The recurrent family: Float32 RNN (tanh), LSTM and GRU layers over whole sequences, compiled for every
// instruction-set level. Shapes: T steps, B batch, H hidden units, G = gates·H (RNN 1, GRU 3 in the order
// r, z, n, LSTM 4 in the order i, f, g, o: PyTorch's layouts). Every matrix is row-major.
//
// The recurrent weight W_hh is packed once per call into panels (`pack`), and every time step multiplies
// by the packed panels (`product`), so nothing is repacked per step. Batch rows are independent through
// the whole recurrence, so a run over rows [row_begin, row_end) touches only those rows of every per-row
// buffer: threads take disjoint row ranges of one sequence and never synchronise between steps.
#ifndef STRATA_RECURRENT_H
#define STRATA_RECURRENT_H

#include <stddef.h>
#include "strata_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/// The operands of one direction of one layer's forward run over a sequence.
typedef struct StrataRecurrentForward {
    ptrdiff_t steps, batch, features, hidden;  ///< T, B, I, H
    int reverse;                     ///< nonzero: the steps run from t = T − 1 down to 0
    const float *input;              ///< x [T, B, I]
    const float *weight_ih;          ///< W_ihᵀ as the [I, G] right operand, packed by `pack` (row stride 1, column stride I)
    const float *weight_hh;          ///< W_hhᵀ as the [H, G] right operand, packed by `pack` (row stride 1, column stride H)
    const float *bias;               ///< [G] b_ih + b_hh (GRU: b_ih), or NULL for none
    const float *bias_hh;            ///< GRU: b_hh [G], or NULL for none; unused otherwise
    /// The pre-activations of step t at `pre + t·pre_step`, [B, G] each: `pre_step` B·G keeps every step, 0
    /// reuses one [B, G]. LSTM replaces them with the activated gates i, f, g, o (what backward needs);
    /// GRU's are the input side x·W_ihᵀ + b_ih only.
    float *pre;
    ptrdiff_t pre_step;
    const float *h0;                 ///< [B, H]
    const float *c0;                 ///< LSTM: [B, H]
    float *h;                        ///< [T, B, H] out: the hidden state of every step
    /// LSTM, out: the cell state of step t at `c + t·c_step`, [B, H] each. `c_step` B·H keeps every step (for
    /// backward); 0 keeps only the last, updated in place (inference).
    float *c;
    ptrdiff_t c_step;
    float *saved;                    ///< GRU, out: [T, B, 4H] r, z, n and W_hn·h + b_hn of every step, or NULL (inference)
    float *scratch;                  ///< GRU: [B, G], the hidden-side pre-activations of the current step
} StrataRecurrentForward;

/// The operands of one direction of one layer's backward run (back-propagation through time).
typedef struct StrataRecurrentBackward {
    ptrdiff_t steps, batch, hidden;  ///< T, B, H
    int reverse;                     ///< as in the forward run
    const float *weight;             ///< W_hh as the [G, H] right operand, packed by `pack` (row stride H, column stride 1)
    const float *gates;              ///< LSTM: [T, B, 4H] i, f, g, o; GRU: [T, B, 4H] the forward's `saved`; RNN: unused
    const float *h;                  ///< [T, B, H] the forward's hidden states
    const float *h0;                 ///< [B, H]
    const float *c, *c0;             ///< LSTM: [T, B, H] the forward's cell states, and [B, H] the initial one
    const float *dh;                 ///< [T, B, H] the gradient of every step's hidden state (from above)
    float *dc;                       ///< LSTM, in: the gradient of the final cell state [B, H]; out: that of c0
    float *dgx;                      ///< [T, B, G] out: the gradient of the input-side pre-activations
    float *dgh;                      ///< GRU, [T, B, G] out: of the hidden-side ones (r, z as dgx; n times r); else unused
    float *dh0;                      ///< [B, H] out: the gradient of h0 (it carries dh between steps meanwhile)
} StrataRecurrentBackward;

/// Packs the [k, n] right operand of `product`, element (r, j) at `b[r·row_stride + j·col_stride]`, into
/// `packed`, which holds ⌈n / panel_width⌉·panel_width·k floats: panels of `panel_width` columns, each of
/// k rows of `panel_width` contiguous values, zeros past column n.
typedef void (*strata_recurrent_pack)(const float *b, ptrdiff_t row_stride, ptrdiff_t col_stride, ptrdiff_t k,
                                      ptrdiff_t n, float *packed);

/// `c[m, n] = cin + a[m, k]·b + a2[m, k2]·b2` with `b` and `b2` packed by `pack` (`k2` 0: no second term;
/// `a2` and `packed2` are then unused). Rows of `cin`, `a`, `a2` and `c` are `ldcin`, `lda`, `lda2` and `ldc`
/// apart; `ldcin` 0 adds the same row (a bias) to every row, and `cin` NULL adds nothing. `cin` may be `c`.
typedef void (*strata_recurrent_product)(ptrdiff_t m, ptrdiff_t n, const float *cin, ptrdiff_t ldcin, ptrdiff_t k,
                                         const float *a, ptrdiff_t lda, const float *packed, ptrdiff_t k2,
                                         const float *a2, ptrdiff_t lda2, const float *packed2, float *c,
                                         ptrdiff_t ldc);

/// Runs rows [row_begin, row_end) of the batch through every step.
typedef void (*strata_recurrent_forward)(const StrataRecurrentForward *args, ptrdiff_t row_begin, ptrdiff_t row_end);
typedef void (*strata_recurrent_backward)(const StrataRecurrentBackward *args, ptrdiff_t row_begin,
                                          ptrdiff_t row_end);

/// One level's recurrent kernels.
typedef struct StrataRecurrentKernels {
    ptrdiff_t panel_width;  ///< columns per packed panel
    strata_recurrent_pack pack;
    strata_recurrent_product product;
    strata_recurrent_forward rnn_tanh_forward, lstm_forward, gru_forward;
    strata_recurrent_backward rnn_tanh_backward, lstm_backward, gru_backward;
} StrataRecurrentKernels;

/// The recurrent kernels of level `isa`, or NULL when this CPU does not run it (`strata_isa_is_supported`).
const StrataRecurrentKernels *strata_recurrent_kernels(StrataISA isa);

#ifdef __cplusplus
}
#endif

#endif
