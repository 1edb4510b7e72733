import Foundation
import Strata
import Testing

@Suite struct LossTests {
    @Test func crossEntropyMatchesTheDefinition() {
        let logits = Tensor([1.0, 2.0, 3.0, 1.0, 1.0, 1.0], shape: [2, 3])
        let targets = Tensor([2, 0] as [Int64])
        // Row 0: log(e¹ + e² + e³) − 3 = 0.40760596444437; row 1: log 3 = 1.09861228866811.
        let rows = [0.40760596444437, 1.09861228866811]
        expectClose(Loss.crossEntropy(logits, targets, reduction: .none), rows)
        expectClose(Loss.crossEntropy(logits, targets), [(rows[0] + rows[1]) / 2])
        expectClose(Loss.crossEntropy(logits, targets, reduction: .sum), [rows[0] + rows[1]])
        // Ignoring sample 1 leaves only sample 0 in the mean.
        expectClose(Loss.crossEntropy(logits, Tensor([2, -100] as [Int64])), [rows[0]])
    }

    @Test func crossEntropyWithWeightsAndSmoothingFollowsPyTorch() {
        let logits = Tensor([1.0, 2.0, 3.0, 1.0, 1.0, 1.0], shape: [2, 3])
        let targets = Tensor([2, 0] as [Int64])
        let weight = Tensor([0.5, 1.0, 2.0])
        // Weighted mean: (2·0.40760596 + 0.5·1.09861229) / (2 + 0.5).
        expectClose(Loss.crossEntropy(logits, targets, weight: weight), [(2 * 0.40760596444437 + 0.5 * 1.09861228866811) / 2.5])
        // Smoothing 0.1: 0.9·nll + 0.1/3·Σ_c (−log p_c), averaged. Row 0's −log p = [2.40760596, 1.40760596, 0.40760596].
        let smooth0 = 0.9 * 0.40760596444437 + 0.1 / 3 * (2.40760596444437 + 1.40760596444437 + 0.40760596444437)
        let smooth1 = 0.9 * 1.09861228866811 + 0.1 / 3 * (3 * 1.09861228866811)
        expectClose(Loss.crossEntropy(logits, targets, labelSmoothing: 0.1), [(smooth0 + smooth1) / 2])
    }

    @Test func crossEntropyOfLargeLogitsStaysFinite() {
        let loss = Loss.crossEntropy(Tensor([1e4, -1e4, 0] as [Float], shape: [1, 3]), Tensor([1] as [Int64]))
        expectClose(loss, [2e4])
    }

    @Test(arguments: [Reduction.mean, .sum, .none])
    func crossEntropyPassesGradcheck(reduction: Reduction) {
        let targets = Tensor([2, 0, 1, -100, 3] as [Int64])
        let weight = Tensor([0.5, 1.0, 2.0, 1.5])
        expectGradcheck([randomInput([5, 4]), targets], "ce") { Loss.crossEntropy($0[0], $0[1], reduction: reduction) }
        expectGradcheck([randomInput([5, 4]), targets], "ce weighted smoothed") {
            Loss.crossEntropy($0[0], $0[1], weight: weight, labelSmoothing: 0.2, reduction: reduction)
        }
        expectGradcheck([randomInput([4, 5]), targets], "ce transposed") {
            Loss.crossEntropy($0[0].transposed(), $0[1], reduction: reduction)
        }
    }
}

@Suite struct RegressionLossTests {
    private let x = Tensor([0.5, -1.0, 3.0, 0.2])
    private let y = Tensor([1.0, 1.0, 0.0, 0.0])

    @Test func valuesFollowTheDefinitions() {
        // d = x − y = [−0.5, −2, 3, 0.2].
        expectClose(Loss.mse(x, y), [(0.25 + 4 + 9 + 0.04) / 4])
        expectClose(Loss.l1(x, y, reduction: .sum), [0.5 + 2 + 3 + 0.2])
        // smooth L1 (β = 1): 0.125, 1.5, 2.5, 0.02.
        expectClose(Loss.smoothL1(x, y, reduction: .none), [0.125, 1.5, 2.5, 0.02])
        // Huber (δ = 2): 0.125, 2·(2 − 1) = 2, 2·(3 − 1) = 4, 0.02.
        expectClose(Loss.huber(x, y, delta: 2, reduction: .none), [0.125, 2, 4, 0.02])
        // BCE with logits: −[y·log σ(x) + (1 − y)·log(1 − σ(x))], e.g. x = 0.5, y = 1: log(1 + e^−0.5) = 0.474077.
        expectClose(Loss.binaryCrossEntropyWithLogits(x, y, reduction: .none),
                    [0.47407698418010663, 1.3132616875182228, 3.048587351573742, 0.7981388693815918])
        // A positive weight of 2 doubles the terms with y = 1.
        expectClose(Loss.binaryCrossEntropyWithLogits(x, y, positiveWeight: Tensor([2.0]), reduction: .none),
                    [2 * 0.47407698418010663, 2 * 1.3132616875182228, 3.048587351573742, 0.7981388693815918])
        // Far-out logits stay finite.
        expectClose(Loss.binaryCrossEntropyWithLogits(Tensor([-1e4]), Tensor([1.0])), [1e4])
    }

    @Test func nllPicksTheTargetLogProbability() {
        let logp = Tensor([-0.1, -2.0, -3.0, -1.5, -0.5, -2.5], shape: [2, 3])
        expectClose(Loss.nll(logp, Tensor([0, 2] as [Int64])), [(0.1 + 2.5) / 2])
        expectClose(Loss.nll(logp, Tensor([0, -100] as [Int64])), [0.1])
        expectClose(Loss.nll(logp, Tensor([1, 2] as [Int64]), weight: Tensor([1.0, 2.0, 3.0])), [(2 * 2.0 + 3 * 2.5) / 5])
    }

    @Test func lossesPassGradcheck() {
        let target = randomInput([3, 4], seed: 9, in: 0...1)
        for reduction in Reduction.allCases {
            expectGradcheck([randomInput([3, 4]), target], "mse") { Loss.mse($0[0], $0[1], reduction: reduction) }
            expectGradcheck([randomInput([3, 4]), target], "l1") { Loss.l1($0[0], $0[1], reduction: reduction) }
            expectGradcheck([randomInput([3, 4], seed: 4), target], "smoothL1") { Loss.smoothL1($0[0], $0[1], beta: 0.5, reduction: reduction) }
            expectGradcheck([randomInput([3, 4], seed: 5), target], "huber") { Loss.huber($0[0], $0[1], delta: 0.7, reduction: reduction) }
            expectGradcheck([randomInput([4, 3]), target], "bce") {
                Loss.binaryCrossEntropyWithLogits($0[0].transposed(), $0[1], positiveWeight: Tensor([1.5, 0.5, 2.0, 1.0]), reduction: reduction)
            }
            expectGradcheck([randomInput([3, 4]), Tensor([1, 3, -100] as [Int64])], "nll") {
                Loss.nll($0[0], $0[1], weight: Tensor([1.0, 2.0, 0.5, 1.5]), reduction: reduction)
            }
        }
    }
}
