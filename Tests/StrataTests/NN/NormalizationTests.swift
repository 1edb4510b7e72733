import Foundation
import Strata
import Testing

/// Normalisation over explicit index sets, in plain Swift and Double: the formulas the fused kernels
/// implement, written out once more so large shapes (which take the parallel paths) can be checked.
/// `sets` lists the elements normalised together; `channel(i)` is the affine index of element `i`.
private func referenceNorm(_ x: [Double], _ dy: [Double], sets: [[Int]], channel: (Int) -> Int,
                           weight: [Double], bias: [Double], eps: Double)
    -> (y: [Double], dx: [Double], dw: [Double], db: [Double]) {
    var (y, dx) = ([Double](repeating: 0, count: x.count), [Double](repeating: 0, count: x.count))
    var (dw, db) = ([Double](repeating: 0, count: weight.count), [Double](repeating: 0, count: weight.count))
    for set in sets {
        let m = Double(set.count)
        let mean = set.map { x[$0] }.reduce(0, +) / m
        let variance = set.map { (x[$0] - mean) * (x[$0] - mean) }.reduce(0, +) / m
        let rstd = 1 / (variance + eps).squareRoot()
        var (meanDyGamma, meanDyGammaXhat) = (0.0, 0.0)
        for i in set {
            let xhat = (x[i] - mean) * rstd
            y[i] = xhat * weight[channel(i)] + bias[channel(i)]
            meanDyGamma += dy[i] * weight[channel(i)] / m
            meanDyGammaXhat += dy[i] * weight[channel(i)] * xhat / m
            dw[channel(i)] += dy[i] * xhat
            db[channel(i)] += dy[i]
        }
        for i in set {
            let xhat = (x[i] - mean) * rstd
            dx[i] = rstd * (dy[i] * weight[channel(i)] - meanDyGamma - xhat * meanDyGammaXhat)
        }
    }
    return (y, dx, dw, db)
}

/// Runs `function` forward and backward with upstream `dy` and compares with `expected`.
private func expectForwardAndBackward(_ x: Tensor, weight: Tensor, bias: Tensor, dy: Tensor,
                                      _ expected: (y: [Double], dx: [Double], dw: [Double], db: [Double]),
                                      sourceLocation: SourceLocation = #_sourceLocation,
                                      _ function: (Tensor) -> Tensor) {
    for t in [x, weight, bias] { t.zeroGrad(); t.requiresGrad = true }
    let y = function(x)
    y.backward(seed: dy)
    expectClose(y, expected.y, atol: 1e-10, sourceLocation: sourceLocation)
    expectClose(x.grad!, expected.dx, atol: 1e-10, sourceLocation: sourceLocation)
    expectClose(weight.grad!, expected.dw, atol: 1e-9, sourceLocation: sourceLocation)
    expectClose(bias.grad!, expected.db, atol: 1e-9, sourceLocation: sourceLocation)
}

/// Overwrites a layer's (optional) parameter with `values` in place, so γ and β are not the trivial ones and zeros.
private func setValues(_ target: Tensor?, _ values: Tensor) {
    target!.copy(from: values)
}

@Suite struct NormalizationTests {
    // MARK: Layer norm

    @Test func layerNormMatchesHandComputedValues() {
        // [1, 2, 3, 4]: mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25)/4 = 1.25.
        let d = (1.25 + 1e-5).squareRoot()
        let expected = [-1.5 / d, -0.5 / d, 0.5 / d, 1.5 / d]
        expectClose(Tensor.layerNorm(Tensor([1.0, 2.0, 3.0, 4.0]), normalizedShape: [4]), expected, atol: 1e-12)
        let layer = LayerNorm(4)
        #expect(layer.weight!.toDoubles() == [1, 1, 1, 1] && layer.bias!.toDoubles() == [0, 0, 0, 0])
        expectClose(layer(Tensor([1, 2, 3, 4] as [Float], shape: [1, 4])), expected, shape: [1, 4])
        // With γ = [1, 0.5, 2, −1] and β = [0, 1, 0, 0.5]: y = x̂·γ + β element by element.
        let affine = Tensor.layerNorm(Tensor([1.0, 2.0, 3.0, 4.0]), normalizedShape: [4],
                                      weight: Tensor([1.0, 0.5, 2.0, -1.0]), bias: Tensor([0.0, 1.0, 0.0, 0.5]))
        expectClose(affine, [-1.5 / d, 1 - 0.25 / d, 1 / d, 0.5 - 1.5 / d], atol: 1e-12)
        // Two rows over two trailing dims: the row [[0, 0, 6], [6, 0, 0]] has mean 2, variance (4·4 + 2·16)/6 = 8.
        let x = Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 0.0, 0.0, 6.0, 6.0, 0.0, 0.0], shape: [2, 2, 3])
        let y = Tensor.layerNorm(x, normalizedShape: [2, 3]).toDoubles()
        let d2 = (8 + 1e-5).squareRoot()
        expectClose(Tensor(Array(y[6...])), [-2 / d2, -2 / d2, 4 / d2, 4 / d2, -2 / d2, -2 / d2], atol: 1e-12)
        // Row [1 … 6]: mean 3.5, variance 35/12.
        #expect(abs(y[0] - (-2.5 / (35.0 / 12 + 1e-5).squareRoot())) < 1e-12)
    }

    @Test(arguments: [[3, 4], [2, 3, 4], [1, 5], [0, 4], [4, 1]] as [[Int]])
    func layerNormPassesGradcheck(shape: [Int]) {
        let last = [shape[shape.count - 1]]
        let (x, w, b) = (randomInput(shape), randomInput(last, seed: 2), randomInput(last, seed: 3))
        expectGradcheck([x, w, b], "layerNorm") { Tensor.layerNorm($0[0], normalizedShape: last, weight: $0[1], bias: $0[2]) }
        expectGradcheck([x], "layerNorm without affine") { Tensor.layerNorm($0[0], normalizedShape: last) }
        expectGradcheck([x, w], "layerNorm weight only") { Tensor.layerNorm($0[0], normalizedShape: last, weight: $0[1]) }
    }

    @Test func layerNormGradcheckOverTwoDimsAViewAndAScalar() {
        let (w, b) = (randomInput([3, 4], seed: 2), randomInput([3, 4], seed: 3))
        expectGradcheck([randomInput([2, 3, 4]), w, b], "layerNorm [3, 4]") {
            Tensor.layerNorm($0[0], normalizedShape: [3, 4], weight: $0[1], bias: $0[2])
        }
        // A transposed view: [4, 3] read as [3, 4].
        expectGradcheck([randomInput([4, 3]), randomInput([4], seed: 2)], "layerNorm transposed") {
            Tensor.layerNorm($0[0].transposed(), normalizedShape: [4], weight: $0[1])
        }
        // A 0-d input normalised over no dims: x̂ = 0, so y = β and dx = 0.
        let scalar = randomInput([])
        expectClose(Tensor.layerNorm(scalar, normalizedShape: [], bias: Tensor(scalar: 0.5, dtype: .float64)), [0.5])
        expectGradcheck([scalar, randomInput([], seed: 2), randomInput([], seed: 3)], "layerNorm 0-d") {
            Tensor.layerNorm($0[0], normalizedShape: [], weight: $0[1], bias: $0[2])
        }
    }

    @Test func layerNormLayerPassesGradcheckThroughParameters() {
        let layer = LayerNorm([3, 4], dtype: .float64)
        setValues(layer.weight, randomInput([3, 4], seed: 5))
        setValues(layer.bias, randomInput([3, 4], seed: 6))
        #expect(gradcheck(layer, inputs: [randomInput([2, 3, 4])]) { layer($0[0]) }.passed)
        #expect(gradcheck(layer, inputs: [randomInput([3, 4])]) { layer($0[0]) }.passed)
        let plain = LayerNorm(5, elementwiseAffine: false, dtype: .float64)
        #expect(plain.parameters().isEmpty)
        #expect(gradcheck(plain, inputs: [randomInput([2, 5])]) { plain($0[0]) }.passed)
        #expect(LayerNorm(4, bias: false).stateDict().keys.sorted() == ["weight"])
    }

    @Test func largeLayerNormMatchesReference() {
        // 64 rows of 1024: both the row kernel and the per-column dγ/dβ pass run on several threads.
        let (m, k) = (64, 1024)
        let (x, w, b, dy) = (randomInput([m, k]), randomInput([k], seed: 2), randomInput([k], seed: 3), randomInput([m, k], seed: 4))
        let expected = referenceNorm(x.toDoubles(), dy.toDoubles(), sets: (0..<m).map { r in Array(r * k..<(r + 1) * k) },
                                     channel: { $0 % k }, weight: w.toDoubles(), bias: b.toDoubles(), eps: 1e-5)
        expectForwardAndBackward(x, weight: w, bias: b, dy: dy, expected) {
            Tensor.layerNorm($0, normalizedShape: [k], weight: w, bias: b)
        }
    }

    /// Float32 layer norm runs its own four-lane row kernels; Float64 runs the group kernels. Row lengths with
    /// and without a tail of fewer than four, with and without γ and β, and enough rows to split across threads.
    @Test(arguments: [[6, 10], [3, 4], [2, 3, 7], [5, 1], [600, 64]] as [[Int]])
    func float32LayerNormForwardAndBackwardAgreeWithFloat64(shape: [Int]) {
        let k = shape.last!
        let x = randomInput(shape), dy = randomInput(shape, seed: 4)
        for affine in [true, false] {
            let w = affine ? randomInput([k], seed: 2) : nil, b = affine ? randomInput([k], seed: 3) : nil
            let (x32, w32, b32) = (x.detached().to(.float32), w?.to(.float32), b?.to(.float32))
            for t in [x, x32] + [w, b, w32, b32].compactMap({ $0 }) { t.zeroGrad(); t.requiresGrad = true }
            let y = Tensor.layerNorm(x, normalizedShape: [k], weight: w, bias: b)
            let y32 = Tensor.layerNorm(x32, normalizedShape: [k], weight: w32, bias: b32)
            y.backward(seed: dy)
            y32.backward(seed: dy.to(.float32))
            expectClose(y32, y.toDoubles(), atol: 1e-5)
            expectClose(x32.grad!, x.grad!.toDoubles(), atol: 1e-5)
            if affine {
                expectClose(w32!.grad!, w!.grad!.toDoubles(), atol: 1e-4)
                expectClose(b32!.grad!, b!.grad!.toDoubles(), atol: 1e-4)
            }
        }
    }

    @Test func float32AgreesWithFloat64() {
        let x = randomInput([6, 10]), w = randomInput([10], seed: 2), b = randomInput([10], seed: 3)
        let reference = Tensor.layerNorm(x, normalizedShape: [10], weight: w, bias: b).toDoubles()
        expectClose(Tensor.layerNorm(x.to(.float32), normalizedShape: [10], weight: w.to(.float32), bias: b.to(.float32)),
                    reference, atol: 1e-5)
        let groupReference = Tensor.groupNorm(x.reshaped([2, 6, 5]), groups: 3).toDoubles()
        expectClose(Tensor.groupNorm(x.to(.float32).reshaped([2, 6, 5]), groups: 3), groupReference, atol: 1e-5)
        let batchReference = Tensor.batchNorm(x.reshaped([3, 4, 5]), runningMean: nil, runningVar: nil, training: true).toDoubles()
        expectClose(Tensor.batchNorm(x.to(.float32).reshaped([3, 4, 5]), runningMean: nil, runningVar: nil, training: true),
                    batchReference, atol: 1e-5)
    }

    // MARK: Batch norm

    /// `[N=2, C=2, H=1, W=2]`: channel 0 holds {1, 2, 3, 6}, channel 1 holds {0, 0, 4, 4}.
    private static let batch: [Double] = [1, 2, 0, 0, 3, 6, 4, 4]

    @Test func batchNorm2dTrainingUsesBatchStatisticsAndUpdatesRunningOnes() {
        let layer = BatchNorm2d(2, dtype: .float64)
        #expect(layer.runningMean.toDoubles() == [0, 0] && layer.runningVar.toDoubles() == [1, 1])
        #expect(layer.numBatchesTracked.dtype == .int64 && layer.numBatchesTracked.shape == [] && layer.numBatchesTracked.item() == 0)
        let y = layer(Tensor(Self.batch, shape: [2, 2, 1, 2]))
        // Channel 0: mean 3, squared deviations 4 + 1 + 0 + 9 = 14, biased variance 3.5, unbiased 14/3.
        // Channel 1: mean 2, squared deviations 4·4 = 16, biased variance 4, unbiased 16/3.
        let (d0, d1) = ((3.5 + 1e-5).squareRoot(), (4 + 1e-5).squareRoot())
        expectClose(y, [-2 / d0, -1 / d0, -2 / d1, -2 / d1, 0, 3 / d0, 2 / d1, 2 / d1], shape: [2, 2, 1, 2], atol: 1e-12)
        // running = 0.9·running + 0.1·stat: mean 0.9·0 + 0.1·[3, 2] = [0.3, 0.2];
        // var 0.9·1 + 0.1·[14/3, 16/3] = [1.366…, 1.433…].
        expectClose(layer.runningMean, [0.3, 0.2], atol: 1e-12)
        expectClose(layer.runningVar, [0.9 + 1.4 / 3, 0.9 + 1.6 / 3], atol: 1e-12)
        #expect(layer.numBatchesTracked.item() == 1)
        _ = layer(Tensor(Self.batch, shape: [2, 2, 1, 2]))
        #expect(layer.numBatchesTracked.item() == 2)
        // Second step with the same batch: mean 0.9·0.3 + 0.1·3 = 0.57 and 0.9·0.2 + 0.1·2 = 0.38.
        expectClose(layer.runningMean, [0.57, 0.38], atol: 1e-12)
    }

    @Test func batchNorm2dEvaluationUsesRunningStatistics() {
        let layer = BatchNorm2d(2, dtype: .float64)
        _ = layer(Tensor(Self.batch, shape: [2, 2, 1, 2]))   // running mean [0.3, 0.2], var [1.3667, 1.4333]
        layer.eval()
        #expect(!layer.isTraining)
        let y = layer(Tensor(Self.batch, shape: [2, 2, 1, 2]))
        let (d0, d1) = ((0.9 + 1.4 / 3 + 1e-5).squareRoot(), (0.9 + 1.6 / 3 + 1e-5).squareRoot())
        expectClose(y, [0.7 / d0, 1.7 / d0, -0.2 / d1, -0.2 / d1, 2.7 / d0, 5.7 / d0, 3.8 / d1, 3.8 / d1], atol: 1e-12)
        // Evaluation leaves the statistics and the counter alone.
        expectClose(layer.runningMean, [0.3, 0.2], atol: 1e-12)
        #expect(layer.numBatchesTracked.item() == 1)
        layer.train()
        #expect(layer.isTraining)
    }

    @Test func batchNormStateDictReadsAsPyTorch() {
        #expect(BatchNorm2d(3).stateDict().keys.sorted() == ["bias", "num_batches_tracked", "running_mean", "running_var", "weight"])
        #expect(BatchNorm2d(3).namedEntries().map(\.name) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        #expect(BatchNorm1d(3).parameters().count == 2)
        #expect(BatchNorm1d(3, affine: false).stateDict().keys.sorted() == ["num_batches_tracked", "running_mean", "running_var"])
        #expect(BatchNorm1d(3, trackRunningStats: false).stateDict().keys.sorted() == ["bias", "weight"])
        let model = Sequential { BatchNorm1d(4); Dropout(p: 0.2); Linear(4, 2) }
        #expect(model.stateDict().keys.sorted() == ["0.bias", "0.num_batches_tracked", "0.running_mean", "0.running_var",
                                                    "0.weight", "2.bias", "2.weight"])
        // A state dict round-trips, the counter included.
        let source = BatchNorm2d(2, dtype: .float64)
        _ = source(Tensor(Self.batch, shape: [2, 2, 1, 2]))
        let target = BatchNorm2d(2, dtype: .float64)
        #expect(throws: Never.self) { try target.loadStateDict(source.stateDict()) }
        expectClose(target.runningVar, source.runningVar.toDoubles(), atol: 0)
        #expect(target.numBatchesTracked.item() == 1)
    }

    @Test func trainAndEvalSwitchBatchNormAndDropoutInsideAModel() {
        let (norm, drop) = (BatchNorm1d(4), Dropout(p: 0.5))
        let model = Sequential { Linear(3, 4); norm; drop }
        #expect(norm.isTraining && drop.isTraining)
        model.eval()
        #expect(!norm.isTraining && !drop.isTraining)
        let x = Tensor.normal([5, 3])
        expectClose(model(x), model(x).toDoubles(), atol: 0, rtol: 0)   // deterministic in evaluation
        #expect(norm.numBatchesTracked.item() == 0)
        model.train()
        #expect(norm.isTraining && drop.isTraining)
        _ = model(x)
        #expect(norm.numBatchesTracked.item() == 1)
    }

    @Test func batchNorm1dAcceptsTwoAndThreeDims() {
        // [N, C] = [[1, 10], [3, 30]]: channel 0 {1, 3} mean 2 variance 1; channel 1 {10, 30} mean 20 variance 100.
        let layer = BatchNorm1d(2, dtype: .float64)
        let y = layer(Tensor([1.0, 10.0, 3.0, 30.0], shape: [2, 2]))
        let (d0, d1) = ((1 + 1e-5).squareRoot(), (100 + 1e-5).squareRoot())
        expectClose(y, [-1 / d0, -10 / d1, 1 / d0, 10 / d1], shape: [2, 2], atol: 1e-12)
        // Unbiased variances 2 and 200: running var 0.9 + 0.1·[2, 200] = [1.1, 20.9].
        expectClose(layer.runningVar, [1.1, 20.9], atol: 1e-12)
        // [N, C, L] normalises each channel over N·L elements: the same as BatchNorm2d on [N, C, L, 1].
        let x = randomInput([3, 2, 4])
        let flat = BatchNorm2d(2, dtype: .float64)
        expectClose(BatchNorm1d(2, dtype: .float64)(x), flat(x.reshaped([3, 2, 4, 1])).toDoubles(), atol: 1e-12)
    }

    @Test func cumulativeAverageAndUntrackedStatistics() {
        // momentum nil: running mean = average of the batch means, here (3 + 5)/2 = 4 for channel 0.
        let layer = BatchNorm1d(1, momentum: nil, dtype: .float64)
        _ = layer(Tensor([2.0, 4.0], shape: [2, 1]))
        expectClose(layer.runningMean, [3], atol: 1e-12)    // factor 1/1
        _ = layer(Tensor([4.0, 6.0], shape: [2, 1]))
        expectClose(layer.runningMean, [4], atol: 1e-12)    // factor 1/2
        // Both batches have unbiased variance 2: the first step sets 2 (factor 1), the second averages 2 and 2.
        expectClose(layer.runningVar, [2], atol: 1e-12)
        // Without running statistics evaluation still normalises with the batch's.
        let untracked = BatchNorm1d(1, trackRunningStats: false, dtype: .float64)
        untracked.eval()
        let d = (1 + 1e-5).squareRoot()
        expectClose(untracked(Tensor([2.0, 4.0], shape: [2, 1])), [-1 / d, 1 / d], atol: 1e-12)
    }

    @Test(arguments: [[4, 3], [2, 3, 5], [5, 3, 1], [1, 3, 4], [3, 3, 0]] as [[Int]])
    func batchNorm1dPassesGradcheckInBothModes(shape: [Int]) {
        let layer = BatchNorm1d(3, dtype: .float64)
        setValues(layer.weight, randomInput([3], seed: 5))
        setValues(layer.bias, randomInput([3], seed: 6))
        let x = randomInput(shape)
        #expect(gradcheck(layer, inputs: [x]) { layer($0[0]) }.passed, "training \(shape)")
        layer.runningMean.copy(from: randomInput([3], seed: 7))
        layer.runningVar.copy(from: randomInput([3], seed: 8, in: 0.5...2))
        layer.eval()
        #expect(gradcheck(layer, inputs: [x]) { layer($0[0]) }.passed, "evaluation \(shape)")
    }

    @Test(arguments: [[2, 3, 2, 2], [4, 3, 1, 1], [1, 3, 3, 2], [0, 3, 2, 2]] as [[Int]])
    func batchNorm2dPassesGradcheckInBothModes(shape: [Int]) {
        let layer = BatchNorm2d(3, dtype: .float64)
        setValues(layer.weight, randomInput([3], seed: 5))
        setValues(layer.bias, randomInput([3], seed: 6))
        let x = randomInput(shape)
        #expect(gradcheck(layer, inputs: [x]) { layer($0[0]) }.passed, "training \(shape)")
        layer.runningMean.copy(from: randomInput([3], seed: 7))
        layer.runningVar.copy(from: randomInput([3], seed: 8, in: 0.5...2))
        layer.eval()
        #expect(gradcheck(layer, inputs: [x]) { layer($0[0]) }.passed, "evaluation \(shape)")
    }

    @Test func functionalBatchNormThroughAViewAndWithoutAffine() {
        // [C, N] transposed to [N, C].
        let (mean, variance) = (Tensor.zeros([3], dtype: .float64), Tensor.ones([3], dtype: .float64))
        expectGradcheck([randomInput([3, 4]), randomInput([3], seed: 2), randomInput([3], seed: 3)], "batchNorm transposed") {
            Tensor.batchNorm($0[0].transposed(), runningMean: mean, runningVar: variance, weight: $0[1], bias: $0[2], training: true)
        }
        expectGradcheck([randomInput([4, 3, 2])], "batchNorm without affine") {
            Tensor.batchNorm($0[0], runningMean: nil, runningVar: nil, training: true)
        }
        expectGradcheck([randomInput([4, 3, 2]), randomInput([3], seed: 2)], "batchNorm evaluation weight only") {
            Tensor.batchNorm($0[0], runningMean: mean, runningVar: variance, weight: $0[1], training: false)
        }
    }

    @Test func largeBatchNormMatchesReference() {
        // [16, 32, 128]: 32 channels of 2048 elements, enough for the parallel paths.
        let (n, c, s) = (16, 32, 128)
        let (x, w, b, dy) = (randomInput([n, c, s]), randomInput([c], seed: 2), randomInput([c], seed: 3), randomInput([n, c, s], seed: 4))
        var sets: [[Int]] = Array(repeating: [], count: c)
        for sample in 0..<n {
            for ch in 0..<c {
                let start: Int = (sample * c + ch) * s
                sets[ch] += Array(start..<start + s)
            }
        }
        let expected = referenceNorm(x.toDoubles(), dy.toDoubles(), sets: sets, channel: { ($0 / s) % c },
                                     weight: w.toDoubles(), bias: b.toDoubles(), eps: 1e-5)
        expectForwardAndBackward(x, weight: w, bias: b, dy: dy, expected) {
            Tensor.batchNorm($0, runningMean: nil, runningVar: nil, weight: w, bias: b, training: true)
        }
    }

    // MARK: Group norm

    @Test func groupNormWithOneGroupIsLayerNormAndWithCGroupsIsInstanceNorm() {
        let x = randomInput([2, 4, 3, 2])
        let grouped = Tensor.groupNorm(x, groups: 1)
        expectClose(grouped, Tensor.layerNorm(x, normalizedShape: [4, 3, 2]).toDoubles(), atol: 1e-12)
        // Instance norm by hand on [N=1, C=2, S=2]: channel 0 = [1, 3] (mean 2, variance 1),
        // channel 1 = [2, 6] (mean 4, variance 4).
        let instance = Tensor.groupNorm(Tensor([1.0, 3.0, 2.0, 6.0], shape: [1, 2, 2]), groups: 2)
        let (d0, d1) = ((1 + 1e-5).squareRoot(), (4 + 1e-5).squareRoot())
        expectClose(instance, [-1 / d0, 1 / d0, -2 / d1, 2 / d1], shape: [1, 2, 2], atol: 1e-12)
        // Two groups of two channels on [1, 4, 1]: groups {1, 3} and {10, 30}; γ, β per channel.
        let layer = GroupNorm(2, 4, dtype: .float64)
        layer.weight!.copy(from: Tensor([1.0, 2.0, 3.0, 4.0]))
        layer.bias!.copy(from: Tensor([0.0, 0.0, 1.0, 1.0]))
        let e = (100 + 1e-5).squareRoot()
        expectClose(layer(Tensor([1.0, 3.0, 10.0, 30.0], shape: [1, 4, 1])), [-1 / d0, 2 / d0, 1 - 30 / e, 1 + 40 / e], atol: 1e-12)
        #expect(layer.stateDict().keys.sorted() == ["bias", "weight"])
        #expect(GroupNorm(2, 4, affine: false).stateDict().isEmpty)
    }

    @Test(arguments: [[2, 4, 3], [1, 4, 2, 2], [3, 4], [2, 4, 1], [0, 4, 3]] as [[Int]])
    func groupNormPassesGradcheck(shape: [Int]) {
        for groups in [1, 2, 4] {
            let layer = GroupNorm(groups, 4, dtype: .float64)
            setValues(layer.weight, randomInput([4], seed: 5))
            setValues(layer.bias, randomInput([4], seed: 6))
            #expect(gradcheck(layer, inputs: [randomInput(shape)]) { layer($0[0]) }.passed, "groups \(groups) \(shape)")
        }
        expectGradcheck([randomInput([4, 2, 3])], "groupNorm transposed, no affine") {
            Tensor.groupNorm($0[0].transposed(0, 1), groups: 2)
        }
    }

    @Test func largeGroupNormMatchesReference() {
        // [8, 32, 256] in 4 groups: 32 blocks of 2048 elements.
        let (n, c, s, g) = (8, 32, 256, 4)
        let (x, w, b, dy) = (randomInput([n, c, s]), randomInput([c], seed: 2), randomInput([c], seed: 3), randomInput([n, c, s], seed: 4))
        let block = c / g * s
        let expected = referenceNorm(x.toDoubles(), dy.toDoubles(), sets: (0..<n * g).map { Array($0 * block..<($0 + 1) * block) },
                                     channel: { ($0 / s) % c }, weight: w.toDoubles(), bias: b.toDoubles(), eps: 1e-5)
        expectForwardAndBackward(x, weight: w, bias: b, dy: dy, expected) {
            Tensor.groupNorm($0, groups: g, weight: w, bias: b)
        }
    }
}
