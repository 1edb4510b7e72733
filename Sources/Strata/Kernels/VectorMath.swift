/// Float32 `exp` as a branch-free polynomial, on one value and on four lanes (SSE), for the Swift loops
/// not yet moved to `CStrataKernels`: the recurrent gates and 2×2 max pooling.
/// glibc's scalar `expf` calls were a sixth of an LSTM step (`perf` on `dlbench`). The elementwise maps run
/// at the CPU's full width in C instead (`ElementwiseKernels`, Sources/CStrataKernels/simd/vecmath.h).

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
