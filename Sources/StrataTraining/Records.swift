import Strata

/// Where a run stands: the next batch to train and the running totals of the epoch in progress.
public struct TrainingState: Equatable, Sendable {
    /// The epoch in progress (from 0); equals the epochs of the run when it is complete.
    public var epoch = 0
    /// The next batch of that epoch to train (0 at an epoch boundary).
    public var batch = 0
    /// Optimizer steps taken in the whole run.
    public var globalStep = 0
    /// The number of processes whose batches `batch` counts (1, or the ranks of a data-parallel run).
    public var worldSize = 1
    /// Σ loss·examples and the examples seen so far in the epoch in progress.
    public var lossSum = 0.0, seen = 0
    /// Each metric's totals so far in the epoch in progress, by name (empty at an epoch boundary).
    public var metricTotals: [String: MetricTotals] = [:]
    /// The global random generator (`Strata.randomState`), which draws dropout masks.
    public var random = RandomGenerator(seed: 0)

    /// The start of a run.
    public init() {}
}

/// The loss and metrics of a model over a dataset.
public struct Evaluation: Equatable, Sendable {
    /// The mean loss per example.
    public var loss: Double
    /// The examples evaluated.
    public var count: Int
    /// Each metric's value, by name.
    public var metrics: [String: Double]

    /// An evaluation of `count` examples.
    public init(loss: Double, count: Int, metrics: [String: Double]) {
        (self.loss, self.count, self.metrics) = (loss, count, metrics)
    }
}

/// Progress of one optimizer step, as callbacks see it.
public struct StepProgress: Sendable {
    /// Epoch (from 0) and total epochs.
    public var epoch: Int, epochs: Int
    /// Batches done in this epoch (from 1) and batches per epoch.
    public var batch: Int, batches: Int
    /// Optimizer steps in the run.
    public var globalStep: Int
    /// Mean loss over this epoch's batches so far.
    public var loss: Double
    /// Each metric's value over this epoch's batches so far, by name.
    public var metrics: [String: Double]
    /// Training throughput since the epoch (or resumption) began, and the estimated seconds left in the epoch.
    public var samplesPerSecond: Double, secondsRemaining: Double

    /// A step's progress; the fields are documented on the properties.
    public init(epoch: Int, epochs: Int, batch: Int, batches: Int, globalStep: Int, loss: Double,
                metrics: [String: Double], samplesPerSecond: Double, secondsRemaining: Double) {
        (self.epoch, self.epochs, self.batch, self.batches, self.globalStep) = (epoch, epochs, batch, batches, globalStep)
        (self.loss, self.metrics, self.samplesPerSecond, self.secondsRemaining) = (loss, metrics, samplesPerSecond, secondsRemaining)
    }
}

/// One epoch of a run: what progress lines, metrics files, plots, checkpoints and early stopping read.
public struct EpochRecord: Equatable, Sendable {
    /// The epoch (from 0) and the run's total epochs.
    public var epoch: Int, epochs: Int
    /// Optimizer steps taken in the run by the epoch's end.
    public var globalStep: Int
    /// Mean training loss over the epoch.
    public var loss: Double
    /// Each metric's training value over the epoch, by name.
    public var metrics: [String: Double]
    /// The validation loss and metrics, when the run validates (rank 0 only).
    public var validation: Evaluation?
    /// The learning rate at the epoch's end (before an epoch-wise schedule steps).
    public var learningRate: Double
    /// Seconds the epoch took (this process's part of it, after a resume), and its training throughput.
    public var seconds: Double, samplesPerSecond: Double
    /// Seconds since the trainer was made.
    public var elapsed: Double

    /// An epoch's record; the fields are documented on the properties.
    public init(epoch: Int, epochs: Int, globalStep: Int, loss: Double, metrics: [String: Double] = [:],
                validation: Evaluation? = nil, learningRate: Double, seconds: Double, samplesPerSecond: Double = 0,
                elapsed: Double = 0) {
        (self.epoch, self.epochs, self.globalStep, self.loss, self.metrics) = (epoch, epochs, globalStep, loss, metrics)
        (self.validation, self.learningRate, self.seconds) = (validation, learningRate, seconds)
        (self.samplesPerSecond, self.elapsed) = (samplesPerSecond, elapsed)
    }

    /// The value a `Monitor` names: `loss`, a metric's name, or either with `val_` for the validation value;
    /// nil when the epoch has no such value (no validation, an unknown name).
    public func value(of name: String) -> Double? {
        if name.hasPrefix("val_") {
            let base = String(name.dropFirst(4))
            return base == "loss" ? validation?.loss : validation?.metrics[base]
        }
        return name == "loss" ? loss : metrics[name]
    }
}
