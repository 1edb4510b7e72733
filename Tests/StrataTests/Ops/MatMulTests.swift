import Strata
import Testing

@Suite struct MatMulTests {
    @Test func twoByThreeTimesThreeByTwo() {
        let a = Tensor([1, 2, 3, 4, 5, 6] as [Float], shape: [2, 3])
        let b = Tensor([7, 8, 9, 10, 11, 12] as [Float], shape: [3, 2])
        // [[1·7+2·9+3·11, 1·8+2·10+3·12], [4·7+5·9+6·11, 4·8+5·10+6·12]]
        expectClose(a.matmul(b), [58, 64, 139, 154], shape: [2, 2])
        // Transposed views go to gemm as transpose flags and give the same product.
        // (A·B)ᵀ = Bᵀ·Aᵀ, with both right-hand operands read through transpose flags.
        expectClose(b.transposed().matmul(a.transposed()), [58, 139, 64, 154], shape: [2, 2])
        expectClose(a.matmul(a.transposed()), [14, 32, 32, 77], shape: [2, 2])
    }

    @Test func batchedWithBroadcastBatchDims() {
        let a = Tensor.normal([2, 1, 3, 4]), b = Tensor.normal([3, 4, 5])
        let c = a.matmul(b)
        #expect(c.shape == [2, 3, 3, 5])
        let expected = a.select(0, 1).squeezed(0).matmul(b.select(0, 2))
        expectClose(c.select(0, 1).select(0, 2), expected.toDoubles(), atol: 1e-5)
    }

    @Test(arguments: [
        ([3, 4], [4, 2]), ([2, 3, 4], [4, 5]), ([2, 1, 2, 3], [3, 3, 2]), ([4], [4, 3]), ([2, 4], [4]),
        ([1, 4], [4, 1]), ([3, 0], [0, 2]), ([0, 3], [3, 2]),
    ] as [([Int], [Int])])
    func gradcheckOnShapes(shapes: ([Int], [Int])) {
        expectGradcheck([randomInput(shapes.0), randomInput(shapes.1, seed: 2)], "matmul") { $0[0].matmul($0[1]) }
    }

    @Test func gradcheckThroughTransposedOperands() {
        expectGradcheck([randomInput([4, 3]), randomInput([2, 4], seed: 2)], "matmul transposed") {
            $0[0].transposed().matmul($0[1].transposed())
        }
    }
}
