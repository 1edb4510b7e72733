import Foundation
import Strata
import Testing

@Suite struct ReductionTests {
    /// [[1, 2, 3], [4, 5, 6]]
    let matrix = Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] as [Float], shape: [2, 3])

    // MARK: Values

    @Test func sumAndMeanOverDimsWithKeepDims() {
        expectClose(matrix.sum(dim: 0), [5, 7, 9], shape: [3])
        expectClose(matrix.sum(dims: [0, 1]), [21], shape: [])
        expectClose(matrix.mean(), [3.5], shape: [])                         // 21 / 6
        expectClose(matrix.mean(dim: 0), [2.5, 3.5, 4.5], shape: [3])       // column means
        expectClose(matrix.mean(dim: -1), [2, 5], shape: [2])                // row means: 6/3, 15/3
        expectClose(matrix.mean(dim: 1, keepDims: true), [2, 5], shape: [2, 1])
        expectClose(matrix.mean(dims: [0, 1], keepDims: true), [3.5], shape: [1, 1])
        expectClose(matrix.mean(dims: [-1, 0, 1]), [3.5], shape: [])         // repeated dims count once
        let scalar = Tensor(scalar: 4)
        expectClose(scalar.sum(), [4], shape: [])
        expectClose(scalar.mean(dim: 0), [4], shape: [])
    }

    @Test func meanOverAZeroSizeDimIsNaN() {
        let empty = Tensor.zeros([0, 3])
        let columns = empty.mean(dim: 0)  // torch.zeros(0, 3).mean(0) == [nan, nan, nan]
        #expect(columns.shape == [3])
        #expect(columns.toDoubles().allSatisfy { $0.isNaN })
        #expect(empty.mean().item().isNaN)
        #expect(empty.mean(dim: 1).shape == [0])
        expectClose(empty.sum(dim: 0), [0, 0, 0], shape: [3])
    }

    @Test func reductionsOverATransposedView() {
        let t = matrix.transposed()  // [[1, 4], [2, 5], [3, 6]]
        expectClose(t.sum(dim: 1), [5, 7, 9], shape: [3])
        expectClose(t.mean(dim: 0), [2, 5], shape: [2])
        let (values, indices) = t.max(dim: 0)
        expectClose(values, [3, 6], shape: [2])
        #expect(indices.scalars(as: Int64.self) == [2, 2])
        #expect(t.argmin(dim: 1).scalars(as: Int64.self) == [0, 0, 0])
        // Rows of t are [1, 4], [2, 5], [3, 6]: sample variances 4.5 each, population variances 2.25.
        expectClose(t.variance(dim: 1), [4.5, 4.5, 4.5], shape: [3])
        expectClose(t.variance(dim: -1, unbiased: false, keepDims: true), [2.25, 2.25, 2.25], shape: [3, 1])
    }

    @Test func maxAndMinReturnValuesAndFirstIndices() {
        let x = Tensor([3.0, 1.0, 3.0, 2.0, -1.0, 0.5, 0.5, 7.0] as [Float], shape: [2, 4])
        let (maxValues, maxIndices) = x.max(dim: 1)
        expectClose(maxValues, [3, 7], shape: [2])
        #expect(maxIndices.dtype == .int64 && maxIndices.scalars(as: Int64.self) == [0, 3])  // tie 3, 3: the first
        let (minValues, minIndices) = x.min(dim: -1, keepDims: true)
        expectClose(minValues, [1, -1], shape: [2, 1])
        #expect(minIndices.shape == [2, 1] && minIndices.scalars(as: Int64.self) == [1, 0])
        let (columnMax, columnArg) = x.max(dim: 0)
        expectClose(columnMax, [3, 1, 3, 7], shape: [4])
        #expect(columnArg.scalars(as: Int64.self) == [0, 0, 0, 1])  // columns [3,-1], [1,.5], [3,.5], [2,7]
        #expect(x.argmax(dim: 0).scalars(as: Int64.self) == [0, 0, 0, 1])
        #expect(x.argmin(dim: 1, keepDims: true).shape == [2, 1])
        expectClose(x.max(), [7], shape: [])
        expectClose(x.min(), [-1], shape: [])
        #expect(x.argmax().scalars(as: Int64.self) == [7] && x.argmax().shape == [])  // flat index of 7
        #expect(x.argmin().scalars(as: Int64.self) == [4])
        #expect(x.argmax(keepDims: true).shape == [1, 1])
        #expect(Tensor([2.0, 5.0, 5.0]).argmax().scalars(as: Int64.self) == [1])  // first of a tie
        // 0-d: dim 0 is accepted, as in PyTorch, and index 0 is returned.
        let (v, i) = Tensor(scalar: 2.5).max(dim: 0)
        #expect(v.shape == [] && v.item() == 2.5 && i.scalars(as: Int64.self) == [0])
    }

    @Test func maxPropagatesNaNLikePyTorch() {
        // torch.tensor([1., nan, 3.]).max(0) == (nan, 1)
        let (value, index) = Tensor([1.0, .nan, 3.0]).max(dim: 0)
        #expect(value.item().isNaN && index.scalars(as: Int64.self) == [1])
        #expect(Tensor([1.0, .nan, 3.0]).min().item().isNaN)
    }

    @Test func varianceUsesBesselsCorrectionByDefault() {
        let x = Tensor([1.0, 2.0, 3.0, 4.0] as [Float])
        // mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5: torch.var gives 5/3, unbiased=False 5/4.
        expectClose(x.variance(), [5.0 / 3.0], shape: [])
        expectClose(x.variance(unbiased: false), [1.25], shape: [])
        expectClose(matrix.variance(dim: 0), [4.5, 4.5, 4.5], shape: [3])  // columns [1,4], [2,5], [3,6]
        #expect(Tensor([3.0]).variance().item().isNaN)  // N − 1 = 0, as torch.var([3.]) == nan
        #expect(Tensor.zeros([0]).variance(unbiased: false).item().isNaN)
    }

    @Test func logsumexpIsStableForLargeLogits() {
        // log(e¹ + e² + e³) = 3 + log(1 + e⁻¹ + e⁻²) = 3.40760596…
        expectClose(Tensor([1.0, 2.0, 3.0] as [Float]).logsumexp(), [3.4076059644], shape: [])
        // 1e4 + log 2, where exp(1e4) alone overflows.
        expectClose(Tensor([1e4, 1e4] as [Float]).logsumexp(dim: 0), [10_000.693147], rtol: 1e-6)
        expectClose(Tensor([1e4, -1e4, 0]).logsumexp(), [1e4], rtol: 1e-12)
        let rows = Tensor([0.0, 0.0, -.infinity, -.infinity], shape: [2, 2]).logsumexp(dim: 1, keepDims: true)
        expectClose(rows, [log(2.0), -.infinity], shape: [2, 1])  // a row of −∞ gives −∞, as in PyTorch
        expectClose(Tensor.zeros([0, 2]).logsumexp(dim: 0), [-.infinity, -.infinity], shape: [2])
        expectClose(matrix.logsumexp(dims: [0, 1]), [6.4561921], shape: [])  // log Σ_{k=1..6} eᵏ
    }

    @Test func gradientsOfMaxAndMinGoToTheSelectedElement() {
        let x = Tensor([1.0, 5.0, 5.0, 2.0], shape: [2, 2])
        x.requiresGrad = true
        x.max().backward()  // two maxima: only the first occurrence gets the gradient
        expectClose(x.grad!, [0, 1, 0, 0])
        x.zeroGrad()
        x.min(dim: 0).values.sum().backward()  // column minima 1 (row 0) and 2 (row 1)
        expectClose(x.grad!, [1, 0, 0, 1])
    }

    // MARK: Gradchecks

    @Test(arguments: [
        ([2, 3], []), ([2, 3], [0]), ([2, 3], [-1]), ([2, 3, 4], [0, 2]), ([3, 1, 4], [1]), ([4, 1], [0]),
        ([], []), ([], [0]), ([0, 3], [1]),
    ] as [([Int], [Int])])
    func smoothReductionsPassGradcheck(_ c: ([Int], [Int])) {
        let x = randomInput(c.0)
        let n = c.1.isEmpty || c.0.isEmpty ? c.0.reduce(1, *) : Set(c.1.map { ($0 + c.0.count) % c.0.count }).reduce(1) { $0 * c.0[$1] }
        for keep in [false, true] {
            expectGradcheck([x], "sum keepDims \(keep)") { $0[0].sum(dims: c.1, keepDims: keep) }
            expectGradcheck([x], "mean keepDims \(keep)") { $0[0].mean(dims: c.1, keepDims: keep) }
            expectGradcheck([x], "variance biased keepDims \(keep)") {
                $0[0].variance(dims: c.1, unbiased: false, keepDims: keep)
            }
            if n > 1 || x.count == 0 {  // the unbiased variance of one element is NaN
                expectGradcheck([x], "variance keepDims \(keep)") { $0[0].variance(dims: c.1, keepDims: keep) }
            }
            expectGradcheck([x], "logsumexp keepDims \(keep)") { $0[0].logsumexp(dims: c.1, keepDims: keep) }
        }
    }

    @Test func smoothReductionsOfTransposedViewsPassGradcheck() {
        let x = randomInput([3, 2], seed: 4)
        expectGradcheck([x], "sum transposed") { $0[0].transposed().sum(dim: 1) }
        expectGradcheck([x], "mean transposed") { $0[0].transposed().mean(dim: 0, keepDims: true) }
        expectGradcheck([x], "variance transposed") { $0[0].transposed().variance(dim: -1) }
        expectGradcheck([x], "logsumexp transposed") { $0[0].transposed().logsumexp(dim: 1) }
        let y = randomInput([2, 3, 4], seed: 5)
        expectGradcheck([y], "variance permuted") { $0[0].permuted([2, 0, 1]).variance(dims: [0, 2]) }
        expectGradcheck([y], "logsumexp permuted") { $0[0].permuted([1, 2, 0]).logsumexp(dims: [-1, 0]) }
    }

    @Test(arguments: [
        ([2, 3], 0), ([2, 3], -1), ([3, 1, 4], 1), ([3, 1, 4], 2), ([5], 0), ([], 0), ([0, 3], 1),
    ] as [([Int], Int)])
    func maxAndMinPassGradcheck(_ c: ([Int], Int)) {
        let x = randomInput(c.0, seed: 7)  // normal samples: no ties
        for keep in [false, true] {
            expectGradcheck([x], "max keepDims \(keep)") { $0[0].max(dim: c.1, keepDims: keep).values }
            expectGradcheck([x], "min keepDims \(keep)") { $0[0].min(dim: c.1, keepDims: keep).values }
        }
        if x.count > 0 {
            expectGradcheck([x], "max of all") { $0[0].max() }
            expectGradcheck([x], "min of all") { $0[0].min() }
        }
    }

    @Test func maxAndMinOfTransposedViewsPassGradcheck() {
        let x = randomInput([3, 4], seed: 8)
        expectGradcheck([x], "max transposed") { $0[0].transposed().max(dim: 1).values }
        expectGradcheck([x], "min transposed") { $0[0].transposed().min(dim: 0, keepDims: true).values }
        expectGradcheck([x], "max of all transposed") { $0[0].transposed().max() }
        expectGradcheck([x], "min of all transposed") { $0[0].transposed().min() }
    }
}
