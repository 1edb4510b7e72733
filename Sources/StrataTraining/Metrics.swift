import Foundation
import Strata

// Shapes: N… = any leading dims (batch, time), K = classes, V = vocabulary.

/// A metric's running total over batches: a sum and what it is over. Totals of batches, of ranks and of the
/// two halves of a resumed epoch add up, so an epoch's value never depends on how its batches were split.
public struct MetricTotals: Equatable, Sendable {
    /// The summed quantity (correct predictions, squared errors, token log-losses, …).
    public var sum: Double
    /// What `sum` is over (examples, elements, tokens).
    public var count: Double

    /// Totals of `sum` over `count`.
    public init(sum: Double = 0, count: Double = 0) { (self.sum, self.count) = (sum, count) }

    /// The totals of both.
    public static func + (a: MetricTotals, b: MetricTotals) -> MetricTotals {
        MetricTotals(sum: a.sum + b.sum, count: a.count + b.count)
    }
}

/// A quantity measured on every batch and summarised over an epoch, as Keras's `metrics=[…]`.
///
/// A metric reports each batch as `MetricTotals`, and its value is a function of the totals summed over the
/// epoch (`sum / count` unless it says otherwise). That makes every metric here exact over ranks and across a
/// mid-epoch resume, since totals only add. A metric that is not a function of such sums (AUC, say) is
/// computed from a full evaluation pass instead.
public protocol Metric: Sendable {
    /// The metric's name in progress lines, metrics files and `Monitor`s (`"accuracy"`, `"mse"`); the
    /// validation value is named `"val_" + name`.
    var name: String { get }
    /// The name in progress lines, `name` unless shorter is clearer (`acc`); validation's is `"val_" + shortName`.
    var shortName: String { get }
    /// Whether a larger value is better (accuracy) or a smaller one (errors, perplexity).
    var higherIsBetter: Bool { get }
    /// Whether the value is a fraction shown as a percentage.
    var isPercentage: Bool { get }
    /// One batch's totals, from the model's output (never recorded on the tape) and the batch.
    func measure(_ output: Tensor, _ batch: Batch) -> MetricTotals
    /// The metric's value for totals summed over batches: `sum / count` by default, NaN over nothing.
    func value(_ totals: MetricTotals) -> Double
}

extension Metric {
    public var shortName: String { name }
    public var isPercentage: Bool { false }

    public func value(_ totals: MetricTotals) -> Double { totals.count > 0 ? totals.sum / totals.count : .nan }

    /// `value` as progress lines show it: `97.12%` for a percentage, else four decimals.
    public func format(_ value: Double) -> String {
        isPercentage ? String(format: "%.2f%%", 100 * value) : String(format: "%.4f", value)
    }
}

/// The fraction of predictions whose arg-max class is the target: logits `[N…, K]`, int64 targets `[N…]`.
public struct Accuracy: Metric {
    /// Top-1 accuracy.
    public init() {}
    public var name: String { "accuracy" }
    public var shortName: String { "acc" }
    public var higherIsBetter: Bool { true }
    public var isPercentage: Bool { true }

    public func measure(_ output: Tensor, _ batch: Batch) -> MetricTotals {
        TopKAccuracy(k: 1).measure(output, batch)
    }
}

/// The fraction of predictions whose `k` largest logits include the target (`torchmetrics`' top-k
/// accuracy): logits `[N…, K]`, int64 targets `[N…]`. Ties at the k-th value count in the target's favour.
public struct TopKAccuracy: Metric {
    /// How many of the highest logits may hold the target.
    public let k: Int

    /// Top-`k` accuracy.
    public init(k: Int) {
        guard k >= 1 else { fatalError("TopKAccuracy: k must be at least 1, got \(k)") }
        self.k = k
    }

    public var name: String { "top\(k)_accuracy" }
    public var shortName: String { "top\(k)_acc" }
    public var higherIsBetter: Bool { true }
    public var isPercentage: Bool { true }

    public func measure(_ output: Tensor, _ batch: Batch) -> MetricTotals {
        let classes = output.shape.last ?? 0
        let targets = batch.targets.scalars(as: Int64.self)
        guard output.shape.dropLast() == batch.targets.shape, classes > 0 else {
            fatalError("\(name): output \(output.shape) must be targets \(batch.targets.shape) + [classes]")
        }
        let logits = output.detached().to(.float64).toDoubles()      // [N, K]
        var correct = 0
        for (row, target) in targets.enumerated() {
            let scores = logits[row * classes..<(row + 1) * classes]
            let t = Int(target)
            guard scores.indices.contains(row * classes + t) else { continue }
            let score = scores[row * classes + t]
            if scores.lazy.filter({ $0 > score }).count < k { correct += 1 }
        }
        return MetricTotals(sum: Double(correct), count: Double(targets.count))
    }
}

/// Mean squared error over every element: `Σ (output − target)² / elements`, as `F.mse_loss`.
public struct MeanSquaredError: Metric {
    /// Mean squared error.
    public init() {}
    public var name: String { "mse" }
    public var higherIsBetter: Bool { false }
    public func measure(_ output: Tensor, _ batch: Batch) -> MetricTotals { errorTotals(output, batch) { $0 * $0 } }
}

/// Mean absolute error over every element: `Σ |output − target| / elements`, as `F.l1_loss`.
public struct MeanAbsoluteError: Metric {
    /// Mean absolute error.
    public init() {}
    public var name: String { "mae" }
    public var higherIsBetter: Bool { false }
    public func measure(_ output: Tensor, _ batch: Batch) -> MetricTotals { errorTotals(output, batch) { $0.abs() } }
}

/// `Σ f(output − target)` over every element, in float64, and the element count.
private func errorTotals(_ output: Tensor, _ batch: Batch, _ f: (Tensor) -> Tensor) -> MetricTotals {
    withNoGrad {
        let d = output.detached().to(.float64) - batch.targets.to(.float64)
        return MetricTotals(sum: f(d).sum().item(), count: Double(d.count))
    }
}

/// The perplexity of a language model, `exp(Σ −log p(target) / tokens)`: logits `[N…, V]`, int64 targets `[N…]`.
public struct Perplexity: Metric {
    /// Perplexity.
    public init() {}
    public var name: String { "perplexity" }
    public var higherIsBetter: Bool { false }

    public func measure(_ output: Tensor, _ batch: Batch) -> MetricTotals {
        let vocabulary = output.shape.last ?? 0
        let tokens = batch.targets.count
        let logits = output.detached().reshaped([tokens, vocabulary])                      // [N, V]
        let nll = withNoGrad { Loss.crossEntropy(logits, batch.targets.reshaped([tokens]), reduction: .sum).item() }
        return MetricTotals(sum: nll, count: Double(tokens))
    }

    public func value(_ totals: MetricTotals) -> Double { totals.count > 0 ? Foundation.exp(totals.sum / totals.count) : .nan }
}
