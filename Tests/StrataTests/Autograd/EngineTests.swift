import Foundation
import Strata
import Testing

@Suite struct EngineTests {
    @Test func gradientsOfATensorUsedTwiceAreSummed() {
        let x = Tensor([2.0, 3.0])
        x.requiresGrad = true
        let y = (x * x + x).sum()  // dy/dx = 2x + 1
        y.backward()
        expectClose(x.grad!, [5, 7])
    }

    @Test func leafGradientsAccumulateAcrossBackwardCalls() {
        let x = Tensor([1.0, -1.0])
        x.requiresGrad = true
        (x * 3.0).sum().backward()
        (x * 2.0).sum().backward()
        expectClose(x.grad!, [5, 5])
    }

    @Test func aThousandStepRecurrenceDoesNotOverflowTheStack() {
        let w = Tensor([0.999])
        w.requiresGrad = true
        var h = Tensor([1.0])
        for _ in 0..<1000 { h = h * w + 0.001 }
        h.sum().backward()
        // h_T = w^T + 0.001·Σ_{t<T} w^t, so dh/dw = T·w^(T−1) + 0.001·Σ t·w^(t−1) for t < T.
        var expected = 1000 * Foundation.pow(0.999, 999.0)
        for t in 1..<1000 { expected += 0.001 * Double(t) * Foundation.pow(0.999, Double(t - 1)) }
        expectClose(w.grad!, [expected], atol: 1e-9, rtol: 1e-9)
    }

    @Test func aHundredThousandOpChainIsFreedWithoutRecursion() {
        let x = Tensor([1.0])
        x.requiresGrad = true
        var h = x
        for _ in 0..<100_000 { h = h + 1.0 }
        h.backward()
        expectClose(x.grad!, [1])
    }

    @Test func noGradRecordsNothing() {
        let x = Tensor([1.0, 2.0])
        x.requiresGrad = true
        let y = withNoGrad { x * 2.0 }
        #expect(!y.isTracked)
        #expect((x * 2.0).isTracked)
        #expect(!(x.detached() * 2.0).isTracked)
    }

    @Test func aCustomDifferentiableOpGetsItsPullbackCalled() {
        func cube(_ x: Tensor) -> Tensor {
            let y = withNoGrad { x * x * x }
            return Tensor.differentiable("cube", inputs: [x], output: y) { g in [g * 3.0 * x * x] }
        }
        expectGradcheck([randomInput([3, 2])], "cube") { cube($0[0]) }
        let x = Tensor([2.0])
        x.requiresGrad = true
        cube(x).backward()
        expectClose(x.grad!, [12])
    }

    @Test func gradcheckCatchesAPullbackThatIgnoresItsUpstreamGradient() {
        func wrongSquare(_ x: Tensor) -> Tensor {
            let y = withNoGrad { x * x }
            return Tensor.differentiable("wrongSquare", inputs: [x], output: y) { _ in [2.0 * x] }
        }
        let result = gradcheck([randomInput([4])]) { wrongSquare($0[0]) }
        #expect(!result.passed)
    }

    @Test func retainGraphAllowsASecondBackwardWithTheSameGradients() {
        let x = Tensor([0.5, 1.5])
        x.requiresGrad = true
        let y = (x * x).sum()
        y.backward(retainGraph: true)
        let first = x.grad!.toDoubles()
        x.zeroGrad()
        y.backward()
        #expect(x.grad!.toDoubles() == first)
    }

    @Test func seedGradientDrivesANonScalarBackward() {
        let x = Tensor([1.0, 2.0, 3.0])
        x.requiresGrad = true
        (x * x).backward(seed: Tensor([1.0, 0.0, -1.0]))
        expectClose(x.grad!, [2, 0, -6])
    }
}
