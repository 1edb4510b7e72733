import Foundation
@testable import Strata
import Testing

// The Float32 vector math of CStrataKernels (simd/vecmath.h, through the elementwise kernels) against Float64
// references, on every instruction-set level this CPU runs: the largest error in ulps over a sweep of every
// binade, a dense grid, the points where the formulas switch, and ±0, ±inf, NaN, subnormals and large |x|.
// The figures printed are the table in Docs/Kernels.md (`swift test -c release --filter VectorMathTests`).

/// The size of one Float32 ulp at the magnitude of `value` (the subnormal spacing 2⁻¹⁴⁹ below 2⁻¹²⁶).
func float32Ulp(_ value: Double) -> Double {
    let magnitude = Swift.abs(value)
    guard magnitude >= 0x1p-126 else { return 0x1p-149 }
    return Foundation.pow(2, Double(magnitude.exponent) - 23)
}

/// The error of a Float32 result against its Float64 reference, in ulps of `scale` (the reference's own
/// magnitude for a function, the size of the terms for a derivative that can cancel): 0 when both are the
/// same NaN or infinity, infinite when only one is.
func ulpError(_ actual: Float, _ expected: Double, scale: Double) -> Double {
    let expected = Double(Float(expected)).isInfinite ? Double(Float(expected)) : expected  // beyond Float32's range
    if expected.isNaN || actual.isNaN { return expected.isNaN && actual.isNaN ? 0 : .infinity }
    if expected.isInfinite || actual.isInfinite { return Double(actual) == expected ? 0 : .infinity }
    return Swift.abs(Double(actual) - expected) / float32Ulp(scale)
}

/// Inputs for a function of one variable: every 2039th bit pattern (about 4,100 in each binade, both signs),
/// every 1/512 on [−16, 16], 64 floats either side of each point in `edges`, and the special values.
func sweep(edges: [Float] = []) -> [Float] {
    var values = stride(from: UInt32(0), to: UInt32.max - 2039, by: 2039).map { Float(bitPattern: $0) }
        .filter { !$0.isNaN }
    values += (-16 * 512...16 * 512).map { Float($0) / 512 }
    for edge in edges {
        var (up, down) = (edge, edge)
        for _ in 0..<64 {
            (up, down) = (up.nextUp, down.nextDown)
            values += [up, down, -up, -down]
        }
    }
    values += [0, -0.0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
               .leastNormalMagnitude, -.leastNormalMagnitude, Float.leastNormalMagnitude.nextDown, 1e-30, -1e-30,
               1e30, -1e30, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 88.72, 88.73, -87.4, -103.9, -104.1]
    return values
}

/// The worst error of one kernel on one level: the ulps and the input where they occur.
struct WorstError: CustomStringConvertible {
    var ulps = 0.0
    var x: Float = 0
    var actual: Float = 0
    var expected = 0.0

    mutating func record(_ ulps: Double, x: Float, actual: Float, expected: Double) {
        if !(ulps <= self.ulps) { self = WorstError(ulps: ulps, x: x, actual: actual, expected: expected) }
    }

    var description: String { String(format: "%.2f ulp at x = %@ (%@ vs %.9g)", ulps, "\(x)", "\(actual)", expected) }
}

/// A kernel of one operand, its Float64 reference and the bound its error must stay within.
struct UnaryCase: Sendable {
    let kernel: UnaryKernel
    let reference: @Sendable (Double) -> Double
    /// The largest error allowed, in ulps of the reference.
    let bound: Double
    /// Where `bound` holds (the whole line unless said); outside, the error is checked against `tailBound`,
    /// in ulps of |x|: an absolute error for outputs too small for their relative error to mean anything.
    var domain: @Sendable (Float) -> Bool = { _ in true }
    var tailBound = 0.0
    var edges: [Float] = []
}

/// x·Φ(x) in Float64, `erfc` keeping the negative side exact; the limit 0 at −inf.
@Sendable func geluReference(_ x: Double) -> Double {
    x == -.infinity ? 0 : 0.5 * x * Foundation.erfc(-x / 2.0.squareRoot())
}

/// `x·σ(2u)` with `u = √(2/π)(x + 0.044715x³)`: PyTorch's tanh form `½x(1 + tanh u)` without its cancellation.
@Sendable func geluTanhReference(_ x: Double) -> Double {
    let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    return x == -.infinity ? 0 : x * logisticReference(2 * u)
}

@Sendable func logisticReference(_ x: Double) -> Double {
    x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x))
}

let unaryCases: [UnaryCase] = [
    UnaryCase(kernel: .exp, reference: { Foundation.exp($0) }, bound: 1.5, edges: [-87.3, -103.97, 88.72]),
    UnaryCase(kernel: .log, reference: { Foundation.log($0) }, bound: 1, edges: [0.70710677, 1, 1.4142135]),
    UnaryCase(kernel: .tanh, reference: { Foundation.tanh($0) }, bound: 1.5, edges: [0.625, 9]),
    UnaryCase(kernel: .sigmoid, reference: logisticReference, bound: 2.5, edges: [0]),
    UnaryCase(kernel: .erf, reference: { Foundation.erf($0) }, bound: 1, edges: [0.9, 3.9, 4]),
    // Below x = −2.5 the erfc fit (weighted for erf, not erfc) and the rounding of its exponent lose
    // relative accuracy; Φ is flushed to 0 below −5.66 (|x·Φ(x)| < 4.4e-8).
    UnaryCase(kernel: .gelu, reference: geluReference, bound: 8, domain: { $0 >= -2.5 }, tailBound: 0.5,
              edges: [1.2727922, 5.656854, 6]),
    // Below x = −3 the function is ill-conditioned (x·f′/f ≈ 2x·u′(x), 230 at x = −10): the rounding of
    // its argument 2u alone moves the output by tens of ulps, while the output falls below 1e-10.
    UnaryCase(kernel: .geluTanh, reference: geluTanhReference, bound: 16, domain: { $0 >= -3 }, tailBound: 0.5,
              edges: [0, 20]),
    // Below x = −80 the output is subnormal: σ(x) keeps a few bits, and x·σ(x) multiplies their error by |x|.
    UnaryCase(kernel: .silu, reference: { $0 == -.infinity ? 0 : $0 * logisticReference($0) }, bound: 3.5,
              domain: { $0 >= -80 }, tailBound: 0.5, edges: [0, 110]),
    UnaryCase(kernel: .sqrt, reference: { $0.squareRoot() }, bound: 0.5),
    UnaryCase(kernel: .relu, reference: { $0 > 0 ? $0 : 0 }, bound: 0),
    UnaryCase(kernel: .leakyRelu, reference: { $0 > 0 ? $0 : $0 * Double(leakySlope) }, bound: 0.5),
    UnaryCase(kernel: .neg, reference: { -$0 }, bound: 0),
]

/// The parameter the leaky-ReLU kernels are checked with.
let leakySlope: Float = 0.01

/// Runs `kernel` of level `isa` over `inputs` (in one call, so the tail lanes run too).
func evaluate(_ kernel: UnaryKernel, on isa: KernelISA, _ inputs: [Float]) -> [Float] {
    let kernels = ElementwiseKernels(for: isa)!
    var out = [Float](repeating: 0, count: inputs.count)
    inputs.withUnsafeBufferPointer { x in
        out.withUnsafeMutableBufferPointer { y in
            kernels.run(kernel, x.baseAddress!, count: inputs.count, parameter: kernel == .leakyRelu ? leakySlope : 0,
                        into: y.baseAddress!)
        }
    }
    return out
}

/// Checks every unary case on `isa` against its reference and prints the worst errors.
func checkVectorMath(on isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    for c in unaryCases {
        let inputs = sweep(edges: c.edges)
        let actual = evaluate(c.kernel, on: isa, inputs)
        var (worst, tail) = (WorstError(), WorstError())
        for (x, y) in zip(inputs, actual) {
            let expected = c.reference(Double(x))
            if c.domain(x) {
                worst.record(ulpError(y, expected, scale: expected), x: x, actual: y, expected: expected)
            } else {
                tail.record(ulpError(y, expected, scale: Double(x)), x: x, actual: y, expected: expected)
            }
        }
        print("vector math \(isa) \(c.kernel): \(worst)" + (c.tailBound > 0 ? "; outside the domain, in ulps of x: \(tail)" : ""))
        #expect(worst.ulps <= c.bound, "\(c.kernel) on \(isa): \(worst), bound \(c.bound)", sourceLocation: sourceLocation)
        #expect(tail.ulps <= c.tailBound, "\(c.kernel) on \(isa), outside its domain: \(tail), bound \(c.tailBound) ulp of x",
                sourceLocation: sourceLocation)
    }
}

@Suite("Vector math against Float64, on every instruction-set level")
struct VectorMathTests {
    @Test("baseline") func baseline() { checkVectorMath(on: .baseline) }

    @Test("avx2", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2() { checkVectorMath(on: .avx2) }

    @Test("avx512", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512() { checkVectorMath(on: .avx512) }
}
