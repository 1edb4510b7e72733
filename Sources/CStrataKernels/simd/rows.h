// Loads and stores of a row's next `n` floats, whole vector or partial, for the row kernels (softmax,
// normalisation, reductions). Include after begin.h.

/// The first `n` floats at `p` (all `W` when `n ≥ W`) in the low lanes, zeros above; nothing past them is read.
STRATA_INLINE vf load_upto(const float *p, ptrdiff_t n) { return n >= STRATA_W ? load(p) : load_partial(p, n); }

/// Stores the low `n` lanes of `v` (all when `n ≥ W`) at `p`; nothing past them is written.
STRATA_INLINE void store_upto(float *p, vf v, ptrdiff_t n) {
    if (n >= STRATA_W) store(p, v);
    else store_partial(p, v, n);
}
