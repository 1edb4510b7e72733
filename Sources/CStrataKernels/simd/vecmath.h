// Float32 transcendental functions on vectors, branch-free, for every lane width. Errors in ulps against
// the exact value are measured by Tests/StrataTests/Kernels/VectorMathTests.swift on every level the CPU
// has, and listed in Docs/Kernels.md.

/// `eˣ`: `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2` (Cody–Waite, `ln 2` in two parts), `eʳ = 1 + r + r²·P(r)`
/// with Cephes' degree-5 `expf` polynomial, then `2ⁿ` applied as two powers of two so that results in the
/// subnormal range are rounded once. `+inf` above 88.72, 0 below −103.97, NaN for NaN.
/// reference: S. L. Moshier, Cephes Math Library, `expf.c`.
STRATA_INLINE vf v_exp(vf x) {
    const vf magic = splat(12582912.0f);  // 1.5·2²³: adding it rounds to an integer held in the low bits
    x = clamp(x, -104.0f, 89.0f);
    const vf shifted = fmadd(x, splat(1.44269504088896341f), magic);
    const vf n = shifted - magic;
    vf r = fmadd(n, splat(-0.693359375f), x);
    r = fmadd(n, splat(2.12194440e-4f), r);
    vf p = splat(1.9875691500e-4f);
    p = fmadd(p, r, splat(1.3981999507e-3f));
    p = fmadd(p, r, splat(8.3334519073e-3f));
    p = fmadd(p, r, splat(4.1665795894e-2f));
    p = fmadd(p, r, splat(1.6666665459e-1f));
    p = fmadd(p, r, splat(5.0000001201e-1f));
    const vf y = fmadd(p, r * r, r + 1.0f);
    // n ∈ [−150, 129] as an integer: the difference of the bit patterns (same exponent, |n| < 2²²).
    const vi k = as_int(shifted) - as_int(magic);
    const vi k1 = k >> 1, k2 = k - k1;  // each in [−75, 65], so 2^k1 and 2^k2 are normal floats
    return y * as_float((k1 + 127) << 23) * as_float((k2 + 127) << 23);
}

/// `log x`: `x = m·2ᵉ` with `m ∈ [√½, √2)`, `log(1 + f) = f − f²/2 + f³·P(f)` with Cephes' degree-8 `logf`
/// polynomial, `e·ln 2` added in two parts. Subnormals are scaled by 2²³ first. `log 0 = −inf`,
/// `log(+inf) = +inf`, NaN below 0 and for NaN.
/// reference: S. L. Moshier, Cephes Math Library, `logf.c`.
STRATA_INLINE vf v_log(vf x) {
    const vi subnormal = x < 1.17549435e-38f;
    const vf xs = select(subnormal, x * 8388608.0f, x);
    const vi bits = as_int(xs);
    vi e = ((bits >> 23) & 0xFF) - 126 - (subnormal & 23);
    vf m = as_float((bits & 0x007FFFFF) | 0x3F000000);  // [0.5, 1)
    const vi low = m < 0.707106781186547524f;
    e = e + low;  // the mask is −1 where true
    m = select(low, m + m, m);
    const vf f = m - 1.0f;
    const vf z = f * f;
    vf p = splat(7.0376836292e-2f);
    p = fmadd(p, f, splat(-1.1514610310e-1f));
    p = fmadd(p, f, splat(1.1676998740e-1f));
    p = fmadd(p, f, splat(-1.2420140846e-1f));
    p = fmadd(p, f, splat(1.4249322787e-1f));
    p = fmadd(p, f, splat(-1.6668057665e-1f));
    p = fmadd(p, f, splat(2.0000714765e-1f));
    p = fmadd(p, f, splat(-2.4999993993e-1f));
    p = fmadd(p, f, splat(3.3333331174e-1f));
    const vf fe = __builtin_convertvector(e, vf);
    vf y = p * f * z;
    y = fmadd(fe, splat(-2.12194440e-4f), y);
    y = fmadd(z, splat(-0.5f), y);
    vf r = fmadd(fe, splat(0.693359375f), f + y);
    r = select(x == 0.0f, splat(-__builtin_inff()), r);
    r = select(x == __builtin_inff(), x, r);
    return select(x < 0.0f | x != x, splat(__builtin_nanf("")), r);
}

/// `1 / (1 + e⁻ˣ)` as `1/(1 + e)` for `x ≥ 0` and `e/(1 + e)` below, `e = e^(−|x|)`: no overflow, and
/// full relative accuracy where σ is tiny. 0 and 1 at ∓inf.
STRATA_INLINE vf v_sigmoid(vf x) {
    const vf e = v_exp(-vabs(x));
    return select(x >= 0.0f, splat(1.0f), e) / (1.0f + e);
}

/// `σ(x)` and `σ(x)·(1 − σ(x)) = e/(1 + e)²` (the derivative of σ), without the cancellation of `1 − σ`.
STRATA_INLINE vf v_sigmoid_derivative(vf x, vf *s) {
    const vf e = v_exp(-vabs(x));
    const vf d = 1.0f / (1.0f + e);
    *s = select(x >= 0.0f, d, e * d);
    return e * d * d;
}

/// `tanh x`: Cephes' odd degree-9 polynomial below |x| = 0.625, `1 − 2/(e^{2|x|} + 1)` with the sign of
/// `x` above. ±1 beyond |x| ≈ 9, NaN for NaN.
/// reference: S. L. Moshier, Cephes Math Library, `tanhf.c`.
STRATA_INLINE vf v_tanh(vf x) {
    const vf a = vabs(x);
    const vf s = x * x;
    vf p = splat(-5.70498872745e-3f);
    p = fmadd(p, s, splat(2.06390887954e-2f));
    p = fmadd(p, s, splat(-5.37397155531e-2f));
    p = fmadd(p, s, splat(1.33314422036e-1f));
    p = fmadd(p, s, splat(-3.33332819422e-1f));
    const vf small = fmadd(p * s, x, x);
    const vf large = copysign_of(1.0f - 2.0f / (v_exp(a + a) + 1.0f), x);
    return select(a < 0.625f, small, large);
}

/// `erf x` for `|x| < 0.9`: `x + x·p(x²)`, `p` a degree-6 minimax fit of `erf(x)/x − 1`.
/// The coefficients are Strata's own fits (Scripts/fit_erf.py).
STRATA_INLINE vf v_erf_small(vf x) {
    const vf s = x * x;
    vf p = splat(8.513104694e-05f);
    p = fmadd(p, s, splat(-8.175639668e-04f));
    p = fmadd(p, s, splat(5.203858949e-03f));
    p = fmadd(p, s, splat(-2.686050907e-02f));
    p = fmadd(p, s, splat(1.128371507e-01f));
    p = fmadd(p, s, splat(-3.761263490e-01f));
    p = fmadd(p, s, splat(1.283791661e-01f));
    return fmadd(x, p, x);
}

/// `erfc a` for `a ≥ 0.9`, with `a` clamped at 4: `exp(q(a − 1))`, `q` a degree-8 minimax fit of `log erfc`
/// on [0.9, 4] weighted for the relative error of `erf = 1 − erfc` (Scripts/fit_erf.py). Its own relative
/// error grows with `a` (about 1e-6 at a = 3): exact enough for `erf`, and for `Φ` on the negative side.
STRATA_INLINE vf v_erfc_large(vf a) {
    const vf u = select(a > 4.0f, splat(4.0f), a) - 1.0f;
    vf q = splat(-7.374983397e-07f);
    q = fmadd(q, u, splat(-1.721077570e-05f));
    q = fmadd(q, u, splat(2.790210128e-04f));
    q = fmadd(q, u, splat(-1.999838511e-03f));
    q = fmadd(q, u, splat(1.003923267e-02f));
    q = fmadd(q, u, splat(-4.156137630e-02f));
    q = fmadd(q, u, splat(-8.431073427e-01f));
    q = fmadd(q, u, splat(-2.638967514e+00f));
    q = fmadd(q, u, splat(-1.849605560e+00f));
    return v_exp(q);
}

/// `erf x`: `v_erf_small` below |x| = 0.9, `1 − erfc|x|` with the sign of `x` above. Odd, exactly ±1 beyond
/// |x| ≈ 3.9, NaN for NaN.
STRATA_INLINE vf v_erf(vf x) {
    const vf a = vabs(x);
    const vf large = copysign_of(1.0f - v_erfc_large(a), x);
    return select(a < 0.9f, v_erf_small(x), large);
}

/// The standard normal CDF `Φ(x) = ½(1 + erf(x/√2))`. Below `x/√2 = −0.9` it is `½·erfc(|x|/√2)` directly,
/// which keeps the relative accuracy that `1 + erf` would cancel away; 0 below `x/√2 = −4` (Φ < 7.7e-9).
STRATA_INLINE vf v_normal_cdf(vf x) {
    const vf u = x * 0.70710678118654752f;
    const vf a = vabs(u);
    const vf tail = 0.5f * v_erfc_large(a);
    const vf large = select(u > 0.0f, 1.0f - tail, select(a < 4.0f, tail, splat(0.0f)));
    return select(a < 0.9f, fmadd(splat(0.5f), v_erf_small(u), splat(0.5f)), large);
}
