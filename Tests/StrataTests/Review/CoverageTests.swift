import Foundation
import Strata
import Testing

// Gradchecks for public differentiable ops whose Float64 gradcheck was missing or did not cover all of the
// required shapes (broadcast, transposed view, size-1 dim, 0-d scalar, zero-size dim), plus engine and
// edge-case checks from the core issue. Inputs to `expectGradcheck` are contiguous leaves, so a transposed
// view is taken inside the function.

/// `x` with its last two dims swapped when it has two, else `x` (0-d and 1-D inputs have nothing to swap).
private func swapped(_ x: Tensor) -> Tensor { x.rank >= 2 ? x.transposed() : x }

@Suite struct CoverageTests {
    // MARK: Conversions and copies

    @Test func toBetweenFloatTypesGradcheck() {
        // float64 → float32 → float64 is the identity up to rounding, so its gradient is the upstream one.
        // The function is linear, so a larger step (1e-2) keeps float32 rounding out of the finite difference.
        for shape in [[3, 4], [1, 5], [], [0, 3]] {
            let result = gradcheck([randomInput(shape)], eps: 1e-2) { swapped($0[0]).to(.float32).to(.float64) }
            #expect(result.passed, "to(.float32) \(shape): \(result)")
        }
    }

    @Test func toPassesGradientsBackInTheSourceDtype() {
        // y = 3·float64(x) for a float32 leaf x: dy/dx = 3, delivered as float32.
        let x = Tensor([Float(1), 2, 3])
        x.requiresGrad = true
        (x.to(.float64) * 3.0).backward(seed: Tensor([1.0, -1.0, 0.5]))
        #expect(x.grad!.dtype == .float32)
        expectClose(x.grad!, [3, -3, 1.5])
        // Conversion to int64 cuts the tape.
        #expect(!x.to(.int64).isTracked)
    }

    @Test func cloneGradcheck() {
        for shape in [[3, 4], [1, 4], [], [0, 3]] {
            expectGradcheck([randomInput(shape)], "clone") { swapped($0[0]).clone() * swapped($0[0]) }
        }
        expectGradcheck([randomInput([2, 3]), randomInput([3])], "clone broadcast") { $0[0].clone() * $0[1].clone() }
    }

    @Test func contiguousGradcheck() {
        for shape in [[3, 4], [1, 4], [], [0, 3]] {
            expectGradcheck([randomInput(shape)], "contiguous of a view") { swapped($0[0]).contiguous() * 2.0 }
            expectGradcheck([randomInput(shape)], "contiguous, no copy") { $0[0].contiguous().exp() }
        }
        expectGradcheck([randomInput([3, 1]), randomInput([4])], "contiguous broadcast") {
            ($0[0].expanded(to: [3, 4]).contiguous() + $0[1]).tanh()
        }
    }

    // MARK: Views

    @Test func selectGradcheck() {
        expectGradcheck([randomInput([3, 4])], "select last column") { $0[0].select(1, -1) }
        expectGradcheck([randomInput([3, 4])], "select of a transposed view") { $0[0].transposed().select(0, 2) }
        expectGradcheck([randomInput([5])], "select to 0-d") { $0[0].select(0, 1) * 3.0 }
        expectGradcheck([randomInput([1, 4])], "select size-1 dim") { $0[0].select(0, 0) }
        expectGradcheck([randomInput([0, 3])], "select zero-size") { $0[0].select(1, 1) }
        expectGradcheck([randomInput([3, 4]), randomInput([4])], "select then broadcast") { $0[0].select(0, 1) * $0[1] }
    }

    @Test func flattenedGradcheck() {
        expectGradcheck([randomInput([2, 3, 4])], "flatten from 1") { $0[0].flattened(from: 1).exp() }
        expectGradcheck([randomInput([3, 4])], "flatten a transposed view") { $0[0].transposed().flattened() * 2.0 }
        expectGradcheck([randomInput([])], "flatten 0-d") { $0[0].flattened() }
        expectGradcheck([randomInput([2, 1, 3])], "flatten size-1 dim") { $0[0].flattened(from: 0, to: 1) }
        expectGradcheck([randomInput([2, 0, 3])], "flatten zero-size") { $0[0].flattened() }
        #expect(randomInput([]).flattened().shape == [1])
    }

    @Test func viewChainGradcheck() {
        // unsqueeze → expand → permute → squeeze → slice, all views of one leaf.
        expectGradcheck([randomInput([3, 4])], "view chain") {
            $0[0].transposed().unsqueezed(0).expanded(to: [2, 4, 3]).permuted([2, 0, 1]).slice(2, 1..<4).squeezed()
        }
        expectGradcheck([randomInput([])], "unsqueeze 0-d") { $0[0].unsqueezed(0).expanded(to: [3]) }
        expectGradcheck([randomInput([0, 1])], "squeeze zero-size") { $0[0].squeezed(1) }
    }

    // MARK: Elementwise with broadcasting

    @Test func whereGradcheck() {
        let column = Tensor([true, false, true], shape: [3, 1])
        let grid = Tensor([true, false, false, true], shape: [2, 2])
        expectGradcheck([randomInput([3, 4]), randomInput([4], seed: 2)], "where broadcast") {
            Tensor.where(column, $0[0], $0[1])
        }
        expectGradcheck([randomInput([4, 3]), randomInput([3, 1], seed: 2)], "where transposed") {
            Tensor.where(column, $0[0].transposed(), $0[1])
        }
        expectGradcheck([randomInput([]), randomInput([], seed: 2)], "where 0-d operands") {
            Tensor.where(grid, $0[0], $0[1])
        }
        expectGradcheck([randomInput([0, 3]), randomInput([3], seed: 2)], "where zero-size") {
            Tensor.where(Tensor.zeros([0, 1], dtype: .bool), $0[0], $0[1])
        }
        // Forward: rows 0 and 2 take a, row 1 takes b (hand-read from the mask).
        let picked = Tensor.where(column, Tensor.ones([3, 2], dtype: .float64), Tensor.zeros([2], dtype: .float64))
        expectClose(picked, [1, 1, 0, 0, 1, 1], shape: [3, 2])
    }

    @Test func maximumAndMinimumBroadcastGradcheck() {
        for (name, op) in [("maximum", Tensor.maximum), ("minimum", Tensor.minimum)] as [(String, (Tensor, Tensor) -> Tensor)] {
            expectGradcheck([randomInput([3, 1]), randomInput([4], seed: 2)], "\(name) broadcast") { op($0[0], $0[1]) }
            expectGradcheck([randomInput([4, 3]), randomInput([3], seed: 2)], "\(name) transposed") { op($0[0].transposed(), $0[1].unsqueezed(1)) }
            expectGradcheck([randomInput([]), randomInput([2, 3], seed: 2)], "\(name) 0-d") { op($0[0], $0[1]) }
            expectGradcheck([randomInput([0, 3]), randomInput([3], seed: 2)], "\(name) zero-size") { op($0[0], $0[1]) }
        }
        // Ties split the gradient evenly, as PyTorch does: d max(a, a)/da = 0.5 from each side.
        let a = Tensor([2.0]), b = Tensor([2.0])
        a.requiresGrad = true
        b.requiresGrad = true
        Tensor.maximum(a, b).sum().backward()
        expectClose(a.grad!, [0.5])
        expectClose(b.grad!, [0.5])
    }

    @Test func powWithATensorExponentGradcheck() {
        expectGradcheck([randomInput([2, 3], in: 0.5...2), randomInput([3], seed: 2)], "pow broadcast") { $0[0].pow($0[1]) }
        expectGradcheck([randomInput([3, 2], in: 0.5...2), randomInput([], seed: 2)], "pow transposed, 0-d exponent") {
            $0[0].transposed().pow($0[1])
        }
        expectGradcheck([randomInput([0, 3], in: 0.5...2), randomInput([1, 3], seed: 2)], "pow zero-size") { $0[0].pow($0[1]) }
    }

    // MARK: Reductions

    @Test func logsumexpGradcheck() {
        expectGradcheck([randomInput([])], "logsumexp 0-d, all dims") { $0[0].logsumexp() }
        expectGradcheck([randomInput([])], "logsumexp 0-d, dim 0") { $0[0].logsumexp(dim: 0) }
        expectGradcheck([randomInput([2, 3])], "logsumexp keepDims") { $0[0].logsumexp(dim: 1, keepDims: true) * $0[0] }
        expectGradcheck([randomInput([3, 2])], "logsumexp transposed") { $0[0].transposed().logsumexp(dim: -1) }
        expectGradcheck([randomInput([4, 1])], "logsumexp size-1") { $0[0].logsumexp(dim: 1) }
        expectGradcheck([randomInput([0, 3])], "logsumexp zero-size") { $0[0].logsumexp(dim: 1) }
        // A 0-d logsumexp is the value itself: log(exp(x)) = x.
        expectClose(Tensor([0.7], shape: []).logsumexp(), [0.7], atol: 1e-12)
        // Over an empty dim it is log 0 = −inf, not NaN.
        #expect(Tensor.zeros([2, 0]).logsumexp(dim: 1).toDoubles() == [-.infinity, -.infinity])
    }

    @Test func reductionsOfZeroDAndZeroSizeGradcheck() {
        expectGradcheck([randomInput([])], "max 0-d") { $0[0].max() }
        expectGradcheck([randomInput([])], "min 0-d") { $0[0].min() * 2.0 }
        expectGradcheck([randomInput([])], "max(dim:) 0-d") { $0[0].max(dim: 0).values }
        expectGradcheck([randomInput([0, 3])], "sum zero-size") { $0[0].sum(dim: 0) }
        expectGradcheck([randomInput([0, 3])], "mean over a non-empty dim of a zero-size tensor") { $0[0].mean(dim: 1) }
        expectGradcheck([randomInput([0, 3])], "variance zero-size") { $0[0].variance(dim: 1) }
        expectGradcheck([randomInput([])], "softmax 0-d") { $0[0].softmax(dim: 0) * $0[0] }
        expectGradcheck([randomInput([])], "logSoftmax 0-d") { $0[0].logSoftmax(dim: 0) + $0[0] }
    }

    @Test func unaryOpsOnZeroDZeroSizeSizeOneAndTransposedGradcheck() {
        let ops: [(String, (Tensor) -> Tensor)] = [
            ("neg", { -$0 }), ("exp", { $0.exp() }), ("log", { $0.abs().log() }), ("sqrt", { $0.abs().sqrt() }),
            ("abs", { $0.abs() }), ("clamp", { $0.clamp(min: -0.5, max: 0.5) }), ("pow", { $0.pow(3) }),
            ("relu", { $0.relu() }), ("leakyRelu", { $0.leakyRelu(negativeSlope: 0.1) }), ("tanh", { $0.tanh() }),
            ("sigmoid", { $0.sigmoid() }), ("gelu", { $0.gelu() }), ("gelu tanh", { $0.gelu(approximate: .tanh) }),
            ("silu", { $0.silu() }),
        ]
        for (name, op) in ops {
            for shape in [[], [0, 3], [1, 4], [3, 2]] {
                expectGradcheck([randomInput(shape)], name) { op(swapped($0[0])) }
            }
        }
    }

    @Test func lossesOnZeroDAndZeroSizeGradcheck() {
        for shape in [[], [0, 3], [2, 1]] {
            let target = randomInput(shape, seed: 9)
            expectGradcheck([randomInput(shape), target], "mse") { Loss.mse(swapped($0[0]), swapped($0[1]), reduction: .sum) }
            expectGradcheck([randomInput(shape), target], "l1") { Loss.l1(swapped($0[0]), swapped($0[1]), reduction: .sum) }
            expectGradcheck([randomInput(shape), target], "smoothL1") { Loss.smoothL1($0[0], $0[1], beta: 0.3, reduction: .sum) }
            expectGradcheck([randomInput(shape), target], "huber") { Loss.huber($0[0], $0[1], delta: 0.3, reduction: .sum) }
            expectGradcheck([randomInput(shape), randomInput(shape, seed: 9, in: 0...1)], "bce") {
                Loss.binaryCrossEntropyWithLogits($0[0], $0[1], reduction: .sum)
            }
        }
        // crossEntropy on an empty batch with sum reduction is 0 and its gradient is empty.
        expectGradcheck([randomInput([0, 4])], "crossEntropy empty batch") {
            Loss.crossEntropy($0[0], Tensor.zeros([0], dtype: .int64), reduction: .sum)
        }
    }

    // MARK: Functional layers

    @Test func linearGradcheck() {
        let x = randomInput([2, 3, 4]), w = randomInput([5, 4], seed: 2), b = randomInput([5], seed: 3)
        expectGradcheck([x, w, b], "linear 3-D input") { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        expectGradcheck([randomInput([4]), w], "linear 1-D input, no bias") { Tensor.linear($0[0], weight: $0[1], bias: nil) }
        expectGradcheck([randomInput([3, 4]), randomInput([4, 5], seed: 2), b], "linear transposed weight") {
            Tensor.linear($0[0], weight: $0[1].transposed(), bias: $0[2])
        }
        expectGradcheck([randomInput([1, 4]), randomInput([1, 4], seed: 2), randomInput([1], seed: 3)], "linear size-1") {
            Tensor.linear($0[0], weight: $0[1], bias: $0[2])
        }
        expectGradcheck([randomInput([0, 4]), w, b], "linear zero batch") { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        expectGradcheck([randomInput([3, 0]), randomInput([5, 0], seed: 2), b], "linear zero features") {
            Tensor.linear($0[0], weight: $0[1], bias: $0[2])
        }
    }

    @Test func embeddingAndDropoutGradcheck() {
        let ids = Tensor([Int64(1), 4, 1, 0], shape: [2, 2])   // row 1 twice: its gradient sums both
        expectGradcheck([randomInput([6, 3])], "embedding") { Tensor.embedding(ids, weight: $0[0]) }
        expectGradcheck([randomInput([3, 6])], "embedding transposed weight") { Tensor.embedding(ids, weight: $0[0].transposed()) }
        expectGradcheck([randomInput([6, 3])], "embedding zero indices") {
            Tensor.embedding(Tensor.zeros([0], dtype: .int64), weight: $0[0])
        }
        // A fixed generator draws the same mask for every evaluation, so dropout is a fixed linear map.
        for shape in [[4, 5], [1, 3], [], [0, 2]] {
            expectGradcheck([randomInput(shape)], "dropout") {
                var generator = RandomGenerator(seed: 11)
                return swapped($0[0]).dropout(p: 0.3, generator: &generator)
            }
        }
    }

    // MARK: Engine

    @Test func aTensorUsedTwiceInOneOpGetsBothContributions() {
        let x = Tensor([1.5, -2.0])
        x.requiresGrad = true
        let y = (x * x).sum()                  // dy/dx = 2x
        y.backward(retainGraph: true)
        expectClose(x.grad!, [3, -4])
        let first = x.grad!.toDoubles()
        x.zeroGrad()
        y.backward()
        #expect(x.grad!.toDoubles().map(\.bitPattern) == first.map(\.bitPattern))
        expectGradcheck([randomInput([3, 2])], "x * x") { $0[0] * $0[0] }
        expectGradcheck([randomInput([3, 2])], "x / x") { ($0[0] / $0[0]) + $0[0] }
    }

    @Test func gradientsReachALeafThroughAViewChain() {
        // y = Σ w ⊙ view(x), where view takes xᵀ[1..<3, :] and flattens it: only those elements get w.
        let x = Tensor((0..<6).map(Double.init), shape: [2, 3])
        x.requiresGrad = true
        let view = x.transposed().slice(0, 1..<3).reshaped([-1])      // x[0,1], x[1,1], x[0,2], x[1,2]
        let w = Tensor([1.0, 2.0, 3.0, 4.0])
        (view * w).sum().backward()
        // x[0,1] ← 1, x[1,1] ← 2, x[0,2] ← 3, x[1,2] ← 4; column 0 gets nothing.
        expectClose(x.grad!, [0, 1, 3, 0, 2, 4], shape: [2, 3])
        #expect(x.grad!.isContiguous)
    }

    @Test func gradientsOfZeroSizeTensors() {
        let x = Tensor.zeros([0, 3], dtype: .float64)
        x.requiresGrad = true
        let y = Tensor.ones([2, 3], dtype: .float64)
        y.requiresGrad = true
        let z = Tensor.cat([x, y], dim: 0)                      // [2, 3]
        (z * z).sum().backward()
        #expect(x.grad!.shape == [0, 3])
        expectClose(y.grad!, [2, 2, 2, 2, 2, 2])
        let empty = Tensor.zeros([0], dtype: .float64)
        empty.requiresGrad = true
        (empty.exp() * 2.0).sum().backward()                    // Σ over nothing = 0, gradient of shape [0]
        #expect(empty.grad!.shape == [0])
    }

    @Test func aSecondBackwardThroughAFreedGraphStopsWithAClearMessage() async {
        let freed = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([1.0, 2.0])
            x.requiresGrad = true
            let y = (x * x).sum()
            y.backward()
            y.backward()
        }
        let message = String(decoding: freed?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("already freed") && message.contains("retainGraph"), "\(message)")
        // A seed of another dtype would leave a float64 gradient on a float32 leaf (an optimizer then reads
        // its buffer as Float); backward refuses it.
        let wrongDType = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            let x = Tensor([Float(1), 2])
            x.requiresGrad = true
            x.backward(seed: Tensor([1.0, 1.0]))
        }
        let dtypeText = String(decoding: wrongDType?.standardErrorContent ?? [], as: UTF8.self)
        #expect(dtypeText.contains("backward: seed") && dtypeText.contains("float64") && dtypeText.contains("float32"), "\(dtypeText)")
        let untracked = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            Tensor([1.0]).backward()
        }
        let text = String(decoding: untracked?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("backward") && text.contains("does not require grad"), "\(text)")
    }

    // MARK: Edge cases and messages

    @Test func softmaxOfLargeLogitsHasFiniteValuesAndGradients() {
        for dtype in [DType.float32, .float64] {
            let x = Tensor([1e4, -1e4, 0, 5e3], shape: [2, 2]).to(dtype)
            x.requiresGrad = true
            let y = x.softmax(dim: 1)
            // Row [1e4, −1e4]: exp(−2e4) underflows, so [1, 0]; row [0, 5e3]: [0, 1].
            expectClose(y, [1, 0, 0, 1])
            (y * Tensor([1.0, 2.0, 3.0, 4.0], shape: [2, 2]).to(dtype)).sum().backward()
            #expect(x.grad!.toDoubles().allSatisfy { $0.isFinite })
            #expect(x.logSoftmax(dim: 1).toDoubles().allSatisfy { $0.isFinite })
        }
    }

    @Test func logOfZeroIsMinusInfinityInBothDtypes() {
        for dtype in [DType.float32, .float64] {
            let y = Tensor([0.0, 1.0]).to(dtype).log().toDoubles()
            #expect(y[0] == -.infinity && y[1] == 0)
        }
    }

    @Test func copyIntoAnExpandedViewIsRefused() async {
        // Writing [1, 2, 3] into a [3]-expanded 1-element view would race threads on one location.
        let refused = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            Tensor.zeros([1]).expanded(to: [3]).copy(from: Tensor([Float(1), 2, 3]))
        }
        let text = String(decoding: refused?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("copy") && text.contains("[3]"), "\(text)")
        // Broadcasting the other way round (source expanded into a dense destination) is fine.
        let dense = Tensor.zeros([2, 3])
        dense.copy(from: Tensor([Float(1), 2, 3]))
        expectClose(dense, [1, 2, 3, 1, 2, 3])
    }

    @Test func shapeMismatchMessagesNameTheOpAndBothShapes() async {
        let add = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]) + Tensor.zeros([4])
        }
        let addText = String(decoding: add?.standardErrorContent ?? [], as: UTF8.self)
        #expect(addText.contains("add") && addText.contains("[2, 3]") && addText.contains("[4]"), "\(addText)")

        let matmul = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 3]).matmul(Tensor.zeros([4, 5]))
        }
        let matmulText = String(decoding: matmul?.standardErrorContent ?? [], as: UTF8.self)
        #expect(matmulText.contains("matmul") && matmulText.contains("[2, 3]") && matmulText.contains("[4, 5]"), "\(matmulText)")

        let nll = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Loss.nll(Tensor.zeros([2, 3]), Tensor([Int64(0), 1]), weight: Tensor.ones([4]))
        }
        let nllText = String(decoding: nll?.standardErrorContent ?? [], as: UTF8.self)
        #expect(nllText.contains("nll") && nllText.contains("[4]") && nllText.contains("[2, 3]"), "\(nllText)")

        let loss = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Loss.mse(Tensor.zeros([2, 3]), Tensor.zeros([3, 2]))
        }
        let lossText = String(decoding: loss?.standardErrorContent ?? [], as: UTF8.self)
        #expect(lossText.contains("mse") && lossText.contains("[2, 3]") && lossText.contains("[3, 2]"), "\(lossText)")
    }
}
