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

    /// The largest count the position may hold (epoch, batch, global step, seen, world size, a metric's count):
    /// 2^53, the largest integer a Double holds exactly, so nothing counted from it can overflow.
    public static let maxCount = 1 << 53

    /// Reads a checkpoint written by `write(to:)`, validated as a whole before anything is used.
    ///
    /// The position: every count decimal digits only, in 0...2^53 (`maxCount`), the world size at least 1; the loss
    /// sum finite; the generator four decimal 64-bit words, not all zero; each `strata.metric.NAME` a named
    /// `SUM,COUNT` with a finite sum and a count in 0...2^53; `strata.correct` at most `strata.seen`; and at an
    /// epoch boundary (batch 0) no running totals. Every floating-point tensor finite: the rule the writer
    /// (`Trainer.saveCheckpoint`) applies to the weights.
    /// - Throws: `IOError` / `SafetensorsError` for an unreadable or malformed file, `TrainingError.invalidCheckpoint`
    ///   naming the metadata key or tensor and its bad value.
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
        func isDecimal(_ text: Substring) -> Bool { !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        func count(_ key: String, minimum: Int = 0) throws -> Int {
            let text = try string(key)
            guard isDecimal(text[...]), let value = Int(text), value >= minimum, value <= maxCount else {
                throw fail("metadata \(key) = '\(text)' is not a count in \(minimum)...2^53")
            }
            return value
        }
        var state = TrainingState()
        state.epoch = try count("strata.epoch")
        state.batch = try count("strata.batch")
        state.globalStep = try count("strata.global_step")
        if meta["strata.world_size"] != nil { state.worldSize = try count("strata.world_size", minimum: 1) }
        state.seen = try count("strata.seen")
        let lossText = try string("strata.loss_sum")
        guard let lossSum = Double(lossText), lossSum.isFinite else { throw fail("metadata strata.loss_sum = '\(lossText)' is not a finite number") }
        state.lossSum = lossSum
        let rngText = try string("strata.rng")
        let words = rngText.split(separator: ",", omittingEmptySubsequences: false)
        guard words.count == 4, words.allSatisfy({ isDecimal($0) && UInt64($0) != nil }), words.contains(where: { UInt64($0) != 0 }) else {
            throw fail("metadata strata.rng = '\(rngText)' is not four decimal 64-bit words, not all zero")
        }
        state.random.state = words.map { UInt64($0)! }
        var metadata: [String: String] = [:]
        for (key, value) in meta.sorted(by: { $0.key < $1.key }) where !positionKeys.contains(key) {
            guard key.hasPrefix(metricPrefix) else { metadata[key] = value; continue }
            let name = String(key.dropFirst(metricPrefix.count))
            let parts = value.split(separator: ",", omittingEmptySubsequences: false).map { Double($0) }
            guard !name.isEmpty, parts.count == 2, let sum = parts[0], let total = parts[1], sum.isFinite, total.isFinite,
                  total >= 0, total <= Double(maxCount) else {
                throw fail("metadata \(key) = '\(value)' is not SUM,COUNT of a named metric with a finite sum and a count in 0...2^53")
            }
            state.metricTotals[name] = MetricTotals(sum: sum, count: total)
        }
        if meta["strata.correct"] != nil {
            let correct = try count("strata.correct")
            guard correct <= state.seen else { throw fail("metadata strata.correct = \(correct) is more than strata.seen = \(state.seen)") }
            if state.metricTotals["accuracy"] == nil {
                state.metricTotals["accuracy"] = MetricTotals(sum: Double(correct), count: Double(state.seen))
            }
        }
        if state.batch == 0 && (state.seen != 0 || state.lossSum != 0 || state.metricTotals.values.contains { $0.count != 0 || $0.sum != 0 }) {
            throw fail("metadata: an epoch-boundary position (strata.batch = 0) holds running totals (seen \(state.seen), loss sum \(state.lossSum))")
        }
        var model: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for (name, tensor) in file.tensors.sorted(by: { $0.key < $1.key }) {
            if tensor.dtype.isFloatingPoint, let bad = tensor.toDoubles().first(where: { !$0.isFinite }) {
                throw fail("tensor \(name) holds \(bad); checkpoints hold finite values only (the writer refuses non-finite weights)")
            }
            if name.hasPrefix(optimizerPrefix) { optimizer[String(name.dropFirst(optimizerPrefix.count))] = tensor }
            else { model[name] = tensor }
        }
        return Checkpoint(state: state, modelState: model, optimizerState: optimizer, metadata: metadata)
    }
}
