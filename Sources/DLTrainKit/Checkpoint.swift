import Foundation
import Strata

/// Where a run stands: the next batch to train and the running totals of the epoch in progress.
public struct TrainingState: Equatable, Sendable {
    /// The epoch in progress (from 0); equals `epochs` when the run is complete.
    public var epoch = 0
    /// The next batch of that epoch to train (0 at an epoch boundary).
    public var batch = 0
    /// Optimizer steps taken in the whole run.
    public var globalStep = 0
    /// The number of processes whose batches `batch` counts (1, or the ranks of a data-parallel run).
    public var worldSize = 1
    /// Σ loss·batch size, correct predictions and examples seen so far in the epoch in progress.
    public var lossSum = 0.0, correct = 0, seen = 0
    /// The global random generator (`Strata.randomState`), which draws dropout masks.
    public var random = RandomGenerator(seed: 0)

    /// The start of a run.
    public init() {}
}

/// A training checkpoint: one safetensors file holding the model's state dict under its PyTorch names,
/// the optimizer's state, and the run's configuration and position.
///
/// Layout (chosen so the model weights load into PyTorch unchanged):
/// - **Model tensors** under their state-dict names (`1.weight`, `rnn.weight_ih_l0`, …).
/// - **Optimizer state** as extra tensors prefixed `__optimizer__.` (`__optimizer__.state.0.exp_avg`,
///   `__optimizer__.state.0.step`, `__optimizer__.param_groups.0.lr`); the prefix is stripped on load. In
///   PyTorch: `model.load_state_dict({k: v for k, v in load_file(p).items() if not k.startswith("__")}, strict=True)`.
/// - **`__metadata__`** (strings): `strata.format` = `dltrain-checkpoint-1`, `strata.config` (the
///   `TrainingConfiguration` as JSON), `strata.model` and `strata.dataset` (the preset and dataset names),
///   `strata.input_shape` (`1,28,28`), `strata.class_count`, `strata.epoch`, `strata.batch`,
///   `strata.global_step` (the position: next epoch from 0, next batch), `strata.world_size` (the processes
///   whose batches the position counts; absent means 1), `strata.loss_sum`, `strata.correct`,
///   `strata.seen` (the epoch-in-progress totals), `strata.rng` (the generator's four 64-bit words, decimal,
///   comma-separated).
///
/// Files are written with `AtomicFile` (write to a temporary, fsync, rename), so a crash mid-write leaves
/// the previous checkpoint intact.
public struct Checkpoint {
    /// The prefix of the optimizer-state tensors.
    public static let optimizerPrefix = "__optimizer__."
    /// The value of `strata.format`.
    public static let formatVersion = "dltrain-checkpoint-1"

    /// The run's configuration.
    public var configuration: TrainingConfiguration
    /// The run's position.
    public var state: TrainingState
    /// The model's state dict.
    public var modelState: [String: Tensor]
    /// The optimizer's state dict (without the prefix).
    public var optimizerState: [String: Tensor]
    /// One input's shape `[C, H, W]` and the class count the model was built for.
    public var inputShape: [Int], classCount: Int

    /// A checkpoint from its parts.
    public init(configuration: TrainingConfiguration, state: TrainingState, modelState: [String: Tensor],
                optimizerState: [String: Tensor], inputShape: [Int], classCount: Int) {
        (self.configuration, self.state, self.modelState, self.optimizerState) = (configuration, state, modelState, optimizerState)
        (self.inputShape, self.classCount) = (inputShape, classCount)
    }

    /// The `__metadata__` map written (see the type's documentation).
    public var metadata: [String: String] {
        let config = (try? JSONEncoder.sorted.encode(configuration)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return [
            "strata.format": Self.formatVersion,
            "strata.config": config,
            "strata.model": configuration.model.rawValue,
            "strata.dataset": configuration.dataset.rawValue,
            "strata.input_shape": inputShape.map(String.init).joined(separator: ","),
            "strata.class_count": String(classCount),
            "strata.epoch": String(state.epoch),
            "strata.batch": String(state.batch),
            "strata.global_step": String(state.globalStep),
            "strata.world_size": String(state.worldSize),
            "strata.loss_sum": "\(state.lossSum)",
            "strata.correct": String(state.correct),
            "strata.seen": String(state.seen),
            "strata.rng": state.random.state.map(String.init).joined(separator: ","),
        ]
    }

    /// Writes the checkpoint to `url` atomically.
    public func write(to url: URL) throws {
        var tensors = modelState
        for (name, tensor) in optimizerState { tensors[Self.optimizerPrefix + name] = tensor }
        try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: url)
    }

    /// Reads a checkpoint written by `write(to:)`.
    /// - Throws: `IOError` / `SafetensorsError` for an unreadable or malformed file, `TrainingError.invalidCheckpoint`
    ///   for a safetensors file without (valid) dltrain metadata.
    public static func read(from url: URL) throws -> Checkpoint {
        let file = try SafetensorsFile.read(from: url)
        let meta = file.metadata
        func fail(_ reason: String) -> TrainingError { .invalidCheckpoint(url, reason: reason) }
        guard meta["strata.format"] == formatVersion else {
            throw fail(meta["strata.format"].map { "unknown format '\($0)'" } ?? "no strata.format metadata (not written by dltrain)")
        }
        func string(_ key: String) throws -> String {
            guard let value = meta[key] else { throw fail("metadata \(key) is missing") }
            return value
        }
        func int(_ key: String) throws -> Int {
            guard let value = Int(try string(key)), value >= 0 else { throw fail("metadata \(key) is not a non-negative integer") }
            return value
        }
        let configuration: TrainingConfiguration
        do { configuration = try JSONDecoder().decode(TrainingConfiguration.self, from: Data(try string("strata.config").utf8)) }
        catch let error as TrainingError { throw error }
        catch { throw fail("metadata strata.config is not a valid configuration") }
        var state = TrainingState()
        state.epoch = try int("strata.epoch")
        state.batch = try int("strata.batch")
        state.globalStep = try int("strata.global_step")
        if meta["strata.world_size"] != nil {
            state.worldSize = try int("strata.world_size")
            guard state.worldSize >= 1 else { throw fail("metadata strata.world_size must be at least 1") }
        }
        state.correct = try int("strata.correct")
        state.seen = try int("strata.seen")
        guard let lossSum = Double(try string("strata.loss_sum")) else { throw fail("metadata strata.loss_sum is not a number") }
        state.lossSum = lossSum
        let words = try string("strata.rng").split(separator: ",").compactMap { UInt64($0) }
        guard words.count == 4 else { throw fail("metadata strata.rng must hold four 64-bit integers") }
        state.random.state = words
        let shape = try string("strata.input_shape").split(separator: ",").compactMap { Int($0) }
        guard shape.count == 3, shape.allSatisfy({ $0 > 0 }) else { throw fail("metadata strata.input_shape must be C,H,W") }
        let classCount = try int("strata.class_count")
        guard classCount > 0 else { throw fail("metadata strata.class_count must be positive") }
        var model: [String: Tensor] = [:], optimizer: [String: Tensor] = [:]
        for (name, tensor) in file.tensors {
            if name.hasPrefix(optimizerPrefix) { optimizer[String(name.dropFirst(optimizerPrefix.count))] = tensor }
            else { model[name] = tensor }
        }
        return Checkpoint(configuration: configuration, state: state, modelState: model, optimizerState: optimizer,
                          inputShape: shape, classCount: classCount)
    }

    /// The preset model the checkpoint describes, with its weights loaded (strictly) and in evaluation mode.
    /// - Throws: `TrainingError.checkpointMismatch` (wrapping the `StateDictError`) when the weights do not fit.
    public func makeModel(url: URL) throws -> any Layer {
        let model = try configuration.makeModel(inputShape: inputShape, classCount: classCount)
        do { try model.loadStateDict(modelState, strict: true) } catch {
            throw TrainingError.checkpointMismatch(url, reason: "\(error)")
        }
        model.eval()
        return model
    }
}

extension JSONEncoder {
    /// An encoder with sorted keys, so equal configurations encode to equal bytes.
    static var sorted: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }
}
