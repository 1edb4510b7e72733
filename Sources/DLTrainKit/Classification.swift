import Foundation
import Strata
import StrataTraining

// Shapes: B = batch, K = classes. Inputs [B, C, H, W] float32 in [0, 1] before normalisation, logits [B, K].

/// Loss, accuracy and confusion matrix of a classifier on a dataset (`dltrain eval`).
public struct ClassifierEvaluation: Equatable, Sendable {
    /// Mean cross-entropy per example.
    public var loss: Double
    /// The fraction of examples whose arg-max logit is the label.
    public var accuracy: Double
    /// Examples evaluated.
    public var count: Int
    /// `confusion[label][prediction]` counts examples (rows: true class, columns: predicted class).
    public var confusion: [[Int]]

    /// Evaluates `model` (in eval mode, without recording) on `dataset`, normalised as `kind`'s inputs are.
    public init(_ model: any Layer, on dataset: any Dataset, kind: DatasetKind, batchSize: Int = 500) {
        let k = dataset.classCount
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
        let loader = TrainingRun.evaluationLoader(AnyDataset(dataset), kind: kind, batchSize: batchSize)
        let result = evaluate(model, forward: { model($0.inputs) }, loss: TrainingRun.loss, metrics: [Accuracy()], on: loader) { logits, batch in
            let predictions = logits.argmax(dim: 1).scalars(as: Int64.self)
            for (label, prediction) in zip(batch.targets.scalars(as: Int64.self), predictions) {
                confusion[Int(label)][Int(prediction)] += 1
            }
        }
        (loss, accuracy, count, self.confusion) = (result.loss, result.metrics["accuracy"] ?? .nan, result.count, confusion)
    }

    /// The matrix as aligned text: a header of predicted classes, then one row per true class.
    public func confusionTable() -> String {
        let k = confusion.count
        let width = Swift.max(5, String(confusion.flatMap { $0 }.max() ?? 0).count + 1)
        func pad(_ s: String) -> String { String(repeating: " ", count: Swift.max(0, width - s.count)) + s }
        var lines = ["true\\pred" + (0..<k).map { pad(String($0)) }.joined()]
        for (label, row) in confusion.enumerated() {
            lines.append(String(repeating: " ", count: Swift.max(0, 9 - String(label).count)) + String(label) + row.map { pad(String($0)) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}

/// The class probabilities `softmax(model(x))` `[B, K]` for raw inputs `[B, C, H, W]` in [0, 1], normalised as
/// `kind`'s inputs are.
public func predictProbabilities(_ model: any Layer, inputs: Tensor, kind: DatasetKind) -> [[Double]] {
    model.eval()
    var generator = RandomGenerator(seed: 0)
    let x = kind.normalization.apply(inputs, generator: &generator)
    let p = withNoGrad { model(x).softmax(dim: 1) }.toDoubles()
    let k = p.count / Swift.max(1, inputs.shape[0])
    return (0..<inputs.shape[0]).map { Array(p[$0 * k..<($0 + 1) * k]) }
}
