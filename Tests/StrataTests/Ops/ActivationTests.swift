import Strata
import Testing

@Suite struct ActivationTests {
    // MARK: Forward values

    @Test func leakyReluScalesNegatives() {
        let x = Tensor([-2.0, 0.0, 3.0] as [Float])
        expectClose(x.leakyRelu(), [-0.02, 0, 3])                               // default slope 0.01
        expectClose(x.leakyRelu(negativeSlope: 0.2), [-0.4, 0, 3])
    }

    @Test func tanhValues() {
        // tanh(1) and tanh(−0.5) from Python's math.tanh; tanh saturates to −1 far out.
        expectClose(Tensor([0.0, 1.0, -0.5, -20.0]).tanh(), [0, 0.7615941559557649, -0.46211715726000974, -1],
                    atol: 1e-15, rtol: 1e-14)
    }

    @Test func sigmoidIsExactAndFiniteFarOut() {
        // σ(1) = 1 / (1 + e⁻¹) from Python's math; σ(−1) = 1 − σ(1).
        expectClose(Tensor([0.0, 1.0, -1.0]).sigmoid(), [0.5, 0.7310585786300049, 0.2689414213699951],
                    atol: 1e-15, rtol: 1e-14)
        for dtype in [DType.float32, .float64] {
            let far = Tensor([1e4, -1e4, 100, -100], shape: [4]).to(dtype).sigmoid().toDoubles()
            #expect(far[0] == 1 && far[1] == 0, "\(dtype): \(far)")           // exact saturation, no NaN
            #expect(far.allSatisfy { $0.isFinite }, "\(dtype): \(far)")
        }
        // The gradient far out is 0, not NaN.
        let x = Tensor([1e4, -1e4])
        x.requiresGrad = true
        x.sigmoid().sum().backward()
        #expect(x.grad!.toDoubles() == [0, 0])
    }

    @Test func geluMatchesBothTorchForms() {
        // Exact: ½x(1 + erf(x/√2)), computed with Python's math.erf:
        //   gelu(−1) = −0.15865525393145707, gelu(1) = 0.8413447460685429, gelu(2) = 1.9544997361036416.
        // tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) with math.tanh:
        //   −0.15880800939172324, 0.8411919906082768, 1.954597694087775.
        let x = Tensor([-1.0, 0.0, 1.0, 2.0])
        expectClose(x.gelu(), [-0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416],
                    atol: 1e-15, rtol: 1e-14)
        expectClose(x.gelu(approximate: .tanh), [-0.15880800939172324, 0, 0.8411919906082768, 1.954597694087775],
                    atol: 1e-15, rtol: 1e-14)
        expectClose(x.to(.float32).gelu(), [-0.15865525393145707, 0, 0.8413447460685429, 1.9544997361036416])
        let far = Tensor([-1e4, 1e4] as [Float])
        #expect(far.gelu().toDoubles() == [0, 1e4] && far.gelu(approximate: .tanh).toDoubles() == [0, 1e4])
    }

    @Test func siluValues() {
        // x·σ(x): σ(1) = 0.7310585786300049 and −σ(−1) = −0.2689414213699951 (Python's math).
        expectClose(Tensor([1.0, -1.0, 0.0]).silu(), [0.7310585786300049, -0.2689414213699951, 0],
                    atol: 1e-15, rtol: 1e-14)
        let far = Tensor([-1e4, 1e4] as [Float]).silu().toDoubles()
        #expect(far[0] == 0 && far[1] == 1e4)
    }

    // MARK: Gradients

    @Test(arguments: elementwiseShapes)
    func activationsPassGradcheck(shape: [Int]) {
        let x = randomInput(shape, seed: 7)                   // |x| ≥ 0.05: away from leakyRelu's kink
        expectGradcheck([x], "leakyRelu") { $0[0].leakyRelu() }
        expectGradcheck([x], "leakyRelu 0.3") { $0[0].leakyRelu(negativeSlope: 0.3) }
        expectGradcheck([x], "tanh") { $0[0].tanh() }
        expectGradcheck([x], "sigmoid") { $0[0].sigmoid() }
        expectGradcheck([x], "gelu") { $0[0].gelu() }
        expectGradcheck([x], "gelu tanh") { $0[0].gelu(approximate: .tanh) }
        expectGradcheck([x], "silu") { $0[0].silu() }
    }

    @Test func activationsPassGradcheckFarFromZeroAndBroadcast() {
        // Large |x| reaches the saturated branches (σ's eˣ/(1 + eˣ) form for x < 0).
        let x = randomInput([2, 3], seed: 8) * 4.0
        let bias = randomInput([3], seed: 9)
        expectGradcheck([x, bias], "sigmoid broadcast") { ($0[0] + $0[1]).sigmoid() }
        expectGradcheck([x, bias], "silu broadcast") { ($0[0] * $0[1]).silu() }
        expectGradcheck([x, bias], "gelu broadcast") { ($0[0] - $0[1]).gelu() }
        expectGradcheck([x, bias], "gelu tanh broadcast") { ($0[0] - $0[1]).gelu(approximate: .tanh) }
        expectGradcheck([x, bias], "tanh broadcast") { ($0[0] + $0[1]).tanh() }
    }

    @Test func activationsOnTransposedViewsPassGradcheck() {
        let x = randomInput([3, 2], seed: 10)
        expectGradcheck([x], "leakyRelu transposed") { $0[0].transposed().leakyRelu(negativeSlope: 0.1) }
        expectGradcheck([x], "tanh transposed") { $0[0].transposed().tanh() }
        expectGradcheck([x], "sigmoid transposed") { $0[0].transposed().sigmoid() }
        expectGradcheck([x], "gelu transposed") { $0[0].transposed().gelu() }
        expectGradcheck([x], "gelu tanh transposed") { $0[0].transposed().gelu(approximate: .tanh) }
        expectGradcheck([x], "silu transposed") { $0[0].transposed().silu() }
    }
}
