import Strata
import Testing

/// Forward values and gradchecks of the view ops in Ops/Views.swift.
@Suite struct ViewTests {
    /// 0, 1, …, n−1 as float64 in `shape`.
    func iota(_ shape: [Int]) -> Tensor { Tensor.arange(0, Double(shape.reduce(1, *)), dtype: .float64).reshaped(shape) }

    @Test func reshapeKeepsRowMajorOrder() {
        let x = iota([2, 3])
        expectClose(x.reshaped([3, 2]), [0, 1, 2, 3, 4, 5], shape: [3, 2])
        expectClose(x.reshaped([-1]), [0, 1, 2, 3, 4, 5], shape: [6])
        expectClose(x.reshaped([3, -1]), [0, 1, 2, 3, 4, 5], shape: [3, 2])
        // The transpose [[0, 3], [1, 4], [2, 5]] is copied before reshaping.
        expectClose(x.transposed().reshaped([6]), [0, 3, 1, 4, 2, 5], shape: [6])
        expectClose(Tensor(scalar: 7, dtype: .float64).reshaped([1, 1]), [7], shape: [1, 1])
        #expect(Tensor.zeros([0, 3]).reshaped([3, -1]).shape == [3, 0])
        #expect(Tensor.arange(0, 6).reshaped([2, 3]).scalars(as: Int64.self) == [0, 1, 2, 3, 4, 5])
    }

    @Test func reshapeViewsAStridedTensorWhenTheLayoutAllows() {
        let x = iota([4, 6])
        let columns = x.slice(1, 2..<6)                         // [4, 4], strides [6, 1]
        let split = columns.reshaped([4, 2, 2])                  // splits the unit-stride dim: a view
        #expect(!split.isContiguous)
        expectClose(split, columns.contiguous().toDoubles(), shape: [4, 2, 2], atol: 0)
        let merged = columns.reshaped([16])                      // rows are 6 apart, 4 long: a copy
        #expect(merged.isContiguous)
        expectClose(merged, columns.contiguous().toDoubles(), shape: [16], atol: 0)
        // The attention head split: a third of the last dim of [B, L, 3E], as [B, L, H, D], then [B, H, L, D].
        let projected = iota([2, 3, 12])
        let heads = projected.slice(2, 4..<8).reshaped([2, 3, 2, 2]).permuted([0, 2, 1, 3])
        expectClose(heads, projected.slice(2, 4..<8).contiguous().reshaped([2, 3, 2, 2]).permuted([0, 2, 1, 3]).toDoubles(),
                    shape: [2, 2, 3, 2], atol: 0)
        // A view shares storage: writing through it writes x.
        split.copy(from: Tensor.zeros([4, 2, 2], dtype: .float64))
        expectClose(x, [0, 1, 0, 0, 0, 0, 6, 7, 0, 0, 0, 0, 12, 13, 0, 0, 0, 0, 18, 19, 0, 0, 0, 0], atol: 0)
        // Size-1 dims may have any stride; stride-0 (expanded) dims stay their own.
        expectClose(iota([3, 1, 4]).permuted([1, 0, 2]).reshaped([12]), (0..<12).map(Double.init), atol: 0)
        let expanded = iota([3]).unsqueezed(0).expanded(to: [2, 3])
        expectClose(expanded.reshaped([2, 3, 1]), [0, 1, 2, 0, 1, 2], shape: [2, 3, 1], atol: 0)
        expectClose(expanded.reshaped([6]), [0, 1, 2, 0, 1, 2], atol: 0)
        expectGradcheck([randomInput([3, 8])], "reshape of a column slice") {
            $0[0].slice(1, 2..<6).reshaped([3, 2, 2]).permuted([2, 0, 1]) * 3.0
        }
    }

    @Test func flattenMergesARangeOfDims() {
        let x = iota([2, 3, 4])
        #expect(x.flattened().shape == [24])
        #expect(x.flattened(from: 1).shape == [2, 12])
        #expect(x.flattened(from: 0, to: -2).shape == [6, 4])
        #expect(x.flattened(from: -1).shape == [2, 3, 4])
        #expect(Tensor(scalar: 1).flattened().shape == [1])
        // Flattening the transposed [3, 2] view reads it in its own row-major order.
        expectClose(iota([2, 3]).transposed().flattened(), [0, 3, 1, 4, 2, 5])
    }

    @Test func permuteAndTransposeReorderDims() {
        let x = iota([2, 3, 4])  // x[i][j][k] = 12i + 4j + k
        let p = x.permuted([2, 0, 1])  // p[k][i][j] = x[i][j][k]
        #expect(p.shape == [4, 2, 3])
        #expect(!p.isContiguous)
        expectClose(p.slice(0, 0..<2), [0, 4, 8, 12, 16, 20, 1, 5, 9, 13, 17, 21])
        expectClose(x.permuted([-1, 0, 1]), p.toDoubles(), shape: [4, 2, 3])
        let t = x.transposed(0, -1)  // t[k][j][i] = 12i + 4j + k
        #expect(t.shape == [4, 3, 2])
        expectClose(t.select(0, 1), [1, 13, 5, 17, 9, 21])
        expectClose(iota([2, 3]).transposed(), [0, 3, 1, 4, 2, 5], shape: [3, 2])
        // Transposing twice gives back a contiguous view with the original values.
        let back = iota([2, 3]).transposed().transposed()
        #expect(back.isContiguous)
        expectClose(back, [0, 1, 2, 3, 4, 5], shape: [2, 3])
    }

    @Test func unsqueezeAndSqueezeAddAndRemoveSizeOneDims() {
        let x = iota([2, 3])
        #expect(x.unsqueezed(0).shape == [1, 2, 3])
        #expect(x.unsqueezed(1).shape == [2, 1, 3])
        #expect(x.unsqueezed(2).shape == [2, 3, 1])
        #expect(x.unsqueezed(-1).shape == [2, 3, 1])
        #expect(x.unsqueezed(-3).shape == [1, 2, 3])
        expectClose(x.transposed().unsqueezed(1), [0, 3, 1, 4, 2, 5], shape: [3, 1, 2])
        let y = iota([1, 2, 1, 3])
        #expect(y.squeezed().shape == [2, 3])
        #expect(y.squeezed(2).shape == [1, 2, 3])
        #expect(y.squeezed(-2).shape == [1, 2, 3])
        #expect(y.squeezed(1).shape == [1, 2, 1, 3])  // size 2: unchanged, as in PyTorch
        expectClose(y.squeezed(), [0, 1, 2, 3, 4, 5])
        // A 0-d tensor has nothing to squeeze (this used to index shape[0] of an empty shape).
        #expect(Tensor(scalar: 2).squeezed().shape == [])
        #expect(Tensor(scalar: 2).squeezed(0).shape == [])
        #expect(Tensor(scalar: 2).unsqueezed(0).shape == [1])
    }

    @Test func expandRepeatsSizeOneDimsWithoutCopying() {
        let column = Tensor([1.0, 2.0], shape: [2, 1])
        let e = column.expanded(to: [2, 3])
        #expect(e.strides == [1, 0])
        expectClose(e, [1, 1, 1, 2, 2, 2], shape: [2, 3])
        expectClose(Tensor([1.0, 2.0, 3.0]).expanded(to: [2, 3]), [1, 2, 3, 1, 2, 3], shape: [2, 3])
        expectClose(Tensor(scalar: 5).expanded(to: [2, 2]), [5, 5, 5, 5], shape: [2, 2])
        #expect(Tensor.zeros([1, 3]).expanded(to: [0, 3]).shape == [0, 3])
    }

    @Test func sliceWithStepAndSelect() {
        let r = Tensor.arange(0, 10, dtype: .float64)
        expectClose(r.slice(0, 1..<8, step: 3), [1, 4, 7], shape: [3])  // 1, 1+3, 1+6
        expectClose(r.slice(0, 1..<7, step: 3), [1, 4], shape: [2])     // 7 is excluded
        expectClose(r.slice(-1, 9..<10), [9], shape: [1])
        #expect(r.slice(0, 4..<4).shape == [0])
        #expect(r.slice(0, 10..<10, step: 2).shape == [0])
        let x = iota([3, 4])  // x[i][j] = 4i + j
        expectClose(x.slice(1, 0..<4, step: 2), [0, 2, 4, 6, 8, 10], shape: [3, 2])
        expectClose(x.slice(-2, 1..<3), [4, 5, 6, 7, 8, 9, 10, 11], shape: [2, 4])
        expectClose(x.transposed().slice(0, 1..<4, step: 2), [1, 5, 9, 3, 7, 11], shape: [2, 3])
        expectClose(x.select(0, 1), [4, 5, 6, 7], shape: [4])
        expectClose(x.select(1, -1), [3, 7, 11], shape: [3])
        expectClose(x.select(-1, 0).select(0, 2), [8], shape: [])
        #expect(Tensor.arange(0, 6).slice(0, 2..<6, step: 2).scalars(as: Int64.self) == [2, 4])
    }

    @Test func sliceGradientLandsInTheSlicedPositions() {
        let x = iota([2, 5])
        x.requiresGrad = true
        (x.slice(1, 1..<5, step: 2) * 3.0).sum().backward()
        // Columns 1 and 3 were read once each, with weight 3.
        expectClose(x.grad!, [0, 3, 0, 3, 0, 0, 3, 0, 3, 0], shape: [2, 5])
    }

    @Test(arguments: [[2, 3], [1, 4], [3, 1], [4], [], [0, 3]] as [[Int]])
    func reshapeAndFlattenPassGradcheck(shape: [Int]) {
        let x = randomInput(shape)
        expectGradcheck([x], "reshape -1") { $0[0].reshaped([-1]) }
        expectGradcheck([x], "flatten") { $0[0].flattened() }
        expectGradcheck([x], "unsqueeze") { $0[0].unsqueezed(0).unsqueezed(-1) }
        expectGradcheck([x], "squeeze") { $0[0].unsqueezed(0).squeezed() }
        expectGradcheck([x], "expand") { $0[0].expanded(to: [2] + shape) }
        if shape.count == 2 {
            expectGradcheck([x], "reshape of a transposed view") { $0[0].transposed().reshaped([shape[0] * shape[1]]) }
            expectGradcheck([x], "transpose") { $0[0].transposed() * 2.0 }
            expectGradcheck([x], "permute") { $0[0].unsqueezed(1).permuted([2, 0, 1]) }
        }
    }

    @Test func permuteTransposeAndExpandPassGradcheck() {
        let x = randomInput([2, 3, 4])
        expectGradcheck([x], "permute") { $0[0].permuted([2, 0, 1]) }
        expectGradcheck([x], "permute negative") { $0[0].permuted([-1, -3, -2]) }
        expectGradcheck([x], "transpose 0 -1") { $0[0].transposed(0, -1) }
        expectGradcheck([x], "flatten middle of a permuted view") { $0[0].permuted([1, 0, 2]).flattened(from: 1) }
        expectGradcheck([randomInput([3, 1])], "expand size-1 dim") { $0[0].expanded(to: [2, 3, 4]) }
        expectGradcheck([randomInput([])], "expand a scalar") { $0[0].expanded(to: [2, 3]) }
        expectGradcheck([randomInput([1, 3])], "expand to a zero-size dim") { $0[0].expanded(to: [0, 3]) }
        expectGradcheck([randomInput([2, 3])], "expand a transposed view") { $0[0].transposed().unsqueezed(0).expanded(to: [2, 3, 2]) }
    }

    @Test func sliceAndSelectPassGradcheck() {
        let x = randomInput([4, 5])
        expectGradcheck([x], "slice") { $0[0].slice(1, 1..<4) }
        expectGradcheck([x], "slice step") { $0[0].slice(-1, 0..<5, step: 2) }
        expectGradcheck([x], "slice step 3 of a transposed view") { $0[0].transposed().slice(0, 1..<5, step: 3) }
        expectGradcheck([x], "empty slice") { $0[0].slice(0, 2..<2) }
        expectGradcheck([x], "slice of a slice") { $0[0].slice(0, 1..<4).slice(1, 1..<5, step: 2) }
        expectGradcheck([x], "select") { $0[0].select(0, 2) }
        expectGradcheck([x], "select negative") { $0[0].select(-1, -2) }
        expectGradcheck([x], "select of a transposed view") { $0[0].transposed().select(1, 3) }
        expectGradcheck([randomInput([1, 3])], "select size-1 dim") { $0[0].select(0, 0) }
        expectGradcheck([randomInput([0, 3])], "slice zero-size") { $0[0].slice(1, 1..<3) }
        // Two overlapping slices of one tensor: their gradients add up.
        expectGradcheck([x], "overlapping slices") { $0[0].slice(0, 0..<3) + $0[0].slice(0, 1..<4) }
    }
}
