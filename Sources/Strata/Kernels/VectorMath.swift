/// Float32 `exp` and `erf` as branch-free polynomials, on one value and on four lanes, for the hot
/// elementwise loops. glibc's scalar `expf` and `erff` calls were a sixth of an LSTM step and an eighth of a
/// transformer step (`perf` on `dlbench`). The package builds for baseline x86-64, so four lanes (SSE) is
/// the native width.

typealias Float4 = SIMD4<Float>

@inline(__always) func load4(_ p: UnsafePointer<Float>) -> Float4 { UnsafeRawPointer(p).loadUnaligned(as: Float4.self) }

@inline(__always) func load4(_ p: UnsafeMutablePointer<Float>) -> Float4 { load4(UnsafePointer(p)) }

@inline(__always) func store4(_ v: Float4, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float4.self)
}

/// `eˣ` for Float32 with Cephes' `expf` polynomial (relative error ≈ 1 ulp on [−87, 88]):
/// `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `eʳ` by a degree-6 polynomial, `2ⁿ` written into the exponent bits.
/// Inputs are clamped to [−87.3, 88.3], so the result is never 0 or ∞ (enough for σ and tanh).
@inline(__always) func floatExp(_ x: Float) -> Float {
    let x = Swift.min(Swift.max(x, -87.3), 88.3)
    // n = round(x / ln 2) by the 1.5·2²³ trick: the sum's low mantissa bits hold n.
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    let r = (x - n * 0.693_359_375) + n * 2.121_944_4e-4
    let r2 = r * r
    var p: Float = 1.987_569_15e-4
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_1e-1
    let y = p * r2 + r + 1
    let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
    return y * scale
}

/// `floatExp` on four lanes.
@inline(__always) func exp4(_ x: Float4) -> Float4 {
    let low = Float4(repeating: -87.3), high = Float4(repeating: 88.3)
    let x = x.replacing(with: low, where: x .< low).replacing(with: high, where: x .> high)
    let magic = Float4(repeating: 12_582_912)
    let shifted = x * 1.442_695_04 + magic
    let n = shifted - magic
    let r = (x - n * 0.693_359_375) + n * 2.121_944_4e-4
    var p = Float4(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_1e-1
    let y = p * (r * r) + r + 1
    let bits = unsafeBitCast(shifted, to: SIMD4<UInt32>.self)
    return y * unsafeBitCast((bits &- 0x4B40_0000 &+ 127) &<< 23, to: Float4.self)
}

/// The error function on four Float32 lanes, within 1e-7 of the exact `erf` of each input (relative;
/// `VectorMathTests` checks it against Double `erf` over a dense grid). Odd, exactly ±1 beyond |x| ≈ 3.9,
/// NaN for NaN.
///
/// - `|x| < 0.9`: `x + x·p(x²)`, `p` a degree-6 minimax fit of `erf(x)/x − 1` (relative error 3e-10);
///   the `x +` keeps the leading term exact.
/// - `|x| ≥ 0.9`: `1 − exp(q(|x| − 1))`, `q` a degree-8 minimax fit of `log erfc` on [0.9, 4] weighted by
///   `erfc/erf` (error 4e-11 in `erf`), with |x| clamped at 4 where `erfc(4) = 1.5e-8` no longer shows.
///
/// The coefficients are Strata's own fits (`Scripts/fit_erf.py`, a linear-programming minimax in Double,
/// then rounded to Float32 and checked with Float32 arithmetic).
@inline(__always) func erf4(_ x: Float4) -> Float4 {
    let sign = SIMD4<UInt32>(repeating: 0x8000_0000)
    let bits = unsafeBitCast(x, to: SIMD4<UInt32>.self)
    let a = unsafeBitCast(bits & ~sign, to: Float4.self)                      // |x|
    let s = x * x
    var p = Float4(repeating: 8.513_104_694e-05)
    p = p * s - 8.175_639_668e-04
    p = p * s + 5.203_858_949e-03
    p = p * s - 2.686_050_907e-02
    p = p * s + 1.128_371_507e-01
    p = p * s - 3.761_263_490e-01
    p = p * s + 1.283_791_661e-01
    let small = x + x * p
    let u = a.replacing(with: 4, where: a .> 4) - 1
    var q = Float4(repeating: -7.374_983_397e-07)
    q = q * u - 1.721_077_570e-05
    q = q * u + 2.790_210_128e-04
    q = q * u - 1.999_838_511e-03
    q = q * u + 1.003_923_267e-02
    q = q * u - 4.156_137_630e-02
    q = q * u - 8.431_073_427e-01
    q = q * u - 2.638_967_514e+00
    q = q * u - 1.849_605_560e+00
    let large = 1 - exp4(q)
    let signed = unsafeBitCast(unsafeBitCast(large, to: SIMD4<UInt32>.self) | (bits & sign), to: Float4.self)
    return signed.replacing(with: small, where: a .< 0.9)
}

/// Replaces `p[i]` by `exp(p[i] − shift)` for `i < count` and returns their sum: the exponentials of a
/// max-shifted softmax row, four lanes at a time. Exponents below −87.3 (where `exp4` clamps) give exactly
/// 0, so `-inf` entries (masked scores) stay out of the sum and of the probabilities.
func exponentiateShifted(_ p: UnsafeMutablePointer<Float>, count: Int, shift: Float) -> Float {
    @inline(__always) func exp(_ v: Float4) -> Float4 {
        let x = v - shift
        return exp4(x).replacing(with: 0, where: x .< -87.3)
    }
    var total = Float4()
    var i = 0
    while i + 4 <= count {
        let e = exp(load4(p + i))
        store4(e, p + i)
        total += e
        i += 4
    }
    if i < count {
        var v = Float4(repeating: -.infinity)
        for j in 0..<count - i { v[j] = p[i + j] }
        let e = exp(v)
        for j in 0..<count - i { p[i + j] = e[j] }
        total += e
    }
    return total.sum()
}
