import Strata
import Testing

@Suite struct ArithmeticTests {
    @Test func broadcastingFollowsNumPy() {
        let a = Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] as [Float], shape: [2, 3])
        let b = Tensor([10.0, 20.0, 30.0] as [Float])
        expectClose(a + b, [11, 22, 33, 14, 25, 36], shape: [2, 3])
        let column = Tensor([1.0, 2.0] as [Float], shape: [2, 1])
        expectClose(a * column, [1, 2, 3, 8, 10, 12], shape: [2, 3])
        expectClose(b - column, [9, 19, 29, 8, 18, 28], shape: [2, 3])
        expectClose(2.0 / Tensor([4.0, 8.0] as [Float]), [0.5, 0.25])
        expectClose(-a.slice(1, 0..<1), [-1, -4], shape: [2, 1])
    }

    @Test func operandsThroughTransposedAndExpandedViews() {
        let a = Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], shape: [2, 3])
        let t = a.transposed()  // [3, 2] view: [[1, 4], [2, 5], [3, 6]]
        expectClose(t + Tensor([0.5, -0.5]), [1.5, 3.5, 2.5, 4.5, 3.5, 5.5], shape: [3, 2])
        expectClose(Tensor([1.0, 2.0], shape: [2, 1]).expanded(to: [2, 3]) * a, [1, 2, 3, 8, 10, 12])
    }

    @Test(arguments: [
        ([2, 3], [2, 3]), ([2, 3], [3]), ([4, 1, 3], [2, 1]), ([2, 3], []), ([1], [3, 1]), ([0, 3], [3]),
    ] as [([Int], [Int])])
    func binaryOpsPassGradcheck(shapes: ([Int], [Int])) {
        let a = randomInput(shapes.0, seed: 1), b = randomInput(shapes.1, seed: 2)
        expectGradcheck([a, b], "add") { $0[0] + $0[1] }
        expectGradcheck([a, b], "sub") { $0[0] - $0[1] }
        expectGradcheck([a, b], "mul") { $0[0] * $0[1] }
        expectGradcheck([a, b], "div") { $0[0] / $0[1] }
    }

    @Test func binaryOpsOnATransposedViewPassGradcheck() {
        expectGradcheck([randomInput([3, 2]), randomInput([3, 2], seed: 3)], "mul transposed") {
            $0[0].transposed() * $0[1].transposed() - 2.0
        }
        expectGradcheck([randomInput([3])], "neg") { -$0[0] }
    }

    @Test func largeAddMatchesTheSerialResult() {
        // Crosses the threshold above which elementwise kernels run on several threads.
        let n = 300_000
        let a = Tensor.normal([n]), b = Tensor.normal([n])
        let sum = (a + b).scalars(as: Float.self)
        let (av, bv) = (a.scalars(as: Float.self), b.scalars(as: Float.self))
        #expect(zip(sum, zip(av, bv)).allSatisfy { $0 == $1.0 + $1.1 })
    }
}
