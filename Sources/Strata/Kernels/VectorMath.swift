/// Float32 `exp` as a branch-free polynomial on four lanes (SSE), for the Swift loops not yet moved to
/// `CStrataKernels`: the softmax rows, layer norm and 2×2 max pooling. The elementwise maps and the recurrent
/// gates run at the CPU's full width in C instead (`ElementwiseKernels`, `RecurrentKernels`,
/// Sources/CStrataKernels/simd/vecmath.h).

typealias Float4 = SIMD4<Float>

@inline(__always) func load4(_ p: UnsafePointer<Float>) -> Float4 { UnsafeRawPointer(p).loadUnaligned(as: Float4.self) }

@inline(__always) func load4(_ p: UnsafeMutablePointer<Float>) -> Float4 { load4(UnsafePointer(p)) }

@inline(__always) func store4(_ v: Float4, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float4.self)
}

/// `eˣ` for Float32 on four lanes with Cephes' `expf` polynomial (relative error ≈ 1 ulp on [−87, 88]):
/// `x = n·ln 2 + r` with `|r| ≤ ln 2 / 2`, `eʳ` by a degree-6 polynomial, `2ⁿ` written into the exponent bits.
/// Inputs are clamped to [−87.3, 88.3], so the result is never 0 or ∞.
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
