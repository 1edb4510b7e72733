import Strata
import Testing

/// cat, stack, split, chunk and pad: forward values by hand, gradchecks in Float64.
@Suite struct ShapeOpTests {
    /// 0, 1, …, n−1 as float64 in `shape`.
    func iota(_ shape: [Int], dtype: DType = .float64) -> Tensor {
        Tensor.arange(0, Double(shape.reduce(1, *)), dtype: dtype).reshaped(shape)
    }

    // MARK: cat / stack

    @Test func catJoinsAlongADim() {
        let a = Tensor([1.0, 2.0, 3.0, 4.0], shape: [2, 2]), b = Tensor([5.0, 6.0], shape: [1, 2])
        expectClose(Tensor.cat([a, b]), [1, 2, 3, 4, 5, 6], shape: [3, 2])
        // Along the last dim each row of a is followed by the row of c: [1, 2 | 7], [3, 4 | 8].
        let c = Tensor([7.0, 8.0], shape: [2, 1])
        expectClose(Tensor.cat([a, c], dim: -1), [1, 2, 7, 3, 4, 8], shape: [2, 3])
        expectClose(Tensor.cat([a, c], dim: 1), [1, 2, 7, 3, 4, 8], shape: [2, 3])
        // An empty piece contributes nothing.
        expectClose(Tensor.cat([a, Tensor.zeros([0, 2], dtype: .float64), b], dim: 0), [1, 2, 3, 4, 5, 6], shape: [3, 2])
        // aᵀ = [[1, 3], [2, 4]] is read through its strides.
        expectClose(Tensor.cat([a.transposed(), a], dim: 1), [1, 3, 1, 2, 2, 4, 3, 4], shape: [2, 4])
        expectClose(Tensor.cat([a]), [1, 2, 3, 4], shape: [2, 2])
        let ints = Tensor.cat([Tensor([1, 2] as [Int64]), Tensor([3] as [Int64])])
        #expect(ints.dtype == .int64 && ints.scalars(as: Int64.self) == [1, 2, 3])
        let f32 = Tensor.cat([Tensor([1, 2] as [Float], shape: [1, 2]), Tensor([3, 4] as [Float], shape: [1, 2])], dim: -2)
        #expect(f32.scalars(as: Float.self) == [1, 2, 3, 4])
    }

    @Test func largeCatMatchesElementwiseCopy() {
        // Big enough to run the copy on several threads, along a middle dim.
        let a = iota([64, 100, 30]), b = iota([64, 50, 30]) * -1.0
        let c = Tensor.cat([a, b], dim: 1)
        #expect(c.shape == [64, 150, 30])
        expectClose(c.slice(1, 0..<100), a.toDoubles(), atol: 0, rtol: 0)
        expectClose(c.slice(1, 100..<150), b.toDoubles(), atol: 0, rtol: 0)
    }

    @Test func stackAddsADim() {
        let a = Tensor([1.0, 2.0]), b = Tensor([3.0, 4.0])
        expectClose(Tensor.stack([a, b]), [1, 2, 3, 4], shape: [2, 2])
        expectClose(Tensor.stack([a, b], dim: 1), [1, 3, 2, 4], shape: [2, 2])
        expectClose(Tensor.stack([a, b], dim: -1), [1, 3, 2, 4], shape: [2, 2])
        expectClose(Tensor.stack([Tensor(scalar: 5, dtype: .float64), Tensor(scalar: 6, dtype: .float64)]), [5, 6], shape: [2])
        #expect(Tensor.stack([iota([0, 3]), iota([0, 3])], dim: 1).shape == [0, 2, 3])
        #expect(Tensor.stack([Tensor([1] as [Int64]), Tensor([2] as [Int64])]).scalars(as: Int64.self) == [1, 2])
    }

    @Test(arguments: [
        ([[2, 3], [1, 3], [0, 3]], 0), ([[2, 3], [2, 1]], -1), ([[2, 1, 3], [2, 2, 3]], 1), ([[4], [4]], 0), ([[1, 1], [1, 2]], 1),
    ] as [([[Int]], Int)])
    func catPassesGradcheck(shapes: [[Int]], dim: Int) {
        let inputs = shapes.enumerated().map { randomInput($1, seed: UInt64($0 + 1)) }
        expectGradcheck(inputs, "cat dim \(dim)") { Tensor.cat($0, dim: dim) }
        // The same piece twice: its gradient is the sum of both slices.
        expectGradcheck([inputs[0]], "cat with itself") { Tensor.cat([$0[0], $0[0] * 2.0], dim: dim) }
    }

    @Test func catAndStackOfViewsPassGradcheck() {
        let a = randomInput([3, 2]), b = randomInput([2, 2], seed: 2)
        expectGradcheck([a, b], "cat of a transposed view") { Tensor.cat([$0[0].transposed(), $0[1]], dim: 1) }
        expectGradcheck([a, b], "cat of a transposed view, dim -2") { Tensor.cat([$0[0].transposed().transposed(), $0[1].transposed()], dim: -2) }
        expectGradcheck([a, a], "stack") { Tensor.stack($0, dim: 0) }
        expectGradcheck([a, a], "stack dim -1") { Tensor.stack($0, dim: -1) }
        expectGradcheck([a, b], "stack transposed views") { Tensor.stack([$0[0].slice(0, 0..<2).transposed(), $0[1]], dim: 1) }
        expectGradcheck([randomInput([]), randomInput([], seed: 3)], "stack scalars") { Tensor.stack($0) }
        expectGradcheck([randomInput([0, 2]), randomInput([0, 2], seed: 3)], "stack zero-size") { Tensor.stack($0, dim: 2) }
    }

    // MARK: split / chunk

    @Test func splitAndChunkFollowPyTorch() {
        let r = iota([5])
        let bySizes = r.split(sizes: [2, 0, 3])
        #expect(bySizes.map(\.shape) == [[2], [0], [3]])
        expectClose(bySizes[2], [2, 3, 4])
        let bySize = r.split(size: 2)  // torch.split(arange(5), 2) → [0, 1], [2, 3], [4]
        #expect(bySize.map { $0.toDoubles() } == [[0, 1], [2, 3], [4]])
        #expect(r.split(size: 7).map(\.shape) == [[5]])
        // torch.chunk(arange(5), 4): chunk size ⌈5/4⌉ = 2, so only three chunks.
        #expect(r.chunk(4).map { $0.toDoubles() } == [[0, 1], [2, 3], [4]])
        #expect(iota([6]).chunk(3).map { $0.toDoubles() } == [[0, 1], [2, 3], [4, 5]])
        #expect(r.chunk(1).map(\.shape) == [[5]])
        #expect(iota([0, 2]).chunk(3).map(\.shape) == [[0, 2], [0, 2], [0, 2]])
        #expect(iota([0, 2]).split(size: 2).map(\.shape) == [[0, 2]])
        let x = iota([2, 5])  // x[i][j] = 5i + j
        let columns = x.split(sizes: [3, 2], dim: -1)
        expectClose(columns[0], [0, 1, 2, 5, 6, 7], shape: [2, 3])
        expectClose(columns[1], [3, 4, 8, 9], shape: [2, 2])
        expectClose(x.transposed().chunk(2)[1], [3, 8, 4, 9], shape: [2, 2])  // rows 3…4 of xᵀ
        #expect(Tensor.arange(0, 5).split(size: 3)[1].scalars(as: Int64.self) == [3, 4])
    }

    @Test func splitAndChunkPassGradcheck() {
        let x = randomInput([3, 5])
        // Reassembling the pieces in reverse order checks that each piece's gradient lands in its own place.
        expectGradcheck([x], "split sizes") { Tensor.cat($0[0].split(sizes: [2, 0, 3], dim: 1).reversed(), dim: 1) }
        expectGradcheck([x], "split size") { Tensor.cat($0[0].split(size: 2, dim: -1).reversed(), dim: -1) }
        expectGradcheck([x], "chunk") { Tensor.cat($0[0].chunk(2, dim: 0).reversed(), dim: 0) }
        expectGradcheck([x], "chunk piece") { $0[0].chunk(2, dim: 0)[1] * 3.0 }
        expectGradcheck([x], "chunk of a transposed view") { $0[0].transposed().chunk(2)[0] }
        expectGradcheck([randomInput([1, 4])], "split a size-1 dim") { $0[0].split(size: 1, dim: 0)[0] }
        expectGradcheck([randomInput([0, 4])], "split a zero-size tensor") { $0[0].split(sizes: [1, 3], dim: 1)[1] }
    }

    // MARK: pad

    @Test func padFillsAroundTheInput() {
        let x = Tensor([1.0, 2.0, 3.0, 4.0], shape: [2, 2])
        // One row of 9s on top, two columns of 9s on the right.
        expectClose(x.padded([(1, 0), (0, 2)], value: 9), [9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9], shape: [3, 4])
        // F.pad(x, [1, 1]) pads the last dim only.
        expectClose(x.padded(last: [1, 1]), [0, 1, 2, 0, 0, 3, 4, 0], shape: [2, 4])
        // F.pad(x, [0, 0, 0, 1]): last dim untouched, one zero row below.
        expectClose(x.padded(last: [0, 0, 0, 1]), [1, 2, 3, 4, 0, 0], shape: [3, 2])
        // Negative amounts crop: drop the first element, add two.
        expectClose(Tensor.arange(0, 5, dtype: .float64).padded([(-1, 2)]), [1, 2, 3, 4, 0, 0], shape: [6])
        expectClose(x.padded([(0, -1), (-1, 0)]), [2], shape: [1, 1])
        // Only the first dim listed: the last is left alone.
        expectClose(x.padded([(0, 1)], value: 5), [1, 2, 3, 4, 5, 5], shape: [3, 2])
        // xᵀ = [[1, 3], [2, 4]], padded on the left.
        expectClose(x.transposed().padded(last: [1, 0], value: -1), [-1, 1, 3, -1, 2, 4], shape: [2, 3])
        expectClose(Tensor.zeros([0, 2], dtype: .float64).padded([(1, 0), (0, 0)], value: 5), [5, 5], shape: [1, 2])
        expectClose(Tensor(scalar: 3, dtype: .float64).padded([]), [3], shape: [])
        #expect(Tensor([1, 2] as [Int64]).padded(last: [1, 0], value: 7).scalars(as: Int64.self) == [7, 1, 2])
        #expect(Tensor([1, 2] as [Float]).padded(last: [0, 1]).scalars(as: Float.self) == [1, 2, 0])
    }

    @Test func padPassesGradcheck() {
        let x = randomInput([2, 3])
        expectGradcheck([x], "pad") { $0[0].padded([(1, 2), (0, 1)], value: 0.5) }
        expectGradcheck([x], "pad last") { $0[0].padded(last: [2, 1]) }
        expectGradcheck([x], "pad first dim only") { $0[0].padded([(1, 1)], value: -1) }
        expectGradcheck([x], "pad crop") { $0[0].padded([(-1, 1), (1, -2)]) }
        expectGradcheck([x], "pad a transposed view") { $0[0].transposed().padded(last: [1, 0, 0, 2]) }
        expectGradcheck([randomInput([1, 3])], "pad size-1 dim") { $0[0].padded([(2, 0), (0, 0)]) }
        expectGradcheck([randomInput([0, 3])], "pad zero-size") { $0[0].padded([(1, 1), (0, 0)], value: 2) }
        expectGradcheck([randomInput([])], "pad scalar") { $0[0].padded([]) }
    }
}
