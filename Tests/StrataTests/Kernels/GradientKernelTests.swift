import Foundation
@testable import Strata
import Testing

// The elementwise kernels of two operands (arithmetic and the activations' pullbacks) against Float64, on
// every level this CPU runs. A derivative that is a sum of terms can cancel to zero (GELU′ near x = −0.75,
// SiLU′ near −1.28), so its error is counted in ulps of the size of its terms, times |g|.

/// A kernel of two operands, its Float64 reference and the scale its error is counted in.
struct BinaryCase: Sendable {
    let kernel: BinaryKernel
    /// `(value, scale)` for operands `(a, b)`: the exact result and the magnitude its ulps are taken of.
    let reference: @Sendable (Double, Double) -> (value: Double, scale: Double)
    let bound: Double
    /// Where `bound` holds, as a function of the second operand; outside, errors are counted in ulps of |a|
    /// (the upstream gradient) against `tailBound`.
    var domain: @Sendable (Float) -> Bool = { _ in true }
    var tailBound = 0.0
    /// The second operands: the unary sweep, or outputs of tanh (in [−1, 1]) or σ (in [0, 1]).
    var secondOperands: @Sendable () -> [Float] = { sweep() }
}

@Sendable func normalCDF(_ x: Double) -> Double { 0.5 * Foundation.erfc(-x / 2.0.squareRoot()) }

/// The same function of one value, as both terms: `(value, scale)`.
@Sendable func exact(_ value: Double) -> (value: Double, scale: Double) { (value, value) }

let binaryCases: [BinaryCase] = [
    BinaryCase(kernel: .add, reference: { exact($0 + $1) }, bound: 0.5),
    BinaryCase(kernel: .sub, reference: { exact($0 - $1) }, bound: 0.5),
    BinaryCase(kernel: .mul, reference: { exact($0 * $1) }, bound: 0.5),
    BinaryCase(kernel: .div, reference: { exact($0 / $1) }, bound: 0.5),
    BinaryCase(kernel: .reluGradX, reference: { g, x in exact(x > 0 ? g : 0) }, bound: 0),
    BinaryCase(kernel: .leakyReluGradX, reference: { g, x in exact(x > 0 ? g : g * Double(leakySlope)) }, bound: 0.5),
    BinaryCase(kernel: .tanhGradY, reference: { g, y in (g * (1 - y * y), g) }, bound: 1.5,
               secondOperands: { sweep().map { Float(Foundation.tanh(Double($0))) } }),
    BinaryCase(kernel: .sigmoidGradY, reference: { g, y in (g * y * (1 - y), g * y) }, bound: 1.5,
               secondOperands: { sweep().map { Float(logisticReference(Double($0))) } }),
    BinaryCase(kernel: .siluGradX, reference: { g, x in
        let s = logisticReference(x), t = x.isInfinite ? 0 : x * s * (1 - s)
        return (g * (s + t), g * (s + Swift.abs(t)))
    }, bound: 5, domain: { $0 >= -80 }, tailBound: 0.5),
    BinaryCase(kernel: .geluGradX, reference: { g, x in
        let t = x.isInfinite ? 0 : x * Foundation.exp(-x * x / 2) / (2 * Double.pi).squareRoot()
        return (g * (normalCDF(x) + t), g * (normalCDF(x) + Swift.abs(t)))
    }, bound: 4, domain: { $0 >= -2.5 }, tailBound: 0.5),
    BinaryCase(kernel: .geluTanhGradX, reference: { g, x in
        let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        let du = 0.7978845608028654 * (1 + 3 * 0.044715 * x * x)
        let s = logisticReference(2 * u), t = Swift.abs(x) > 30 ? 0 : 2 * x * s * (1 - s) * du
        return (g * (s + t), g * (s + Swift.abs(t)))
    }, bound: 16, domain: { $0 >= -3 }, tailBound: 0.5),
]

/// Upstream gradients (or first operands): a fixed pseudo-random pattern with signs and a few binades.
func firstOperands(count: Int) -> [Float] {
    var generator = RandomGenerator(seed: 7)
    return (0..<count).map { _ in Float(generator.nextNormal() * 4) }
}

func evaluate(_ kernel: BinaryKernel, on isa: KernelISA, _ a: [Float], _ b: [Float]) -> [Float] {
    let kernels = ElementwiseKernels(for: isa)!
    var out = [Float](repeating: 0, count: a.count)
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            out.withUnsafeMutableBufferPointer { y in
                kernels.run(kernel, pa.baseAddress!, pb.baseAddress!, count: a.count,
                            parameter: kernel == .leakyReluGradX ? leakySlope : 0, into: y.baseAddress!)
            }
        }
    }
    return out
}

func checkGradientKernels(on isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    for c in binaryCases {
        let b = c.secondOperands()
        let a = [BinaryKernel.add, .sub, .mul, .div].contains(c.kernel) ? b.shuffledDeterministically() : firstOperands(count: b.count)
        let actual = evaluate(c.kernel, on: isa, a, b)
        var (worst, tail) = (WorstError(), WorstError())
        for i in b.indices {
            let (value, scale) = c.reference(Double(a[i]), Double(b[i]))
            if c.domain(b[i]) {
                worst.record(ulpError(actual[i], value, scale: scale), x: b[i], actual: actual[i], expected: value)
            } else {
                tail.record(ulpError(actual[i], value, scale: Double(a[i])), x: b[i], actual: actual[i], expected: value)
            }
        }
        print("gradient kernel \(isa) \(c.kernel): \(worst)" + (c.tailBound > 0 ? "; outside the domain, in ulps of g: \(tail)" : ""))
        #expect(worst.ulps <= c.bound, "\(c.kernel) on \(isa): \(worst), bound \(c.bound)", sourceLocation: sourceLocation)
        #expect(tail.ulps <= c.tailBound, "\(c.kernel) on \(isa), outside its domain: \(tail), bound \(c.tailBound) ulp of g",
                sourceLocation: sourceLocation)
    }
}

extension Array {
    /// The elements in a fixed pseudo-random order (the same on every run).
    func shuffledDeterministically() -> [Element] {
        var generator = RandomGenerator(seed: 11)
        var copy = self
        for i in stride(from: count - 1, to: 0, by: -1) { copy.swapAt(i, Int(generator.next() % UInt64(i + 1))) }
        return copy
    }
}

@Suite("Elementwise kernels of two operands against Float64, on every instruction-set level")
struct GradientKernelTests {
    @Test("baseline") func baseline() { checkGradientKernels(on: .baseline) }

    @Test("avx2", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2() { checkGradientKernels(on: .avx2) }

    @Test("avx512", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512() { checkGradientKernels(on: .avx512) }

    @Test func everyKernelHasACase() {
        #expect(Set(unaryCases.map(\.kernel)) == Set(UnaryKernel.allCases))
        #expect(Set(binaryCases.map(\.kernel)) == Set(BinaryKernel.allCases))
    }
}
