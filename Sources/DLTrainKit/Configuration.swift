import Foundation
import Strata

/// Which optimizer `TrainingConfiguration` builds.
public enum OptimizerKind: String, CaseIterable, Codable, Sendable {
    case sgd, adam, adamw
}

/// Which learning-rate schedule `TrainingConfiguration` builds. Every schedule is stepped once per batch
/// and is a closed-form function of the global step, so a resumed run recomputes the exact rate.
public enum ScheduleKind: String, CaseIterable, Codable, Sendable {
    /// A constant rate.
    case none
    /// ×0.1 after each third of the run (`StepLR` with step size ⌈epochs / 3⌉ epochs).
    case step
    /// Cosine annealing from the rate to 0 over the whole run (`CosineAnnealingLR`).
    case cosine
    /// One-cycle: warm up to the rate over 30% of the run, then anneal (`OneCycleLR`).
    case onecycle
}

/// Everything that determines a training run. Stored (as JSON) in every checkpoint's metadata under
/// `strata.config`, so `--resume`, `eval` and `predict` rebuild the same model, data and optimizer.
public struct TrainingConfiguration: Codable, Equatable, Sendable {
    /// The dataset trained and evaluated on.
    public var dataset: DatasetKind = .mnist
    /// Its directory; `nil` means the embedded MNIST.
    public var dataDirectory: String? = nil
    /// The architecture, unless `modelSpec` is set.
    public var model: ModelPreset = .mlp
    /// A model described in JSON (`dltrain train --model-file`, see Docs/ModelSpec.md); overrides `model`.
    /// The text itself is kept, so a checkpoint rebuilds the model without the original file.
    public var modelSpec: String? = nil
    /// Total epochs of the run.
    public var epochs: Int = 3
    /// Examples per training batch.
    public var batchSize: Int = 64
    /// The optimizer.
    public var optimizer: OptimizerKind = .sgd
    /// The (initial / peak) learning rate.
    public var learningRate: Double = 0.05
    /// SGD momentum (ignored by Adam/AdamW).
    public var momentum: Double = 0.9
    /// L2 weight decay (SGD, Adam) or decoupled decay (AdamW).
    public var weightDecay: Double = 0
    /// The learning-rate schedule.
    public var schedule: ScheduleKind = .cosine
    /// The fraction of the training split held out for validation after each epoch.
    public var validationSplit: Double = 0
    /// Seeds the weights, the shuffling, the augmentation, dropout and the validation split.
    public var seed: UInt64 = 1
    /// Use only the first `limit` training (and test) examples, for quick runs; `nil` uses all.
    public var limit: Int? = nil
    /// A metrics row and a progress line every `logEvery` steps (0: only per epoch).
    public var logEvery: Int = 100

    /// The defaults (`dltrain train`'s): mlp on the embedded MNIST, 3 epochs of SGD (lr 0.05, momentum 0.9, cosine schedule), batch 64.
    public init() {}

    /// Throws `TrainingError.invalidConfiguration` naming the first value out of range.
    public func validate() throws {
        func fail(_ message: String) -> TrainingError { .invalidConfiguration(message) }
        guard epochs >= 1 else { throw fail("epochs must be at least 1, got \(epochs)") }
        guard batchSize >= 1 else { throw fail("batch size must be at least 1, got \(batchSize)") }
        guard learningRate > 0, learningRate.isFinite else { throw fail("learning rate must be positive, got \(learningRate)") }
        guard momentum >= 0, momentum < 1 else { throw fail("momentum must be in [0, 1), got \(momentum)") }
        guard weightDecay >= 0, weightDecay.isFinite else { throw fail("weight decay must be non-negative, got \(weightDecay)") }
        guard validationSplit >= 0, validationSplit < 1 else { throw fail("validation split must be in [0, 1), got \(validationSplit)") }
        guard limit.map({ $0 >= 1 }) ?? true else { throw fail("limit must be at least 1, got \(limit!)") }
        guard logEvery >= 0 else { throw fail("log interval must be non-negative, got \(logEvery)") }
    }

    /// How the model is named in messages: the preset, or `model-file` for a JSON spec.
    public var modelName: String { modelSpec == nil ? model.rawValue : "model-file" }

    /// A freshly initialised model for samples of `inputShape` and `classCount` classes: the spec's graph when
    /// `modelSpec` is set, else the preset.
    /// - Throws: `ModelSpecError` for an invalid spec, `TrainingError.invalidConfiguration` when the spec's
    ///   output is not `[classCount]` logits.
    public func makeModel(inputShape: [Int], classCount: Int) throws -> any Layer {
        guard let modelSpec else { return model.makeModel(inputShape: inputShape, classCount: classCount) }
        let graph = try ModelSpec.parse(Data(modelSpec.utf8), file: "model spec").build(inputShape: inputShape)
        let output = graph.nodes.last?.outputShape ?? [1] + inputShape
        guard output == [1, classCount] else {
            throw TrainingError.invalidConfiguration("the model spec's output per sample is \(Array(output.dropFirst())), but the dataset has \(classCount) classes")
        }
        return graph
    }

    /// The optimizer over `parameters`, with this configuration's rate, momentum and decay.
    public func makeOptimizer(_ parameters: [Tensor]) -> Optimizer {
        switch optimizer {
        case .sgd: SGD(parameters, learningRate: learningRate, momentum: momentum, weightDecay: weightDecay)
        case .adam: Adam(parameters, learningRate: learningRate, weightDecay: weightDecay)
        case .adamw: AdamW(parameters, learningRate: learningRate, weightDecay: weightDecay)
        }
    }

    /// The schedule for `optimizer` over a run of `stepsPerEpoch · epochs` batches, or `nil` for `.none`.
    public func makeSchedule(_ optimizer: Optimizer, stepsPerEpoch: Int) -> LearningRateSchedule? {
        let total = Swift.max(2, stepsPerEpoch * epochs)
        switch schedule {
        case .none: return nil
        case .step: return StepSchedule(optimizer, stepSize: Swift.max(1, stepsPerEpoch * ((epochs + 2) / 3)), gamma: 0.1)
        case .cosine: return CosineSchedule(optimizer, period: total)
        case .onecycle: return OneCycleSchedule(optimizer, maxRate: learningRate, totalSteps: total)
        }
    }
}
