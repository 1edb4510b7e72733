import Foundation
import Strata
import Testing

@Suite struct SoftmaxTests {
    @Test func valuesAlongTheLastDim() {
        let x = Tensor([1.0, 2.0, 3.0] as [Float])
        // e^k / (e + e² + e³); log-softmax is x − 3.40760596 (the log-sum-exp).
        expectClose(x.softmax(dim: 0), [0.09003057, 0.24472847, 0.66524096], shape: [3])
        expectClose(x.logSoftmax(dim: -1), [-2.40760596, -1.40760596, -0.40760596], shape: [3])
    }

    @Test(arguments: [DType.float32, .float64])
    func extremeLogitsStayFinite(dtype: DType) {
        let x = Tensor([1e4, -1e4, 0]).to(dtype)
        // exp(−1e4) and exp(−2e4) underflow to 0 next to exp(0) = 1 after subtracting the max.
        #expect(x.softmax(dim: 0).toDoubles() == [1, 0, 0])
        #expect(x.logSoftmax(dim: 0).toDoubles() == [0, -2e4, -1e4])
        let column = x.reshaped([3, 1])  // the same along dim 0 with inner size 1 (strided kernel path)
        #expect(column.expanded(to: [3, 2]).softmax(dim: 0).toDoubles() == [1, 1, 0, 0, 0, 0])
        #expect(column.expanded(to: [3, 2]).logSoftmax(dim: 0).toDoubles() == [0, 0, -2e4, -2e4, -1e4, -1e4])
    }

    @Test func anyDimMatchesTheLastDimOfATranspose() {
        let x = Tensor.normal([3, 5, 4], dtype: .float64)
        for dim in [0, 1, 2, -2] {
            let d = (dim + 3) % 3
            // Moving `dim` last and back must give the same values bit for bit: both kernel paths sum in order.
            let viaLast = x.transposed(d, -1).contiguous().softmax(dim: -1).transposed(d, -1)
            #expect(x.softmax(dim: dim).toDoubles() == viaLast.toDoubles())
            let logViaLast = x.transposed(d, -1).contiguous().logSoftmax(dim: -1).transposed(d, -1)
            #expect(x.logSoftmax(dim: dim).toDoubles() == logViaLast.toDoubles())
            // Runs along `dim` sum to 1.
            expectClose(x.softmax(dim: dim).sum(dim: dim), [Double](repeating: 1, count: 60 / x.shape[d]),
                        atol: 1e-12, rtol: 0)
        }
    }

    @Test func transposedViewAndNegativeDim() {
        let x = Tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0] as [Float], shape: [2, 3])
        // x.T = [[0, 3], [1, 4], [2, 5]]: each row is [a, a + 3], softmax [1, e³] / (1 + e³).
        let p = 1 / (1 + exp(3.0))
        expectClose(x.transposed().softmax(dim: -1), [p, 1 - p, p, 1 - p, p, 1 - p], shape: [3, 2])
        expectClose(x.softmax(dim: -2), [p, p, p, 1 - p, 1 - p, 1 - p], shape: [2, 3])
        expectClose(x.logSoftmax(dim: 0), [log(p), log(p), log(p), log(1 - p), log(1 - p), log(1 - p)])
    }

    @Test func largeInputsSplitAcrossThreadsMatchASmallReference() {
        // Many rows (each on one thread's chunk) and a long strided dim (inner > 1).
        let x = Tensor.normal([2_000, 64])
        let rows = x.softmax(dim: 1), columns = x.softmax(dim: 0)
        for r in [0, 777, 1_999] {
            #expect(rows.select(0, r).toDoubles() == x.select(0, r).softmax(dim: 0).toDoubles())
        }
        // A column's result does not depend on its neighbours or its thread's share, bit for bit; it matches
        // the Float64 softmax of the column within the kernels' bound (the lanes sum in another order than a row's).
        for c in [0, 31, 62] {
            #expect(columns.slice(1, c..<c + 2).toDoubles() == x.slice(1, c..<c + 2).softmax(dim: 0).toDoubles())
            expectClose(columns.select(1, c), x.select(1, c).to(.float64).softmax(dim: 0).toDoubles(), atol: 0, rtol: 1e-5)
        }
    }

    @Test func float32GradientsMatchFloat64() {
        let x64 = randomInput([4, 6], seed: 3), x32 = x64.to(.float32)
        let upstream = randomInput([4, 6], seed: 9)
        for dim in [0, 1] {
            for log in [false, true] {
                func grad(_ x: Tensor) -> [Double] {
                    let leaf = x.detached()
                    leaf.requiresGrad = true
                    let y = log ? leaf.logSoftmax(dim: dim) : leaf.softmax(dim: dim)
                    y.backward(seed: upstream.to(x.dtype))
                    return leaf.grad!.toDoubles()
                }
                let g32 = Tensor(grad(x32))
                expectClose(g32, grad(x64), atol: 1e-5)
            }
        }
    }

    @Test func logsumexpGradientIsTheSoftmax() {
        let x = randomInput([3, 4], seed: 2)
        x.requiresGrad = true
        x.logsumexp(dim: 1).sum().backward()
        expectClose(x.grad!, x.detached().softmax(dim: 1).toDoubles(), atol: 1e-12)
    }

    @Test(arguments: [
        ([2, 3], -1), ([2, 3], 0), ([2, 3, 4], 1), ([3, 1], 1), ([3, 1], 0), ([5], 0), ([], 0), ([0, 3], 1), ([2, 0], 1),
    ] as [([Int], Int)])
    func softmaxAndLogSoftmaxPassGradcheck(_ c: ([Int], Int)) {
        let x = randomInput(c.0, seed: 11)
        expectGradcheck([x], "softmax") { $0[0].softmax(dim: c.1) }
        expectGradcheck([x], "logSoftmax") { $0[0].logSoftmax(dim: c.1) }
    }

    @Test func transposedViewsPassGradcheck() {
        let x = randomInput([4, 3], seed: 12)
        expectGradcheck([x], "softmax transposed") { $0[0].transposed().softmax(dim: 1) }
        expectGradcheck([x], "logSoftmax transposed") { $0[0].transposed().logSoftmax(dim: 0) }
        let y = randomInput([2, 3, 4], seed: 13)
        expectGradcheck([y], "softmax permuted") { $0[0].permuted([2, 0, 1]).softmax(dim: 2) }
        // Large logits: the pullback is built from the stable output, so it stays finite.
        expectGradcheck([x * 100.0], "logSoftmax large") { $0[0].logSoftmax(dim: 1) }
    }
}
