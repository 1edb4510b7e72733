import Foundation
import Strata
import StrataTraining

/// A `dltrain` checkpoint: a training `Checkpoint` whose metadata also says how to rebuild the run, so
/// `--resume`, `eval` and `predict` need nothing else.
///
/// Metadata beside the position (see `Checkpoint`): `strata.config` (the `TrainingConfiguration` as JSON),
/// `strata.model` and `strata.dataset` (the preset and dataset names), `strata.input_shape` (`1,28,28`) and
/// `strata.class_count`.
public struct DLTrainCheckpoint {
    /// The weights, optimizer state, position and metadata.
    public var checkpoint: Checkpoint
    /// The run's configuration.
    public var configuration: TrainingConfiguration
    /// The sample shape `[C, H, W]` and the number of classes the model was built for.
    public var inputShape: [Int], classCount: Int

    /// A checkpoint of `checkpoint`'s weights and position for a run of `configuration`.
    public init(checkpoint: Checkpoint, configuration: TrainingConfiguration, inputShape: [Int], classCount: Int) {
        (self.checkpoint, self.configuration, self.inputShape, self.classCount) = (checkpoint, configuration, inputShape, classCount)
        self.checkpoint.metadata = Self.metadata(configuration: configuration, inputShape: inputShape, classCount: classCount)
    }

    /// The position, running totals and generator state.
    public var state: TrainingState {
        get { checkpoint.state }
        set { checkpoint.state = newValue }
    }
    /// The model's state dict, under PyTorch's names.
    public var modelState: [String: Tensor] {
        get { checkpoint.modelState }
        set { checkpoint.modelState = newValue }
    }
    /// The optimizer's state dict.
    public var optimizerState: [String: Tensor] {
        get { checkpoint.optimizerState }
        set { checkpoint.optimizerState = newValue }
    }

    /// The `dltrain` entries of the metadata (see the type's documentation).
    static func metadata(configuration: TrainingConfiguration, inputShape: [Int], classCount: Int) -> [String: String] {
        [
            "strata.config": configuration.json.serialized(),
            "strata.model": configuration.model.rawValue,
            "strata.dataset": configuration.dataset.rawValue,
            "strata.input_shape": inputShape.map(String.init).joined(separator: ","),
            "strata.class_count": String(classCount),
        ]
    }

    /// Writes the checkpoint to `url` atomically, with the metadata of `configuration` as it is now.
    public func write(to url: URL) throws {
        var file = checkpoint
        file.metadata = Self.metadata(configuration: configuration, inputShape: inputShape, classCount: classCount)
        try file.write(to: url)
    }

    /// Reads a checkpoint `dltrain` wrote (this version or an earlier one).
    /// - Throws: `IOError` / `SafetensorsError` for an unreadable or malformed file, `DLTrainError.invalidCheckpoint`
    ///   for a file without a valid position (see `Checkpoint.read`) or `dltrain` metadata: `strata.model` and
    ///   `strata.dataset`, when present, the configuration's; `strata.input_shape` and `strata.class_count` its
    ///   dataset's.
    public static func read(from url: URL) throws -> DLTrainCheckpoint {
        let checkpoint: Checkpoint
        do { checkpoint = try Checkpoint.read(from: url) } catch TrainingError.invalidCheckpoint(_, let reason) {
            throw DLTrainError.invalidCheckpoint(url, reason: reason)
        }
        let meta = checkpoint.metadata
        func fail(_ reason: String) -> DLTrainError { .invalidCheckpoint(url, reason: reason) }
        func string(_ key: String) throws -> String {
            guard let value = meta[key] else { throw fail("metadata \(key) is missing") }
            return value
        }
        let configuration: TrainingConfiguration
        do { configuration = try TrainingConfiguration(json: JSONValue.parse(Array(try string("strata.config").utf8))) }
        catch let error as JSONError { throw fail("metadata strata.config is not JSON: \(error)") }
        catch DLTrainError.invalidSetting(let field, let message) { throw fail("metadata strata.config: \(field) \(message)") }
        if let model = meta["strata.model"], model != configuration.model.rawValue {
            throw fail("metadata strata.model = '\(model)' is not the configuration's '\(configuration.model.rawValue)'")
        }
        if let dataset = meta["strata.dataset"], dataset != configuration.dataset.rawValue {
            throw fail("metadata strata.dataset = '\(dataset)' is not the configuration's '\(configuration.dataset.rawValue)'")
        }
        // The shape and class count are the dataset's: a checkpoint is only ever written for the data it trained on.
        let expectedShape = configuration.dataset.exampleShape.map(String.init).joined(separator: ",")
        let shapeText = try string("strata.input_shape")
        guard shapeText == expectedShape else {
            throw fail("metadata strata.input_shape = '\(shapeText)' is not \(configuration.dataset.rawValue)'s C,H,W = \(expectedShape)")
        }
        let classText = try string("strata.class_count")
        guard classText == String(configuration.dataset.classCount) else {
            throw fail("metadata strata.class_count = '\(classText)' is not \(configuration.dataset.rawValue)'s \(configuration.dataset.classCount)")
        }
        let (shape, classCount) = (configuration.dataset.exampleShape, configuration.dataset.classCount)
        return DLTrainCheckpoint(checkpoint: checkpoint, configuration: configuration, inputShape: shape, classCount: classCount)
    }

    /// The model the checkpoint describes, with its weights loaded (strictly) and in evaluation mode.
    /// - Throws: `DLTrainError.invalidCheckpoint` when its model spec does not build, `TrainingError.checkpointMismatch`
    ///   (wrapping the `StateDictError` or `OptimizerStateError`) when the weights or the optimizer state do not fit.
    public func makeModel(url: URL) throws -> any Layer {
        let model: any Layer
        do { model = try configuration.makeModel(inputShape: inputShape, classCount: classCount) } catch {
            throw DLTrainError.invalidCheckpoint(url, reason: "metadata strata.config: \(error)")
        }
        do {
            try model.loadStateDict(modelState, strict: true)
            // The optimizer state is checked against the parameters it belongs to even when only the weights are used.
            try configuration.makeOptimizer(model.trainableParameters()).loadStateDict(optimizerState)
        } catch {
            throw TrainingError.checkpointMismatch(url, reason: "\(error)")
        }
        model.eval()
        return model
    }
}
