import Foundation
import Strata
import Testing

/// Expects `actual` (Float32 results widened to Double) within `bound` relative error of `expected`
/// (exact where `expected` is 0), and reports the worst element at the caller.
private func expectRelativeError(_ inputs: [Float], _ actual: [Double], _ expected: [Double], atMost bound: Double,
                                 sourceLocation: SourceLocation = #_sourceLocation) {
    var (worst, worstIndex) = (0.0, 0)
    for i in expected.indices {
        let error = expected[i] == 0 ? Swift.abs(actual[i]) : Swift.abs(actual[i] - expected[i]) / Swift.abs(expected[i])
        if !(error <= worst) { (worst, worstIndex) = (error, i) }
    }
    #expect(worst <= bound, "relative error \(worst) at x = \(inputs[worstIndex]): \(actual[worstIndex]) vs \(expected[worstIndex])",
            sourceLocation: sourceLocation)
}

@Suite struct ErfTests {
    /// Every step of 1/8192 on [−6, 6], the 64 floats either side of the polynomial split at 0.9 and of
    /// the clamp at 4, and tiny to moderate magnitudes on a log grid: an odd count, so the vector loop
    /// also runs its tail.
    private static let grid: [Float] = {
        var values = (-6 * 8192...6 * 8192).map { Float($0) / 8192 }
        for edge: Float in [0.9, 4] {
            var (up, down) = (edge, edge)
            for _ in 0..<64 {
                (up, down) = (up.nextUp, down.nextDown)
                values += [up, down, -up, -down]
            }
        }
        values += (0...592).map { Float(pow(10, -37 + Double($0) / 16)) }   // normal floats only
        return values
    }()

    @Test func float32IsWithin1e7OfDoubleErf() {
        let x = Tensor(Self.grid)
        // The reference is Foundation's Double erf of the same Float32 input.
        expectRelativeError(Self.grid, x.erf().toDoubles(), Self.grid.map { Foundation.erf(Double($0)) }, atMost: 1e-7)
    }

    @Test func float32EdgeValues() {
        let y = Tensor([0, -0.0, .infinity, -.infinity, 4, 10, -1e30, .nan] as [Float]).erf().toDoubles()
        #expect(y[0] == 0 && y[0].sign == .plus && y[1] == 0 && y[1].sign == .minus, "\(y)")
        #expect(Array(y[2...6]) == [1, -1, 1, 1, -1], "\(y)")       // erfc(4) = 1.5e-8 rounds off in Float32
        #expect(y[7].isNaN)
        // Odd to the last bit, and the same result wherever an element sits (strided view, tail lanes).
        let x = Tensor(Self.grid)
        #expect((-x).erf().toDoubles() == x.erf().toDoubles().map { -$0 })
        let matrix = Tensor(Array(Self.grid.prefix(35)), shape: [5, 7])
        #expect(matrix.transposed().erf().toDoubles() == matrix.erf().transposed().toDoubles())
    }

    @Test func float64MatchesLibmAndGradcheck() {
        // erf(0.5), erf(−1), erf(2) from Python's math.erf.
        expectClose(Tensor([0.5, -1.0, 2.0]).erf(), [0.5204998778130465, -0.8427007929497149, 0.9953222650189527],
                    atol: 1e-16, rtol: 1e-15)
        #expect(Tensor([-Double.infinity, .infinity]).erf().toDoubles() == [-1, 1])
        for shape in [[3, 4], [1, 5], [], [0, 3]] {
            expectGradcheck([randomInput(shape)], "erf") { $0[0].erf() }
            expectGradcheck([randomInput(shape, seed: 2)], "erf of a transposed view") {
                ($0[0].rank == 2 ? $0[0].transposed() : $0[0]).erf()
            }
        }
    }

    @Test func float32GradientMatchesFloat64() {
        let x = randomInput([6, 7])
        let x32 = x.to(.float32)
        for t in [x, x32] { t.requiresGrad = true }
        x.erf().sum().backward()
        x32.erf().sum().backward()
        expectClose(x32.grad!, x.grad!.toDoubles())
    }

    @Test func geluFloat32MatchesFloat64ForwardAndBackward() {
        // The Float32 kernels (gelu, gelu_grad_x) against the Float64 ones (libm), on a grid through the split points
        // of erf's argument x/√2 and far out, where the gradient's density term is flushed to zero.
        let values = (-600...600).map { Double($0) / 40 } + [-30, -14, 14, 30]
        let upstream = randomInput([values.count], seed: 5)
        let x = Tensor(values), x32 = Tensor(values.map { Float($0) })
        for t in [x, x32] { t.requiresGrad = true }
        x.gelu().backward(seed: upstream)
        let y32 = x32.gelu()
        y32.backward(seed: upstream.to(.float32))
        expectClose(y32, x.gelu().toDoubles(), atol: 1e-6, rtol: 1e-6)
        expectClose(x32.grad!, x.grad!.toDoubles(), atol: 1e-6, rtol: 1e-6)
    }
}
