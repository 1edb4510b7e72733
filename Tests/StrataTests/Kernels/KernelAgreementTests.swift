import Foundation
@testable import Strata
import Testing

// Every elementwise kernel of every wide level against the baseline level: within the sum of the two levels'
// error bounds (VectorMathTests, GradientKernelTests), and through every loop of the kernel (contiguous,
// strided, broadcast) with bit-identical results, so a value's result does not depend on where it sits.

/// 20,011 inputs: every 250th of the sweep (a prime count, so every kernel runs a partial last vector).
let agreementInputs: [Float] = {
    let all = sweep()
    return (0..<20_011).map { all[$0 * 250 % all.count] }
}()

/// Expects `actual` (a wide level's results) within `bound` ulps of `scale(i)` of `baseline`.
func expectAgreement(_ name: String, _ isa: KernelISA, _ actual: [Float], _ baseline: [Float], bound: (Int) -> Double,
                     scale: (Int) -> Double, sourceLocation: SourceLocation = #_sourceLocation) {
    var worst = (excess: 0.0, index: 0)
    for i in actual.indices {
        let ulps = ulpError(actual[i], Double(baseline[i]), scale: scale(i))
        if !(ulps - bound(i) <= worst.excess) { worst = (ulps - bound(i), i) }
    }
    let i = worst.index
    #expect(worst.excess <= 0, "\(name): \(isa) gives \(actual[i]), baseline \(baseline[i]) (allowed \(bound(i)) ulp)",
            sourceLocation: sourceLocation)
}

func checkAgreement(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let x = agreementInputs
    for c in unaryCases {
        let (wide, base) = (evaluate(c.kernel, on: isa, x), evaluate(c.kernel, on: .baseline, x))
        expectAgreement("\(c.kernel)", isa, wide, base,
                        bound: { 2 * (c.domain(x[$0]) ? c.bound : c.tailBound) },
                        scale: { c.domain(x[$0]) ? c.reference(Double(x[$0])) : Double(x[$0]) },
                        sourceLocation: sourceLocation)
    }
    for c in binaryCases {
        let b = Array(c.secondOperands().prefix(x.count))
        let a = firstOperands(count: b.count)
        let (wide, base) = (evaluate(c.kernel, on: isa, a, b), evaluate(c.kernel, on: .baseline, a, b))
        expectAgreement("\(c.kernel)", isa, wide, base,
                        bound: { 2 * (c.domain(b[$0]) ? c.bound : c.tailBound) },
                        scale: { c.domain(b[$0]) ? c.reference(Double(a[$0]), Double(b[$0])).scale : Double(a[$0]) },
                        sourceLocation: sourceLocation)
    }
}

/// The strided and broadcast loops of every kernel on `isa` against its contiguous loop, bit for bit.
func checkLoops(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let kernels = ElementwiseKernels(for: isa)!
    let n = 1_001
    let x = Array(agreementInputs.prefix(3 * n))
    let g = firstOperands(count: 3 * n)
    func bits(_ v: [Float]) -> [UInt32] { v.map(\.bitPattern) }
    for kernel in UnaryKernel.allCases {
        let p: Float = kernel == .leakyRelu ? leakySlope : 0
        let every3 = (0..<n).map { x[3 * $0] }
        var strided = [Float](repeating: 0, count: n), splat = [Float](repeating: 0, count: n)
        kernels.run(kernel, x, stride: 3, count: n, parameter: p, into: &strided)
        kernels.run(kernel, x, stride: 0, count: n, parameter: p, into: &splat)
        let contiguous = evaluate(kernel, on: isa, every3)
        #expect(bits(strided) == bits(contiguous), "\(kernel) on \(isa): stride 3", sourceLocation: sourceLocation)
        #expect(bits(splat) == bits([Float](repeating: contiguous[0], count: n)), "\(kernel) on \(isa): stride 0",
                sourceLocation: sourceLocation)
    }
    for kernel in BinaryKernel.allCases {
        let p: Float = kernel == .leakyReluGradX ? leakySlope : 0
        let (a3, b2) = ((0..<n).map { g[3 * $0] }, (0..<n).map { x[2 * $0] })
        var strided = [Float](repeating: 0, count: n), rowScalar = strided, scalarRow = strided
        kernels.run(kernel, g, stride: 3, x, stride: 2, count: n, parameter: p, into: &strided)
        kernels.run(kernel, g, stride: 1, x, stride: 0, count: n, parameter: p, into: &rowScalar)
        kernels.run(kernel, g, stride: 0, x, stride: 1, count: n, parameter: p, into: &scalarRow)
        #expect(bits(strided) == bits(evaluate(kernel, on: isa, a3, b2)), "\(kernel) on \(isa): strides 3, 2",
                sourceLocation: sourceLocation)
        #expect(bits(rowScalar) == bits(evaluate(kernel, on: isa, Array(g.prefix(n)), [Float](repeating: x[0], count: n))),
                "\(kernel) on \(isa): strides 1, 0", sourceLocation: sourceLocation)
        #expect(bits(scalarRow) == bits(evaluate(kernel, on: isa, [Float](repeating: g[0], count: n), Array(x.prefix(n)))),
                "\(kernel) on \(isa): strides 0, 1", sourceLocation: sourceLocation)
    }
}

@Suite("Every wide level agrees with the baseline level")
struct KernelAgreementTests {
    @Test("avx2 against baseline", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2() { checkAgreement(.avx2) }

    @Test("avx512 against baseline", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512() { checkAgreement(.avx512) }

    @Test("strided and broadcast loops, baseline") func loopsBaseline() { checkLoops(.baseline) }

    @Test("strided and broadcast loops, avx2", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func loopsAVX2() { checkLoops(.avx2) }

    @Test("strided and broadcast loops, avx512", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func loopsAVX512() { checkLoops(.avx512) }
}
