import Dispatch
import Foundation
import Strata
import Synchronization
import Testing

// Raw-pointer lifetimes. A kernel that takes `t.pointer()` from a scratch tensor `t` (a fresh contiguous
// copy, a scratch buffer) and never uses `t` afterwards lets ARC release `t` in optimised builds while the
// pointer is still read or written; the buffer goes back to the pool and another thread takes it at once.
// Each test below drives one such path (a strided input, so the copy is really made) while a background
// thread keeps taking buffers of the same size from the pool and filling them with NaN or -1, so a buffer
// returned early would be overwritten while the kernel still reads it.
//
// Honest status: with Swift 6.3 in `-c release` these tests also passed with the fixes removed (lexical
// lifetimes plus the raw-pointer accesses acting as deinit barriers kept the tensors alive in practice).
// The language does not promise that, which is why Docs/AddingAnOp.md asks for `withExtendedLifetime`;
// these tests pin the strided and scratch-buffer paths so that a future optimiser change shows up here.

/// Stop signal for the churn thread.
private final class StopFlag: Sendable {
    let stopped = Mutex(false)
}

/// Runs `body` while another thread repeatedly takes pool buffers of `shapes` and overwrites them.
private func withPoolChurn(_ shapes: [([Int], DType)], _ body: () -> Void) {
    let flag = StopFlag()
    let finished = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        while !flag.stopped.withLock({ $0 }) {
            for (shape, dtype) in shapes {
                _ = Tensor.full(shape, dtype.isFloatingPoint ? .nan : -1, dtype: dtype)
            }
        }
        finished.signal()
    }
    body()
    flag.stopped.withLock { $0 = true }
    finished.wait()
}

private let rounds = 20

@Suite struct LifetimeTests {
    @Test func scalarsOfAStridedViewOutliveTheirCopy() {
        // t = xᵀ with x[i, j] = 64·i + j, so t[i, j] = 64·j + i.
        let x = Tensor((0..<4096).map { Float($0) }, shape: [64, 64])
        let expected = (0..<64).flatMap { i in (0..<64).map { j in Float(64 * j + i) } }
        withPoolChurn([([64, 64], .float32)]) {
            for _ in 0..<rounds { #expect(x.transposed().scalars(as: Float.self) == expected) }
        }
    }

    @Test func batchTransformsReadStridedInputsSafely() {
        // A [B, C, H, W] view of channels-last data: not contiguous, so each transform copies it first.
        let shape = [4, 3, 16, 16]
        let values: [Float] = (0..<(4 * 16 * 16 * 3)).map { i in Float(i % 251) / 251 }
        let channelsLast = Tensor(values, shape: [4, 16, 16, 3])
        let strided = channelsLast.permuted([0, 3, 1, 2])
        let dense = strided.contiguous()
        let normalize = Normalize(mean: [0.5, 0.25, 0.125], std: [2, 4, 8])
        var g0 = RandomGenerator(seed: 9)
        let expectedNormalized = normalize.apply(dense, generator: &g0).toDoubles()
        var g1 = RandomGenerator(seed: 9)
        let expectedCrop = RandomCrop(padding: 2).apply(dense, generator: &g1).toDoubles()
        var g2 = RandomGenerator(seed: 9)
        let expectedFlip = RandomHorizontalFlip().apply(dense, generator: &g2).toDoubles()
        withPoolChurn([(shape, .float32)]) {
            for _ in 0..<rounds {
                var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9), c = RandomGenerator(seed: 9)
                #expect(normalize.apply(strided, generator: &a).toDoubles() == expectedNormalized)
                #expect(RandomCrop(padding: 2).apply(strided, generator: &b).toDoubles() == expectedCrop)
                #expect(RandomHorizontalFlip().apply(strided, generator: &c).toDoubles() == expectedFlip)
            }
        }
    }

    @Test func scatterAddReadsAStridedSourceSafely() {
        // Row-index fast path: index [3, 64] constant along dim 1 (stride 0), source a transposed view.
        let rows: [Int64] = [4, 0, 4]
        let index = Tensor(rows, shape: [3, 1]).expanded(to: [3, 64])
        let sourceValues = randomInput([64, 3], seed: 5)
        let source = sourceValues.transposed()                                  // [3, 64], strided
        let s = sourceValues.toDoubles()                                         // s[i·3 + j] = source[j, i]
        var expected = [Double](repeating: 0, count: 5 * 64)                    // out[idx[j], i] += source[j, i]
        for j in 0..<3 { for i in 0..<64 { expected[Int(rows[j]) * 64 + i] += s[i * 3 + j] } }
        withPoolChurn([([3, 64], .float64)]) {
            for _ in 0..<rounds {
                let out = Tensor.zeros([5, 64], dtype: .float64).scatterAdd(dim: 0, index: index, source: source)
                #expect(out.toDoubles() == expected)
            }
        }
    }

    @Test func indexCheckReadsAStridedIndexSafely() {
        // gather along dim 1 with a transposed index: out[i, j] = x[i, idx[i, j]].
        let x = randomInput([40, 50], seed: 2)
        let positions = (0..<2000).map { Int64(($0 * 7) % 50) }
        let index = Tensor(positions, shape: [50, 40]).transposed()            // [40, 50], strided
        let xv = x.toDoubles()
        var expected: [Double] = []
        for i in 0..<40 { for j in 0..<50 { expected.append(xv[i * 50 + Int(positions[j * 40 + i])]) } }
        withPoolChurn([([40, 50], .int64)]) {
            for _ in 0..<rounds { #expect(x.gather(dim: 1, index: index).toDoubles() == expected) }
        }
    }

    @Test func convolutionScratchColumnsOutliveTheirLastGemm() {
        // Float32 results under churn against a Float64 reference computed without it.
        func gradients(_ dtype: DType, inputNeedsGrad: Bool) -> [[Double]] {
            let x = randomInput([3, 2, 6, 6], seed: 3).to(dtype)
            let w = randomInput([2, 3, 3, 3], seed: 4).to(dtype)
            let g = randomInput([3, 2, 6, 6], seed: 6).to(dtype)
            x.requiresGrad = inputNeedsGrad
            w.requiresGrad = true
            // convTranspose2d: forward scatters through scratch columns; backward keeps columns when both
            // gradients are needed and uses a scratch buffer when only the weight's is.
            let y = Tensor.convTranspose2d(x, weight: w, padding: (1, 1))    // [3, 3, 6, 6]
            let z = Tensor.conv2d(y, weight: w, padding: (1, 1))               // [3, 2, 6, 6]
            z.backward(seed: g)
            // Without grad, conv2d's forward im2cols into a scratch buffer instead of kept columns.
            let untracked = withNoGrad { Tensor.conv2d(y.detached(), weight: w.detached(), padding: (1, 1)) }
            return [z.toDoubles(), untracked.toDoubles(), w.grad!.toDoubles()] + (inputNeedsGrad ? [x.grad!.toDoubles()] : [])
        }
        for inputNeedsGrad in [false, true] {
            let reference = gradients(.float64, inputNeedsGrad: inputNeedsGrad)
            withPoolChurn([([27, 36], .float32)]) {   // columns: [C·kh·kw, Ho·Wo]
                for _ in 0..<rounds / 2 {
                    for (got, want) in zip(gradients(.float32, inputNeedsGrad: inputNeedsGrad), reference) {
                        let close = zip(got, want).allSatisfy { Swift.abs($0 - $1) <= 1e-4 + 1e-3 * Swift.abs($1) }
                        #expect(got.count == want.count && close)
                    }
                }
            }
        }
    }

    @Test func optimizerStepReadsAStridedGradientSafely() {
        // SGD with lr 1 from zero parameters: p = −gradᵀ-view values, g[i, j] = 8·i + j, grad = gᵀ.
        let g = Tensor((0..<64).map { Float($0) }, shape: [8, 8])
        let expected = (0..<8).flatMap { i in (0..<8).map { j in -Double(8 * j + i) } }
        withPoolChurn([([8, 8], .float32)]) {
            for _ in 0..<rounds {
                let p = Tensor.zeros([8, 8])
                p.requiresGrad = true
                p.grad = g.transposed()
                SGD([p], learningRate: 1).step()
                #expect(p.toDoubles() == expected)
            }
        }
    }
}
