import Foundation
import Strata
import Testing

/// Shapes every differentiable elementwise op is gradchecked on: a matrix, a size-1 dim, a 0-d scalar and
/// a zero-size dim. Transposed views are checked separately.
let elementwiseShapes: [[Int]] = [[2, 3], [1, 4], [], [0, 3]]

/// Operand shape pairs for binary ops: equal, row broadcast, both sides broadcast, against a scalar,
/// a size-1 dim, and a zero-size dim.
let elementwiseBroadcastShapes: [([Int], [Int])] = [([2, 3], [2, 3]), ([2, 3], [3]), ([4, 1, 3], [2, 1]), ([2, 3], []),
                                         ([1], [3, 1]), ([0, 3], [3])]

@Suite struct ElementwiseTests {
    // MARK: Forward values

    @Test func powWithAScalarExponent() {
        let x = Tensor([-2.0, 0.5, 3.0, 0.0])
        expectClose(x.pow(2), [4, 0.25, 9, 0])                               // squares
        expectClose(x.pow(3), [-8, 0.125, 27, 0])                            // cubes keep the sign
        expectClose(x.pow(0), [1, 1, 1, 1])                                  // 0⁰ = 1, as libm and PyTorch
        expectClose(Tensor([4.0, 2.0]).pow(0.5), [2, 1.4142135623730951])   // √2
        expectClose(Tensor([1.5] as [Float]).pow(-1.5), [0.5443310539518174])  // 1.5^-1.5 (Python)
        let root = Tensor([-1.0, 0.0]).pow(0.5).toDoubles()                 // √(−1) is NaN, √0 = 0
        #expect(root[0].isNaN && root[1] == 0)
    }

    @Test func powWithATensorExponentBroadcasts() {
        let base = Tensor([2.0, 4.0, 9.0, 16.0, -2.0, -3.0], shape: [2, 3])
        let powered = base.pow(Tensor([3.0, 0.5, 2.0]))
        #expect(powered.shape == [2, 3])
        // [2³, 4^½, 9², 16³, (−2)^½, (−3)²]: negative bases need an integral exponent.
        let v = powered.toDoubles()
        #expect(v[0] == 8 && v[1] == 2 && v[2] == 81 && v[3] == 4096 && v[4].isNaN && v[5] == 9)
    }

    @Test func expLogAndSqrtEdgeCases() {
        let e = 2.718281828459045
        expectClose(Tensor([0.0, 1.0, -1.0]).exp(), [1, e, 1 / e])
        #expect(Tensor([1000.0]).exp().item() == .infinity)                  // overflows to +inf in float64
        #expect(Tensor([100.0] as [Float]).exp().item() == .infinity)        // and in float32 (e¹⁰⁰ > 3.4e38)
        #expect(Tensor([-1000.0]).exp().item() == 0)

        let logs = Tensor([1, Float(e), 0, -1]).log().toDoubles()
        #expect(logs[0] == 0 && Swift.abs(logs[1] - 1) < 1e-6)
        #expect(logs[2] == -.infinity)                                       // log 0 is −inf, not NaN
        #expect(logs[3].isNaN)                                               // log of a negative is NaN

        expectClose(Tensor([4.0, 2.0, 0.0]).sqrt(), [2, 1.4142135623730951, 0])
        #expect(Tensor([-4.0]).sqrt().item().isNaN)
    }

    @Test func absAndClamp() {
        expectClose(Tensor([-1.5, 0.0, 2.0] as [Float]).abs(), [1.5, 0, 2])
        let x = Tensor([-2.0, -0.5, 0.5, 3.0])
        expectClose(x.clamp(min: -1, max: 1), [-1, -0.5, 0.5, 1])
        expectClose(x.clamp(min: 0), [0, 0, 0.5, 3])
        expectClose(x.clamp(max: 0), [-2, -0.5, 0, 0])
        expectClose(x.clamp(min: 1, max: -1), [-1, -1, -1, -1])              // min > max gives max, as torch.clamp
        #expect(Tensor([Double.nan]).clamp(min: 0, max: 1).item().isNaN)     // NaN passes through
    }

    @Test func clampGradientFlowsInsideAndAtTheBounds() {
        // PyTorch's clamp_backward masks with min ≤ x ≤ max, so a value sitting on a bound still gets g.
        let x = Tensor([-2.0, -1.0, 0.5, 1.0, 3.0])
        x.requiresGrad = true
        x.clamp(min: -1, max: 1).sum().backward()
        expectClose(x.grad!, [0, 1, 1, 1, 0])
    }

    @Test func maximumAndMinimumBroadcastAndPropagateNaN() {
        let a = Tensor([1.0, 5.0, -3.0, 2.0, 0.0, 7.0] as [Float], shape: [2, 3])
        let b = Tensor([2.0, 2.0, 2.0] as [Float])
        expectClose(Tensor.maximum(a, b), [2, 5, 2, 2, 2, 7], shape: [2, 3])
        expectClose(Tensor.minimum(a, b), [1, 2, -3, 2, 0, 2], shape: [2, 3])
        let withNaN = Tensor.maximum(Tensor([Double.nan, 1.0]), Tensor([0.0, Double.nan])).toDoubles()
        #expect(withNaN[0].isNaN && withNaN[1].isNaN)
        let minNaN = Tensor.minimum(Tensor([Double.nan, 1.0]), Tensor([0.0, Double.nan])).toDoubles()
        #expect(minNaN[0].isNaN && minNaN[1].isNaN)
    }

    @Test func maximumAndMinimumSplitTheGradientOnTies() {
        // a = [1, 2, 3] against b = 2: a loses, ties, wins. PyTorch gives each side ½ of g on the tie.
        for (op, expectedA, expectedB) in [("maximum", [0.0, 0.5, 1.0], [1.5]), ("minimum", [1.0, 0.5, 0.0], [1.5])] {
            let a = Tensor([1.0, 2.0, 3.0]), b = Tensor(scalar: 2, dtype: .float64)
            a.requiresGrad = true
            b.requiresGrad = true
            let y = op == "maximum" ? Tensor.maximum(a, b) : Tensor.minimum(a, b)
            y.sum().backward()
            expectClose(a.grad!, expectedA)
            expectClose(b.grad!, expectedB, shape: [])                       // 1 + ½ summed over the broadcast
        }
    }

    @Test func whereBroadcastsAllThreeOperands() {
        let mask = Tensor([true, false], shape: [2, 1])
        let a = Tensor([1.0, 2.0, 3.0] as [Float])
        let b = Tensor(scalar: -1, dtype: .float32)
        expectClose(Tensor.where(mask, a, b), [1, 2, 3, -1, -1, -1], shape: [2, 3])
        // Any dtype moves through where: int64 labels with a broadcast mask.
        let labels = Tensor.where(Tensor([true, false, true]), Tensor([Int64(7)], shape: []), Tensor([Int64(1), 2, 3]))
        #expect(labels.scalars(as: Int64.self) == [7, 2, 7])
        // A transposed mask is read through its strides.
        let square = Tensor([true, true, false, false], shape: [2, 2]).transposed()   // [[T, F], [T, F]]
        expectClose(Tensor.where(square, Tensor.ones([2, 2]), Tensor.zeros([2, 2])), [1, 0, 1, 0])
        #expect(Tensor.where(Tensor([Bool](), shape: [0, 3]), a, b).shape == [0, 3])
    }

    @Test func whereSendsTheGradientToTheChosenSide() {
        let mask = Tensor([true, false, true])
        let a = Tensor([1.0, 2.0, 3.0]), b = Tensor(scalar: 5, dtype: .float64)
        a.requiresGrad = true
        b.requiresGrad = true
        (Tensor.where(mask, a, b) * Tensor([10.0, 20.0, 30.0])).sum().backward()
        expectClose(a.grad!, [10, 0, 30])
        expectClose(b.grad!, [20], shape: [])
    }

    @Test func largeInputsRunOnSeveralThreadsWithTheSameResult() {
        // Crosses the threshold above which the parameterised kernels split work across threads.
        let n = 300_000
        let x = Tensor.normal([n], dtype: .float64)
        let clamped = x.clamp(min: -0.5, max: 0.5).toDoubles()
        #expect(zip(clamped, x.toDoubles()).allSatisfy { $0 == Swift.min(Swift.max($1, -0.5), 0.5) })
        let transposed = Tensor.normal([600, 500], dtype: .float64).transposed()
        let squared = transposed.pow(2).toDoubles()
        #expect(zip(squared, transposed.toDoubles()).allSatisfy { $0 == $1 * $1 })
    }

    // MARK: Gradients

    @Test(arguments: elementwiseShapes)
    func unaryOpsPassGradcheck(shape: [Int]) {
        let x = randomInput(shape)                            // normal, |x| ≥ 0.05: away from abs's kink
        let positive = randomInput(shape, in: 0.5...2)        // for log, sqrt and fractional powers
        expectGradcheck([x], "exp") { $0[0].exp() }
        expectGradcheck([positive], "log") { $0[0].log() }
        expectGradcheck([positive], "sqrt") { $0[0].sqrt() }
        expectGradcheck([x], "abs") { $0[0].abs() }
        expectGradcheck([x], "pow 2") { $0[0].pow(2) }
        expectGradcheck([x], "pow 3") { $0[0].pow(3) }
        expectGradcheck([x], "pow 0") { $0[0].pow(0) }
        expectGradcheck([positive], "pow -1.5") { $0[0].pow(-1.5) }
        expectGradcheck([positive], "pow 0.5") { $0[0].pow(0.5) }
    }

    @Test(arguments: elementwiseShapes)
    func clampPassesGradcheckAwayFromItsBounds(shape: [Int]) {
        let x = randomInput(shape, seed: 3)
        let (lo, hi) = (-0.6, 0.8)
        #expect(x.toDoubles().allSatisfy { Swift.abs($0 - lo) > 1e-3 && Swift.abs($0 - hi) > 1e-3 })
        expectGradcheck([x], "clamp") { $0[0].clamp(min: lo, max: hi) }
        expectGradcheck([x], "clamp min") { $0[0].clamp(min: lo) }
        expectGradcheck([x], "clamp max") { $0[0].clamp(max: hi) }
    }

    @Test(arguments: elementwiseBroadcastShapes)
    func binaryOpsPassGradcheck(shapes: ([Int], [Int])) {
        let a = randomInput(shapes.0, seed: 1), b = randomInput(shapes.1, seed: 2)
        expectGradcheck([a, b], "maximum") { Tensor.maximum($0[0], $0[1]) }
        expectGradcheck([a, b], "minimum") { Tensor.minimum($0[0], $0[1]) }
        // Positive bases so that log(base), in the exponent's gradient, is finite.
        let base = randomInput(shapes.0, seed: 4, in: 0.5...2)
        expectGradcheck([base, b], "pow tensor") { $0[0].pow($0[1]) }
        expectGradcheck([b, base], "pow tensor (broadcast base)") { $0[1].pow($0[0]) }
    }

    @Test(arguments: elementwiseBroadcastShapes)
    func wherePassesGradcheckWithABroadcastMask(shapes: ([Int], [Int])) {
        let a = randomInput(shapes.0, seed: 1), b = randomInput(shapes.1, seed: 2)
        // A [3]-wide (or 0-d) mask broadcast against both operands.
        let mask = (shapes.0.last ?? 1) == 3 ? Tensor([true, false, true]) : Tensor([false], shape: [])
        expectGradcheck([a, b], "where") { Tensor.where(mask, $0[0], $0[1]) }
        expectGradcheck([a, b], "where (true)") { Tensor.where(Tensor([true], shape: []), $0[0], $0[1]) }
    }

    @Test func opsOnTransposedViewsPassGradcheck() {
        let x = randomInput([3, 2]), y = randomInput([3, 2], seed: 5)
        let positive = randomInput([3, 2], in: 0.5...2)
        expectGradcheck([x], "exp transposed") { $0[0].transposed().exp() }
        expectGradcheck([positive], "log transposed") { $0[0].transposed().log() }
        expectGradcheck([positive], "sqrt transposed") { $0[0].transposed().sqrt() }
        expectGradcheck([x], "abs transposed") { $0[0].transposed().abs() }
        expectGradcheck([x], "pow 3 transposed") { $0[0].transposed().pow(3) }
        expectGradcheck([x], "clamp transposed") { $0[0].transposed().clamp(min: -0.6, max: 0.8) }
        expectGradcheck([x, y], "maximum transposed") { Tensor.maximum($0[0].transposed(), $0[1].transposed()) }
        expectGradcheck([x, y], "minimum transposed") { Tensor.minimum($0[0].transposed(), $0[1].transposed()) }
        expectGradcheck([positive, y], "pow tensor transposed") { $0[0].transposed().pow($0[1].transposed()) }
        let mask = Tensor([true, false, false, true, true, false], shape: [3, 2]).transposed()
        expectGradcheck([x, y], "where transposed") { Tensor.where(mask, $0[0].transposed(), $0[1].transposed()) }
    }
}

extension ElementwiseTests {
    @Test func powGradientsFollowPyTorchAtZero() {
        // d/da aᵇ is 0 where b = 0 (even at a = 0), and d/db aᵇ is 0 where a = 0 and b ≥ 0.
        let a = Tensor([0.0, 0.0, 2.0]), b = Tensor([0.0, 2.0, 3.0])
        a.requiresGrad = true
        b.requiresGrad = true
        a.pow(b).sum().backward()
        expectClose(a.grad!, [0, 0, 12])                                    // 3·2² = 12
        expectClose(b.grad!, [0, 0, 8 * 0.6931471805599453])                // 2³·ln 2
        // Only the base tracked: the exponent gets no gradient.
        let x = Tensor([1.5, 2.0])
        x.requiresGrad = true
        x.pow(Tensor([2.0, -1.0])).sum().backward()
        expectClose(x.grad!, [3, -0.25])                                    // 2·1.5, −1·2⁻²
        let s = Tensor([0.0, 3.0])
        s.requiresGrad = true
        s.pow(0).sum().backward()
        expectClose(s.grad!, [0, 0])                                        // x⁰ is constant
    }
}
