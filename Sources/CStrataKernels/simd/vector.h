// Vectors of STRATA_W lanes (clang's ext_vector_type: arithmetic, comparisons and casts lane-wise) and the
// few operations the kernels need on them. Included by begin.h, so everything here is compiled for the
// translation unit's level.
typedef float vf __attribute__((ext_vector_type(STRATA_W)));
typedef int32_t vi __attribute__((ext_vector_type(STRATA_W)));
typedef uint32_t vu __attribute__((ext_vector_type(STRATA_W)));

#define STRATA_INLINE static inline __attribute__((always_inline))

STRATA_INLINE vf splat(float v) { return (vf)v; }

/// W contiguous floats from `p`, unaligned.
STRATA_INLINE vf load(const float *p) {
    vf v;
    __builtin_memcpy(&v, p, sizeof v);
    return v;
}

STRATA_INLINE void store(float *p, vf v) { __builtin_memcpy(p, &v, sizeof v); }

/// `n < W` floats from `p` into the low lanes, zeros above.
STRATA_INLINE vf load_partial(const float *p, ptrdiff_t n) {
    vf v = 0;
    __builtin_memcpy(&v, p, (size_t)n * sizeof(float));
    return v;
}

STRATA_INLINE void store_partial(float *p, vf v, ptrdiff_t n) { __builtin_memcpy(p, &v, (size_t)n * sizeof(float)); }

/// `n ≤ W` floats at `p`, `p + step`, `p + 2·step`, … (any step, 0 included) into the low lanes.
STRATA_INLINE vf load_strided(const float *p, ptrdiff_t step, ptrdiff_t n) {
    vf v = 0;
    for (ptrdiff_t j = 0; j < n; j++) v[j] = p[j * step];
    return v;
}

STRATA_INLINE vi as_int(vf v) { return (vi)v; }
STRATA_INLINE vf as_float(vi v) { return (vf)v; }

/// Lane-wise `m ? a : b` for a comparison mask `m` (all bits set or clear per lane).
STRATA_INLINE vf select(vi m, vf a, vf b) { return as_float((as_int(a) & m) | (as_int(b) & ~m)); }

/// `a·b + c`, fused (one rounding) where the level has FMA.
STRATA_INLINE vf fmadd(vf a, vf b, vf c) {
#if STRATA_HAS_FMA
    return __builtin_elementwise_fma(a, b, c);
#else
    return a * b + c;
#endif
}

STRATA_INLINE vf vabs(vf x) { return as_float(as_int(x) & 0x7FFFFFFF); }

/// `|x|` with the sign bit of `s`.
STRATA_INLINE vf copysign_of(vf magnitude, vf s) {
    return as_float(as_int(magnitude) | (as_int(s) & (vi)(int32_t)0x80000000));
}

/// `x` limited to `[lo, hi]`; NaN stays NaN (the comparisons are false for it).
STRATA_INLINE vf clamp(vf x, float lo, float hi) {
    x = select(x < lo, splat(lo), x);
    return select(x > hi, splat(hi), x);
}

STRATA_INLINE vf vsqrt(vf x) { return __builtin_elementwise_sqrt(x); }

// MARK: Lanes and horizontal reductions (the row kernels: softmax, normalisation, reductions)

/// The mask of the lanes below `n` (all lanes when `n ≥ W`).
STRATA_INLINE vi first_lanes(ptrdiff_t n) {
    static const int32_t index[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    vi lane;
    __builtin_memcpy(&lane, index, sizeof lane);
    return lane < (int32_t)(n < STRATA_W ? n : STRATA_W);
}

/// `n < W` floats from `p` into the low lanes, `fill` above.
STRATA_INLINE vf load_partial_or(const float *p, ptrdiff_t n, float fill) {
    return select(first_lanes(n), load_partial(p, n), splat(fill));
}

/// Lane-wise `a > b ? a : b`, and NaN where either is NaN (the max reduction of PyTorch, and of the Float64 path).
STRATA_INLINE vf vmax(vf a, vf b) { return select((a > b) | (a != a), a, b); }
/// Lane-wise `a < b ? a : b`, and NaN where either is NaN.
STRATA_INLINE vf vmin(vf a, vf b) { return select((a < b) | (a != a), a, b); }

typedef float strata_vf8 __attribute__((ext_vector_type(8)));
typedef float strata_vf4 __attribute__((ext_vector_type(4)));
typedef float strata_vf2 __attribute__((ext_vector_type(2)));

/// The sum of the lanes, added pairwise (halves first): a fixed tree, so the result depends only on the lanes.
STRATA_INLINE float hsum(vf v) {
#if STRATA_W == 16
    const strata_vf8 h8 = v.lo + v.hi;
    const strata_vf4 q = h8.lo + h8.hi;
#elif STRATA_W == 8
    const strata_vf4 q = v.lo + v.hi;
#else
    const strata_vf4 q = v;
#endif
    const strata_vf2 h = q.lo + q.hi;
    return h.x + h.y;
}

/// The largest lane, NaN if any lane is NaN (lanes combined in order, as `vmax`).
STRATA_INLINE float hmax(vf v) {
    float m = v[0];
    for (int j = 1; j < STRATA_W; j++) m = (v[j] > m || v[j] != v[j]) ? v[j] : m;
    return m;
}

/// The smallest lane, NaN if any lane is NaN.
STRATA_INLINE float hmin(vf v) {
    float m = v[0];
    for (int j = 1; j < STRATA_W; j++) m = (v[j] < m || v[j] != v[j]) ? v[j] : m;
    return m;
}
