import Foundation
import Strata

/// A training checkpoint: one safetensors file holding the model's state dict under its PyTorch names, the
/// optimizer's state, the run's position and an application's metadata.
///
/// Layout (chosen so the model weights load into PyTorch unchanged):
/// - **Model tensors** under their state-dict names (`1.weight`, `rnn.weight_ih_l0`, …).
/// - **Optimizer state** as extra tensors prefixed `__optimizer__.` (`__optimizer__.state.0.exp_avg`,
///   `__optimizer__.state.0.step`, `__optimizer__.param_groups.0.lr`); the prefix is stripped on load. In
///   PyTorch: `model.load_state_dict({k: v for k, v in load_file(p).items() if not k.startswith("__")}, strict=True)`.
/// - **`__metadata__`** (strings): `strata.format` = `dltrain-checkpoint-1` (the name it had when `dltrain` was
///   its only writer, kept so every earlier checkpoint still loads), `strata.epoch`, `strata.batch`,
///   `strata.global_step` (the position: next epoch from 0, next batch), `strata.world_size` (the processes whose
///   batches the position counts; absent means 1), `strata.loss_sum`, `strata.seen` (the epoch-in-progress totals),
///   `strata.metric.NAME` = `SUM,COUNT` for each metric's running totals, `strata.rng` (the generator's four
///   64-bit words, decimal, comma-separated), and `metadata`'s own entries. Checkpoints written before metrics were
///   generic hold the accuracy's correct count as `strata.correct` instead; it reads as `strata.metric.accuracy`.
///
/// Files are written with `AtomicFile` (write to a temporary, fsync, rename), so a crash mid-write leaves the
/// previous checkpoint intact.
public struct Checkpoint {
    /// The value of `strata.format`.
    public static let formatVersion = "dltrain-checkpoint-1"
    /// The prefix of the optimizer's tensors in the file.
    public static let optimizerPrefix = "__optimizer__."

    /// The run's position and running totals.
    public var state: TrainingState
    /// The model's state dict.
    public var modelState: [String: Tensor]
    /// The optimizer's state dict.
    public var optimizerState: [String: Tensor]
    /// The application's entries of `__metadata__` (everything but the position).
    public var metadata: [String: String]

    /// A checkpoint from its parts.
    public init(state: TrainingState, modelState: [String: Tensor], optimizerState: [String: Tensor],
                metadata: [String: String] = [:]) {
        (self.state, self.modelState, self.optimizerState, self.metadata) = (state, modelState, optimizerState, metadata)
    }

    /// The keys the position occupies in `__metadata__`.
    private static let positionKeys: Set<String> = ["strata.format", "strata.epoch", "strata.batch", "strata.global_step",
                                                    "strata.world_size", "strata.loss_sum", "strata.seen", "strata.rng",
                                                    "strata.correct"]
    private static let metricPrefix = "strata.metric."

    /// The whole `__metadata__` map written: `metadata` and the position.
    public var fileMetadata: [String: String] {
        var entries = metadata
        entries["strata.format"] = Self.formatVersion
        entries["strata.epoch"] = String(state.epoch)
        entries["strata.batch"] = String(state.batch)
        entries["strata.global_step"] = String(state.globalStep)
        entries["strata.world_size"] = String(state.worldSize)
        entries["strata.loss_sum"] = "\(state.lossSum)"
        entries["strata.seen"] = String(state.seen)
        entries["strata.rng"] = state.random.state.map(String.init).joined(separator: ",")
        for (name, totals) in state.metricTotals { entries[Self.metricPrefix + name] = "\(totals.sum),\(totals.count)" }
        return entries
    }

    /// Writes the checkpoint to `url` atomically.
    public func write(to url: URL) throws {
        var tensors = modelState
        for (name, tensor) in optimizerState { tensors[Self.optimizerPrefix + name] = tensor }
        try SafetensorsFile(tensors: tensors, metadata: fileMetadata).write(to: url)
    }

    /// Reads a checkpoint written by `write(to:)`.
    /// - Throws: `IOError` / `SafetensorsError` for an unreadable or malformed file, `TrainingError.invalidCheckpoint`
    ///   for a safetensors file without a (valid) position.
    public static func read(from url: URL) throws -> Checkpoint {
        let file = try SafetensorsFile.read(from: url)
        let meta = file.metadata
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(url, reason: reason) }
        guard meta["strata.format"] == formatVersion else {
            throw fail(meta["strata.format"].map { "unknown format '\($0)'" } ?? "no strata.format metadata (not a Strata training checkpoint)")
        }
        func string(_ key: String) throws -> String {
            guard let value = meta[key] else { throw fail("metadata \(key) is missing") }
            return value
        }
        func int(_ key: String) throws -> Int {
            guard let value = Int(try string(key)), value >= 0 else { throw fail("metadata \(key) is not a non-negative integer") }
            return value
        }
        var state = TrainingState()
        state.epoch = try int("strata.epoch")
        state.batch = try int("strata.batch")
        state.globalStep = try int("strata.global_step")
        if meta["strata.world_size"] != nil {
            state.worldSize = try int("strata.world_size")
            guard state.worldSize >= 1 else { throw fail("metadata strata.world_size must be at least 1") }
        }
        state.seen = try int("strata.seen")
        guard let lossSum = Double(try string("strata.loss_sum")) else { throw fail("metadata strata.loss_sum is not a number") }
        state.lossSum = lossSum
        let words = try string("strata.rng").split(separator: ",").compactMap { UInt64($0) }
        guard words.count == 4 else { throw fail("metadata strata.rng must hold four 64-bit integers") }
        state.random.state = words
        var metadata: [String: String] = [:]
        for (key, value) in meta where !positionKeys.contains(key) {
            guard key.hasPrefix(metricPrefix) else { metadata[key] = value; continue }
            let parts = value.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
            guard parts.count == 2, let sum = parts[0], let count = parts[1], count >= 0 else {
                throw fail("metadata \(key) must be SUM,COUNT, found '\(value)'")
            }
            state.metricTotals[String(key.dropFirst(metricPrefix.count))] = MetricTotals(sum: sum, count: count)
        }
        if meta["strata.correct"] != nil && state.metricTotals["accuracy"] == nil {
            state.metricTotals["accuracy"] = MetricTotals(sum: Double(try int("strata.correct")), count: Double(state.seen))
        }
        var model: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for (name, tensor) in file.tensors {
            if name.hasPrefix(optimizerPrefix) { optimizer[String(name.dropFirst(optimizerPrefix.count))] = tensor }
            else { model[name] = tensor }
        }
        return Checkpoint(state: state, modelState: model, optimizerState: optimizer, metadata: metadata)
    }
}
