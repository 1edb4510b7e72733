import Foundation
import Strata
import StrataTraining

/// Which optimizer `TrainingConfiguration` builds.
public enum OptimizerKind: String, CaseIterable, Sendable {
    case sgd, adam, adamw
}

/// Which learning-rate schedule `TrainingConfiguration` builds. Every schedule is stepped once per optimizer
/// step and is a closed-form function of the step, so a resumed run recomputes the exact rate.
public enum ScheduleKind: String, CaseIterable, Sendable {
    /// A constant rate.
    case none
    /// ×0.1 after each third of the run (`StepLR` with step size ⌈epochs / 3⌉ epochs).
    case step
    /// Cosine annealing from the rate to 0 over the whole run (`CosineAnnealingLR`).
    case cosine
    /// One-cycle: warm up to the rate over 30% of the run, then anneal (`OneCycleLR`).
    case onecycle
}

/// Everything that determines a `dltrain` run. Stored (as JSON) in every checkpoint's metadata under
/// `strata.config`, so `--resume`, `eval` and `predict` rebuild the same model, data and optimizer.
///
/// The optimizer's hyper-parameters are optional: a value left `nil` is the model preset's recipe when the run
/// uses the preset's optimizer (`ModelPreset.recipe`), else the optimizer's own default (PyTorch's).
public struct TrainingConfiguration: Equatable, Sendable {
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
    /// Examples per training batch (per rank in a data-parallel run).
    public var batchSize: Int = 64
    /// The optimizer; `nil`: the preset's (`ModelPreset.recipe`).
    public var optimizer: OptimizerKind? = nil
    /// The (initial / peak) learning rate; `nil`: the recipe's, else the optimizer's default.
    public var learningRate: Double? = nil
    /// SGD momentum (Adam and AdamW have none); `nil`: the recipe's, else SGD's default (0).
    public var momentum: Double? = nil
    /// L2 weight decay (SGD, Adam) or decoupled decay (AdamW); `nil`: the recipe's, else the optimizer's default.
    public var weightDecay: Double? = nil
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

    /// The defaults (`dltrain train`'s): mlp on the embedded MNIST, 3 epochs of the preset's SGD recipe
    /// (lr 0.05, momentum 0.9) with a cosine schedule, batch 64.
    public init() {}

    /// The configuration as a JSON object with its fields in name order, the absent optionals left out (what
    /// `strata.config` holds).
    public var json: JSONValue {
        var fields: [(key: String, value: JSONValue)] = [
            ("batchSize", .int(batchSize)), ("dataset", .string(dataset.rawValue)), ("epochs", .int(epochs)),
            ("logEvery", .int(logEvery)), ("model", .string(model.rawValue)), ("schedule", .string(schedule.rawValue)),
            ("seed", .number(String(seed))), ("validationSplit", .double(validationSplit)),
        ]
        if let dataDirectory { fields.append(("dataDirectory", .string(dataDirectory))) }
        if let modelSpec { fields.append(("modelSpec", .string(modelSpec))) }
        if let optimizer { fields.append(("optimizer", .string(optimizer.rawValue))) }
        if let learningRate { fields.append(("learningRate", .double(learningRate))) }
        if let momentum { fields.append(("momentum", .double(momentum))) }
        if let weightDecay { fields.append(("weightDecay", .double(weightDecay))) }
        if let limit { fields.append(("limit", .int(limit))) }
        return .object(fields.sorted { $0.key < $1.key })
    }

    /// The configuration `json` describes (as `json` writes it, or as `dltrain` wrote it before): every field
    /// optional, a missing one taking its default, `null` meaning absent.
    /// - Throws: `DLTrainError.invalidSetting` naming an unknown or repeated field, or one of the wrong type.
    public init(json: JSONValue) throws {
        func fail(_ field: String, _ message: String) -> DLTrainError { .invalidSetting(field: field, message: message) }
        guard let (members, repeated) = json.membersByKey else { throw fail("configuration", "must be a JSON object, found \(json.kind)") }
        if let repeated { throw fail(repeated, "appears twice") }
        self.init()
        for (key, value) in members.sorted(by: { $0.key < $1.key }) where !value.isNull {
            func int() throws -> Int {
                guard let v = value.intValue else { throw fail(key, "must be an integer, found \(value.kind)") }
                return v
            }
            func double() throws -> Double {
                guard let v = value.doubleValue else { throw fail(key, "must be a number, found \(value.kind)") }
                return v
            }
            func string() throws -> String {
                guard let v = value.stringValue else { throw fail(key, "must be a string, found \(value.kind)") }
                return v
            }
            func choice<T: RawRepresentable & CaseIterable>(_: T.Type) throws -> T where T.RawValue == String {
                let name = try string()
                guard let v = T(rawValue: name) else {
                    throw fail(key, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), found '\(name)'")
                }
                return v
            }
            switch key {
            case "dataset": dataset = try choice(DatasetKind.self)
            case "dataDirectory": dataDirectory = try string()
            case "model": model = try choice(ModelPreset.self)
            case "modelSpec": modelSpec = try string()
            case "epochs": epochs = try int()
            case "batchSize": batchSize = try int()
            case "optimizer": optimizer = try choice(OptimizerKind.self)
            case "learningRate": learningRate = try double()
            case "momentum": momentum = try double()
            case "weightDecay": weightDecay = try double()
            case "schedule": schedule = try choice(ScheduleKind.self)
            case "validationSplit": validationSplit = try double()
            case "seed":
                guard case .number(let literal) = value, let v = UInt64(literal) else {
                    throw fail(key, "must be a non-negative 64-bit integer, found \(value.kind)")
                }
                seed = v
            case "limit": limit = try int()
            case "logEvery": logEvery = try int()
            default: throw fail(key, "is not a configuration field")
            }
        }
    }

    /// The epochs a run may have. The bound keeps every step count (epochs × batches per epoch) far inside `Int`.
    public static let epochRange = 1...100_000
    /// The examples a batch may have (2²⁰): far more than fit a step's activations in memory for any preset.
    public static let batchSizeRange = 1...1_048_576

    /// Throws `DLTrainError.invalidSetting` naming the first field out of range and its value.
    public func validate() throws {
        func fail(_ field: String, _ message: String) -> DLTrainError { .invalidSetting(field: field, message: message) }
        let (epochs, batches) = (Self.epochRange, Self.batchSizeRange)
        guard epochs.contains(self.epochs) else {
            throw fail("epochs", "must be from \(epochs.lowerBound) to \(epochs.upperBound), got \(self.epochs)")
        }
        guard batches.contains(batchSize) else {
            throw fail("batchSize", "must be from \(batches.lowerBound) to \(batches.upperBound), got \(batchSize)")
        }
        if let learningRate, !(learningRate > 0 && learningRate.isFinite) {
            throw fail("learningRate", "must be a positive number, got \(learningRate)")
        }
        if let momentum, !(0..<1).contains(momentum) { throw fail("momentum", "must be in [0, 1), got \(momentum)") }
        if let weightDecay, !(weightDecay >= 0 && weightDecay.isFinite) {
            throw fail("weightDecay", "must be non-negative, got \(weightDecay)")
        }
        guard (0..<1).contains(validationSplit) else { throw fail("validationSplit", "must be in [0, 1), got \(validationSplit)") }
        if let limit, limit < 1 { throw fail("limit", "must be at least 1, got \(limit)") }
        guard logEvery >= 0 else { throw fail("logEvery", "must be non-negative, got \(logEvery)") }
    }

    /// How the model is named in messages: the preset, or `model-file` for a JSON spec.
    public var modelName: String { modelSpec == nil ? model.rawValue : "model-file" }

    /// The optimizer the run uses: `optimizer`, or the preset's.
    public var optimizerKind: OptimizerKind { optimizer ?? model.recipe.optimizer }

    /// A freshly initialised model for samples of `inputShape` and `classCount` classes: the spec's graph when
    /// `modelSpec` is set, else the preset.
    /// - Throws: `ModelSpecError` for an invalid spec, `DLTrainError.invalidSetting` when the spec's output is
    ///   not `[classCount]` logits.
    public func makeModel(inputShape: [Int], classCount: Int) throws -> any Layer {
        guard let modelSpec else { return model.makeModel(inputShape: inputShape, classCount: classCount) }
        let graph = try ModelSpec.parse(Data(modelSpec.utf8), file: "model spec").build(inputShape: inputShape)
        let output = graph.nodes.last!
        guard output.outputShape == [1, classCount], output.outputDType.isFloatingPoint else {
            throw DLTrainError.invalidSetting(field: "modelSpec", message: "has an output per sample of \(output.outputDType) \(Array(output.outputShape.dropFirst())), but the dataset has \(classCount) classes, so it needs floating-point logits [\(classCount)]")
        }
        return graph
    }

    /// The optimizer over `parameters`: each hyper-parameter given here, else the preset's recipe (for the
    /// recipe's optimizer), else the optimizer's own default.
    public func makeOptimizer(_ parameters: [Tensor]) -> Optimizer {
        let kind = optimizerKind
        let recipe = model.recipe.optimizer == kind ? model.recipe : OptimizerRecipe(optimizer: kind)
        let optimizer: Optimizer = switch kind {
        case .sgd: SGD(parameters)
        case .adam: Adam(parameters)
        case .adamw: AdamW(parameters)
        }
        if let rate = learningRate ?? recipe.learningRate { optimizer.learningRate = rate }
        if let decay = weightDecay ?? recipe.weightDecay {
            for i in optimizer.groups.indices { optimizer.groups[i].weightDecay = decay }
        }
        if let sgd = optimizer as? SGD, let momentum = momentum ?? recipe.momentum { sgd.momentum = momentum }
        return optimizer
    }

    /// The schedule for `optimizer` over a run of `stepsPerEpoch · epochs` optimizer steps, or `nil` for `.none`.
    public func makeSchedule(_ optimizer: Optimizer, stepsPerEpoch: Int) -> LearningRateSchedule? {
        let total = Swift.max(2, stepsPerEpoch * epochs)
        switch schedule {
        case .none: return nil
        case .step: return StepSchedule(optimizer, stepSize: Swift.max(1, stepsPerEpoch * ((epochs + 2) / 3)), gamma: 0.1)
        case .cosine: return CosineSchedule(optimizer, period: total)
        case .onecycle: return OneCycleSchedule(optimizer, maxRate: optimizer.learningRate, totalSteps: total)
        }
    }
}
