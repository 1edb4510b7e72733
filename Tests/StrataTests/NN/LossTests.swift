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
