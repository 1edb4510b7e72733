import Strata
import Testing

/// indexSelect, gather, scatterAdd and oneHot: forward values by hand (PyTorch's documented examples where
/// they exist), gradchecks in Float64, and bounds checks.
@Suite struct IndexingTests {
    func indices(_ values: [Int64], shape: [Int]? = nil) -> Tensor { Tensor(values, shape: shape) }

    /// [[1, 2, 3], [4, 5, 6], [7, 8, 9]] as float64.
    let grid = Tensor([1.0, 2, 3, 4, 5, 6, 7, 8, 9], shape: [3, 3])

    // MARK: indexSelect

    @Test func indexSelectPicksSlicesInIndexOrder() {
        expectClose(grid.indexSelect(dim: 0, index: indices([2, 0, 2])), [7, 8, 9, 1, 2, 3, 7, 8, 9], shape: [3, 3])
        expectClose(grid.indexSelect(dim: 1, index: indices([1, 1])), [2, 2, 5, 5, 8, 8], shape: [3, 2])
        expectClose(grid.indexSelect(dim: -1, index: indices([2, 0])), [3, 1, 6, 4, 9, 7], shape: [3, 2])
        // gridᵀ = [[1, 4, 7], [2, 5, 8], [3, 6, 9]].
        expectClose(grid.transposed().indexSelect(dim: 0, index: indices([2])), [3, 6, 9], shape: [1, 3])
        #expect(grid.indexSelect(dim: 0, index: indices([])).shape == [0, 3])
        expectClose(grid.indexSelect(dim: 0, index: Tensor(scalar: 1, dtype: .int64)), [4, 5, 6], shape: [1, 3])
        // An embedding table [4, 2] looked up by token ids.
        let table = Tensor.arange(0, 8).reshaped([4, 2])
        #expect(table.indexSelect(dim: 0, index: indices([3, 3, 0])).scalars(as: Int64.self) == [6, 7, 6, 7, 0, 1])
        let f32 = Tensor([1, 2, 3] as [Float]).indexSelect(dim: 0, index: indices([2, 0]))
        #expect(f32.scalars(as: Float.self) == [3, 1])
    }

    @Test func indexSelectGradientsOfRepeatedIndicesAreSummed() {
        let x = Tensor([1.0, 2, 3, 4, 5, 6], shape: [3, 2])
        x.requiresGrad = true
        x.indexSelect(dim: 0, index: indices([0, 2, 0, 0])).sum().backward()
        // Row 0 was picked three times, row 1 never, row 2 once.
        expectClose(x.grad!, [3, 3, 0, 0, 1, 1], shape: [3, 2])
    }

    @Test func largeIndexSelectMatchesRowCopies() {
        // An embedding lookup big enough to split across threads, and its backward through the row path.
        let table = Tensor.normal([50, 64], dtype: .float64)
        let ids = Tensor.randint(0, 50, shape: [2_000])
        let rows = table.indexSelect(dim: 0, index: ids)
        let idList = ids.scalars(as: Int64.self)
        for j in [0, 777, 1_999] {
            expectClose(rows.select(0, j), table.select(0, Int(idList[j])).toDoubles(), atol: 0, rtol: 0)
        }
        table.requiresGrad = true
        table.indexSelect(dim: 0, index: ids).sum().backward()
        // Each row's gradient is the number of times its id occurs, in every column.
        let counts = (0..<50).map { id in Double(idList.filter { $0 == id }.count) }
        expectClose(table.grad!.select(1, 17), counts, atol: 0, rtol: 0)
    }

    @Test(arguments: [([4, 3], 0), ([4, 3], -1), ([2, 3, 4], 1), ([1, 3], 0), ([5], 0)] as [([Int], Int)])
    func indexSelectPassesGradcheck(shape: [Int], dim: Int) {
        let d = dim < 0 ? dim + shape.count : dim
        let n = shape[d]
        let index = indices([Int64(n - 1), 0, Int64(n - 1), Int64(n / 2), 0])
        expectGradcheck([randomInput(shape)], "indexSelect repeated") { $0[0].indexSelect(dim: dim, index: index) }
        expectGradcheck([randomInput(shape)], "indexSelect empty") { $0[0].indexSelect(dim: dim, index: indices([])) }
    }

    @Test func indexSelectOfViewsPassesGradcheck() {
        let x = randomInput([3, 4])
        expectGradcheck([x], "indexSelect of a transposed view") { $0[0].transposed().indexSelect(dim: 0, index: indices([3, 1, 3])) }
        expectGradcheck([x], "indexSelect of a transposed view, dim 1") { $0[0].transposed().indexSelect(dim: 1, index: indices([2, 2])) }
        expectGradcheck([randomInput([0, 4])], "indexSelect zero-size") { $0[0].indexSelect(dim: 1, index: indices([0, 3])) }
    }

    // MARK: gather

    @Test func gatherFollowsTorchGather() {
        // torch.gather docs: t = [[1, 2], [3, 4]]; gather(t, 1, [[0, 0], [1, 0]]) = [[1, 1], [4, 3]].
        let t = Tensor([1.0, 2, 3, 4], shape: [2, 2])
        expectClose(t.gather(dim: 1, index: indices([0, 0, 1, 0], shape: [2, 2])), [1, 1, 4, 3], shape: [2, 2])
        // out[i][j] = t[index[i][j]][j] with a [1, 2] index: [t[1][0], t[0][1]].
        expectClose(t.gather(dim: 0, index: indices([1, 0], shape: [1, 2])), [3, 2], shape: [1, 2])
        // Picking each row's target class, as cross-entropy does: grid[i][target[i]].
        expectClose(grid.gather(dim: -1, index: indices([2, 0, 1], shape: [3, 1])), [3, 4, 8], shape: [3, 1])
        // gridᵀ[i][j] = grid[j][i]; out[i][0] = gridᵀ[i][index[i]] = grid[index[i]][i].
        expectClose(grid.transposed().gather(dim: 1, index: indices([0, 2, 1], shape: [3, 1])), [1, 8, 6], shape: [3, 1])
        #expect(grid.gather(dim: 0, index: indices([], shape: [0, 3])).shape == [0, 3])
        expectClose(Tensor(scalar: 4, dtype: .float64).gather(dim: 0, index: Tensor(scalar: 0, dtype: .int64)), [4], shape: [])
        let ints = Tensor.arange(0, 6).reshaped([2, 3]).gather(dim: 1, index: indices([2, 2, 0, 1], shape: [2, 2]))
        #expect(ints.scalars(as: Int64.self) == [2, 2, 3, 4])
    }

    @Test func gatherPassesGradcheck() {
        let x = randomInput([3, 4])
        let index = indices([3, 0, 3, 1, 1, 1, 2, 0], shape: [2, 4])  // repeats along dim 1 within rows
        expectGradcheck([x], "gather dim 1") { $0[0].gather(dim: 1, index: index) }
        expectGradcheck([x], "gather dim -1") { $0[0].gather(dim: -1, index: index) }
        expectGradcheck([x], "gather dim 0") { $0[0].gather(dim: 0, index: indices([2, 2, 0, 1], shape: [1, 4])) }
        expectGradcheck([x], "gather of a transposed view") { $0[0].transposed().gather(dim: 0, index: indices([2, 0, 1, 2, 2, 0], shape: [2, 3])) }
        expectGradcheck([randomInput([2, 1, 3])], "gather size-1 dim") { $0[0].gather(dim: 1, index: indices([0, 0, 0, 0], shape: [2, 2, 1])) }
        expectGradcheck([randomInput([])], "gather scalar") { $0[0].gather(dim: 0, index: Tensor(scalar: 0, dtype: .int64)) }
        expectGradcheck([randomInput([])], "gather scalar dim -1") { $0[0].gather(dim: -1, index: Tensor(scalar: 0, dtype: .int64)) }
        expectGradcheck([x], "gather zero-size index") { $0[0].gather(dim: 1, index: indices([], shape: [3, 0])) }
    }

    // MARK: scatterAdd

    @Test func scatterAddFollowsTorchScatterAdd() {
        // torch.scatter_add docs: src = ones(2, 5), index = [[0, 1, 2, 0, 0], [0, 1, 2, 2, 2]],
        // zeros(3, 5).scatter_add(0, index, src) = [[2, 0, 0, 1, 1], [0, 2, 0, 0, 0], [0, 0, 2, 1, 1]].
        let index = indices([0, 1, 2, 0, 0, 0, 1, 2, 2, 2], shape: [2, 5])
        let sum = Tensor.zeros([3, 5], dtype: .float64).scatterAdd(dim: 0, index: index, source: Tensor.ones([2, 5], dtype: .float64))
        expectClose(sum, [2, 0, 0, 1, 1, 0, 2, 0, 0, 0, 0, 0, 2, 1, 1], shape: [3, 5])
        // The input is kept and added to; it is not modified in place.
        let base = Tensor([10.0, 20, 30])
        let out = base.scatterAdd(dim: 0, index: indices([2, 2, 0]), source: Tensor([1.0, 2, 3]))
        expectClose(out, [13, 20, 33])  // 10 + 3, 20, 30 + 1 + 2
        expectClose(base, [10, 20, 30])
        // A source larger than the index: only its leading [1, 2] block is used.
        let partial = Tensor.zeros([2, 2], dtype: .float64)
            .scatterAdd(dim: 1, index: indices([1, 1], shape: [1, 2]), source: Tensor([1.0, 2, 3, 4], shape: [2, 2]))
        expectClose(partial, [0, 3, 0, 0], shape: [2, 2])
        let ints = Tensor.zeros([3], dtype: .int64).scatterAdd(dim: 0, index: indices([1, 1]), source: Tensor([4, 5] as [Int64]))
        #expect(ints.scalars(as: Int64.self) == [0, 9, 0])
        let f32 = Tensor([1, 1] as [Float]).scatterAdd(dim: 0, index: indices([0, 0, 1]), source: Tensor([0.5, 0.25, 2] as [Float]))
        #expect(f32.scalars(as: Float.self) == [1.75, 3])  // 1 + 0.5 + 0.25, 1 + 2
    }

    @Test func scatterAddRowPathMatchesTheGeneralPath() {
        // An index expanded along the other dims takes the row path; the same values as a dense index do not.
        let ids = indices([3, 0, 3, 1])
        let source = Tensor.normal([2, 4, 5], dtype: .float64)
        let spread = ids.reshaped([1, 4, 1]).expanded(to: [2, 4, 5])
        let rows = Tensor.ones([2, 4, 5], dtype: .float64).scatterAdd(dim: 1, index: spread, source: source)
        let general = Tensor.ones([2, 4, 5], dtype: .float64).scatterAdd(dim: 1, index: spread.contiguous(), source: source)
        expectClose(rows, general.toDoubles(), atol: 0, rtol: 0)
        // Row 3 of each batch gets source rows 0 and 2.
        let expected = (1.0 + source.select(1, 0) + source.select(1, 2)).toDoubles()
        expectClose(rows.select(1, 3), expected, atol: 1e-12)
    }

    @Test func scatterAddPassesGradcheck() {
        let index = indices([0, 2, 2, 1, 0, 0], shape: [2, 3])
        expectGradcheck([randomInput([3, 3]), randomInput([2, 3], seed: 2)], "scatterAdd dim 0") {
            $0[0].scatterAdd(dim: 0, index: index, source: $0[1])
        }
        expectGradcheck([randomInput([2, 4]), randomInput([2, 3], seed: 2)], "scatterAdd dim -1") {
            $0[0].scatterAdd(dim: -1, index: indices([3, 3, 0, 1, 2, 1], shape: [2, 3]), source: $0[1])
        }
        expectGradcheck([randomInput([3, 3]), randomInput([3, 4], seed: 2)], "scatterAdd source larger than index") {
            $0[0].scatterAdd(dim: 0, index: index, source: $0[1])
        }
        expectGradcheck([randomInput([3, 3]), randomInput([3, 2], seed: 2)], "scatterAdd transposed source") {
            $0[0].scatterAdd(dim: 0, index: index, source: $0[1].transposed())
        }
        expectGradcheck([randomInput([4, 3]), randomInput([5, 3], seed: 2)], "scatterAdd row index") {
            $0[0].scatterAdd(dim: 0, index: indices([3, 0, 3, 3, 1]).reshaped([5, 1]).expanded(to: [5, 3]), source: $0[1])
        }
        expectGradcheck([randomInput([1, 3]), randomInput([1, 2], seed: 2)], "scatterAdd size-1 dim") {
            $0[0].scatterAdd(dim: 1, index: indices([2, 2], shape: [1, 2]), source: $0[1])
        }
        expectGradcheck([randomInput([]), randomInput([], seed: 2)], "scatterAdd scalar") {
            $0[0].scatterAdd(dim: 0, index: Tensor(scalar: 0, dtype: .int64), source: $0[1])
        }
        expectGradcheck([randomInput([3, 2]), randomInput([0, 2], seed: 2)], "scatterAdd empty source") {
            $0[0].scatterAdd(dim: 0, index: indices([], shape: [0, 2]), source: $0[1])
        }
    }

    // MARK: oneHot

    @Test func oneHotMarksEachLabel() {
        let hot = Tensor.oneHot(indices([2, 0, 1, 2]), classes: 3)
        #expect(hot.dtype == .float32)
        expectClose(hot, [0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1], shape: [4, 3])
        expectClose(Tensor.oneHot(indices([1, 0], shape: [2, 1]), classes: 2, dtype: .float64), [0, 1, 1, 0], shape: [2, 1, 2])
        #expect(Tensor.oneHot(indices([3]), classes: 4, dtype: .int64).scalars(as: Int64.self) == [0, 0, 0, 1])
        #expect(Tensor.oneHot(Tensor(scalar: 0, dtype: .int64), classes: 2).shape == [2])
        #expect(Tensor.oneHot(indices([]), classes: 5).shape == [0, 5])
    }

    // MARK: Bounds

    @Test func outOfRangeIndicesStopWithAMessage() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([3, 2]).indexSelect(dim: 0, index: Tensor([0, 3] as [Int64]))
        }
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("indexSelect: index 3 out of range 0..<3 for dim 0 of shape [3, 2]"), "\(message)")
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([3, 2]).gather(dim: 1, index: Tensor([-1, 0] as [Int64], shape: [1, 2]))
        }
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([3]).scatterAdd(dim: 0, index: Tensor([5] as [Int64]), source: Tensor.ones([1]))
        }
        await #expect(processExitsWith: .failure) {
            _ = Tensor.oneHot(Tensor([4] as [Int64]), classes: 4)
        }
        await #expect(processExitsWith: .failure) {
            _ = Tensor.zeros([3]).indexSelect(dim: 0, index: Tensor([0.0]))
        }
    }
}
