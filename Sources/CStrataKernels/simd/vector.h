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
