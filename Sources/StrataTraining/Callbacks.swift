import Foundation
import Strata

/// Told of each stage of a `Trainer`'s run, as Keras callbacks and Lightning hooks are. Every method has an
/// empty default, so a callback implements only what it needs.
///
/// Callbacks run in the trainer's order, on every rank of a data-parallel run; one that writes a file or prints
/// does so when `trainer.isPrimary`. A callback ends the run after the current epoch by setting
/// `trainer.shouldStop`. An error a callback throws ends the run and reaches `fit()`'s caller.
public protocol TrainingCallback: AnyObject {
    /// The trainer's state was restored from a checkpoint (`resume(from:url:)`).
    func trainerDidRestore(_ trainer: Trainer)
    /// An epoch begins, at `startBatch` > 0 when resumed mid-epoch.
    func epochWillStart(_ trainer: Trainer, epoch: Int, startBatch: Int) throws
    /// An optimizer step was taken.
    func stepDidEnd(_ trainer: Trainer, _ progress: StepProgress) throws
    /// An epoch ended and was validated.
    func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) throws
    /// A checkpoint was written to `url`.
    func checkpointDidSave(_ trainer: Trainer, to url: URL) throws
}

extension TrainingCallback {
    public func trainerDidRestore(_ trainer: Trainer) {}
    public func epochWillStart(_ trainer: Trainer, epoch: Int, startBatch: Int) throws {}
    public func stepDidEnd(_ trainer: Trainer, _ progress: StepProgress) throws {}
    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) throws {}
    public func checkpointDidSave(_ trainer: Trainer, to url: URL) throws {}
}

/// A value of each epoch to watch, and which way is better: `Monitor.minimum("val_loss")`.
public struct Monitor: Sendable, Equatable {
    /// `loss`, a metric's name, or either prefixed `val_` (see `EpochRecord.value(of:)`).
    public var name: String
    /// Whether larger values are better.
    public var higherIsBetter: Bool

    /// Watches `name`, better when smaller.
    public static func minimum(_ name: String) -> Monitor { Monitor(name: name, higherIsBetter: false) }
    /// Watches `name`, better when larger.
    public static func maximum(_ name: String) -> Monitor { Monitor(name: name, higherIsBetter: true) }

    /// Whether `value` beats `best` by more than `minDelta` (any finite value beats nil).
    func improves(_ value: Double, on best: Double?, minDelta: Double = 0) -> Bool {
        guard value.isFinite else { return false }
        guard let best else { return true }
        return higherIsBetter ? value > best + minDelta : value < best - minDelta
    }
}

/// Steps a learning-rate schedule once per optimizer step or once per epoch (Lightning's `interval`), and moves
/// it to the restored position when the trainer resumes. Place it first, so later callbacks log the new rate.
public final class LearningRateScheduler: TrainingCallback {
    /// When the schedule steps.
    public enum Interval: Sendable {
        /// After every optimizer step.
        case step
        /// After every epoch.
        case epoch
    }
    /// The schedule stepped.
    public let schedule: LearningRateSchedule
    /// When it is stepped.
    public let interval: Interval

    /// Steps `schedule` every `interval`.
    public init(_ schedule: LearningRateSchedule, interval: Interval = .step) {
        (self.schedule, self.interval) = (schedule, interval)
    }

    public func trainerDidRestore(_ trainer: Trainer) {
        schedule.restore(stepCount: interval == .step ? trainer.stepsIntoRun : trainer.state.epoch)
    }

    public func stepDidEnd(_ trainer: Trainer, _ progress: StepProgress) {
        if interval == .step { schedule.step() }
    }

    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) {
        if interval == .epoch { schedule.step() }
    }
}

/// Stops the run when `monitor` has not improved by more than `minDelta` for `patience` epochs (Keras's
/// `EarlyStopping`). Epochs without the value (no validation on this rank) leave it unchanged.
public final class EarlyStopping: TrainingCallback {
    /// The value watched.
    public let monitor: Monitor
    /// Epochs without improvement allowed before the run stops.
    public let patience: Int
    /// The smallest change that counts as an improvement.
    public let minDelta: Double
    /// The best value seen, and the epochs since it.
    public private(set) var best: Double?
    /// Epochs since the best value.
    public private(set) var epochsWithoutImprovement = 0

    /// Stops after `patience` epochs in which `monitor` did not improve by more than `minDelta`.
    public init(monitor: Monitor, patience: Int = 3, minDelta: Double = 0) {
        guard patience >= 0, minDelta >= 0 else { fatalError("EarlyStopping: patience \(patience) and minDelta \(minDelta) must be non-negative") }
        (self.monitor, self.patience, self.minDelta) = (monitor, patience, minDelta)
    }

    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) {
        guard let value = record.value(of: monitor.name) else { return }
        if monitor.improves(value, on: best, minDelta: minDelta) {
            (best, epochsWithoutImprovement) = (value, 0)
        } else {
            epochsWithoutImprovement += 1
            if epochsWithoutImprovement > patience { trainer.shouldStop = true }
        }
    }
}

/// Writes the trainer's checkpoint to `url` after every epoch, or with a `monitor` only after an epoch that
/// improves it (Keras's `ModelCheckpoint(save_best_only=True)`); rank 0 only.
public final class ModelCheckpoint: TrainingCallback {
    /// Where the checkpoint is written (atomically).
    public let url: URL
    /// The value whose improvement triggers a write, or `nil` for every epoch.
    public let monitor: Monitor?
    /// The best monitored value written so far.
    public private(set) var best: Double?

    /// Writes to `url` after every epoch, or only when `monitor` improves.
    public init(url: URL, monitor: Monitor? = nil) { (self.url, self.monitor) = (url, monitor) }

    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) throws {
        guard trainer.isPrimary else { return }
        if let monitor {
            guard let value = record.value(of: monitor.name), monitor.improves(value, on: best) else { return }
            best = value
        }
        try trainer.saveCheckpoint(to: url)
    }
}

/// Prints a line every `every` optimizer steps (0: never), one per epoch, and one per checkpoint written; rank 0
/// only. `write` receives each line (standard output by default).
///
/// `epoch 2/10 step 300/469  loss 0.2134  acc 93.51%  5120 samples/s  ETA 33s`,
/// `epoch 2/10: loss 0.2010  acc 93.92%  val_loss 0.1873  val_acc 94.40%  lr 0.0477  9.3s  6432 samples/s`
/// (each metric under its `shortName`).
public final class ProgressLogger: TrainingCallback {
    /// Steps between progress lines (0: only the epoch lines).
    public let every: Int
    private let write: (String) -> Void

    /// Prints every `every` steps through `write`.
    public init(every: Int, write: @escaping (String) -> Void = { print($0) }) {
        guard every >= 0 else { fatalError("ProgressLogger: every must be non-negative, got \(every)") }
        (self.every, self.write) = (every, write)
    }

    public func epochWillStart(_ trainer: Trainer, epoch: Int, startBatch: Int) {
        guard trainer.isPrimary, startBatch > 0 else { return }
        write("epoch \(epoch + 1)/\(trainer.epochs): resuming at batch \(startBatch + 1) of \(trainer.train.batchesPerEpoch)")
    }

    public func stepDidEnd(_ trainer: Trainer, _ progress: StepProgress) {
        guard trainer.isPrimary, every > 0, progress.globalStep % every == 0 else { return }
        write(Self.stepLine(progress, metrics: trainer.metrics))
    }

    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) {
        if trainer.isPrimary { write(Self.epochLine(record, metrics: trainer.metrics)) }
    }

    public func checkpointDidSave(_ trainer: Trainer, to url: URL) {
        if trainer.isPrimary { write("  checkpoint written: \(url.path)") }
    }

    /// `epoch 2/10 step 300/469  loss 0.2134  acc 93.51%  5120 samples/s  ETA 33s`, with `bar` in place of
    /// `step` when given.
    public static func stepLine(_ p: StepProgress, metrics: [any Metric], bar: String = "step") -> String {
        "epoch \(p.epoch + 1)/\(p.epochs) \(bar) \(p.batch)/\(p.batches)  loss \(f4(p.loss))"
            + values(p.metrics, metrics, prefix: "") + "  \(Int(p.samplesPerSecond)) samples/s  ETA \(duration(p.secondsRemaining))"
    }

    /// `epoch 2/10: loss 0.2010  acc 93.92%  val_loss 0.1873  val_acc 94.40%  lr 0.0477  9.3s  6432 samples/s`.
    public static func epochLine(_ r: EpochRecord, metrics: [any Metric]) -> String {
        var line = "epoch \(r.epoch + 1)/\(r.epochs): loss \(f4(r.loss))" + values(r.metrics, metrics, prefix: "")
        if let v = r.validation { line += "  val_loss \(f4(v.loss))" + values(v.metrics, metrics, prefix: "val_") }
        return line + "  lr \(String(format: "%.3g", r.learningRate))  \(String(format: "%.1f", r.seconds))s  \(Int(r.samplesPerSecond)) samples/s"
    }

    /// `2m05s` or `33s`.
    public static func duration(_ seconds: Double) -> String {
        let t = seconds.isFinite ? Int(seconds.rounded()) : 0
        return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }

    private static func values(_ values: [String: Double], _ metrics: [any Metric], prefix: String) -> String {
        metrics.map { "  \(prefix)\($0.shortName) \($0.format(values[$0.name] ?? .nan))" }.joined()
    }

    private static func f4(_ x: Double) -> String { String(format: "%.4f", x) }
}
