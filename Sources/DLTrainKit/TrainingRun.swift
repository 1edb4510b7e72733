import Foundation
import Strata
import StrataTraining

// Shapes: B = batch, K = classes. Inputs [B, C, H, W] float32, targets [B] int64, logits [B, K].

/// A `dltrain` run: the `Trainer` that a `TrainingConfiguration` describes, for an image classifier trained with
/// cross-entropy and measured by accuracy, with its data, validation split, schedule and checkpoint metadata.
///
/// `init` seeds the global generator with `configuration.seed` before building the model, so a run is a pure
/// function of its configuration (with `Strata.threads = 1`).
public final class TrainingRun {
    /// The run's settings.
    public let configuration: TrainingConfiguration
    /// The model trained.
    public let model: any Layer
    /// The loop.
    public let trainer: Trainer
    /// The training examples (after `limit` and the validation split) and their shuffled, augmented batches.
    public let trainLoader: DataLoader<AnyDataset>
    /// The held-out validation examples, if `validationSplit > 0`.
    public let validationSet: AnyDataset?
    /// The test examples `evaluateTest()` evaluates, if given.
    public let testSet: AnyDataset?
    /// The schedule, stepped once per optimizer step (`nil` for a constant rate).
    public let schedule: LearningRateSchedule?
    /// The (initial / peak) learning rate the optimizer was built with.
    public let learningRate: Double
    /// The sample shape `[C, H, W]` and the number of classes.
    public let inputShape: [Int], classCount: Int

    /// dltrain's loss: cross-entropy of the logits against the labels.
    public static let loss: @Sendable (Tensor, Batch) -> Tensor = { logits, batch in Loss.crossEntropy(logits, batch.targets) }

    /// A run of `configuration` on `train` (and `test`), with `model` instead of the configuration's (tests).
    ///
    /// Takes the first `limit` examples of `train` and `test` and splits off the validation set. With a
    /// `processGroup`, every rank must call this with the same arguments; rank 0's weights are then broadcast.
    /// - Throws: `DLTrainError.invalidSetting` for out-of-range settings (a batch whose inputs and layer outputs
    ///   would exceed `MemoryBudget` included), `TrainingError.invalidConfiguration` when no training examples are left.
    public init(configuration: TrainingConfiguration, train: any Dataset, test: (any Dataset)?, model: (any Layer)? = nil,
                processGroup: (any ProcessGroup)? = nil) throws {
        try configuration.validate()
        self.configuration = configuration
        Strata.seed(configuration.seed)
        var trainSet = AnyDataset(train)
        var testSet = test.map(AnyDataset.init)
        if let limit = configuration.limit {
            trainSet = AnyDataset(DatasetSubset(trainSet, indices: Array(0..<Swift.min(limit, trainSet.count))))
            testSet = testSet.map { AnyDataset(DatasetSubset($0, indices: Array(0..<Swift.min(limit, $0.count)))) }
        }
        if configuration.validationSplit > 0 {
            let (fit, held) = trainSet.randomSplit(validationFraction: configuration.validationSplit, seed: configuration.seed)
            guard fit.count > 0 else {
                throw TrainingError.invalidConfiguration("validation split \(configuration.validationSplit) leaves no training examples")
            }
            (trainSet, validationSet) = (AnyDataset(fit), held.count > 0 ? AnyDataset(held) : nil)
        } else {
            validationSet = nil
        }
        guard trainSet.count > 0 else { throw TrainingError.invalidConfiguration("the training set is empty") }
        self.testSet = testSet
        (inputShape, classCount) = (train.exampleShape, train.classCount)
        let model = try model ?? configuration.makeModel(inputShape: inputShape, classCount: classCount)
        self.model = model
        try Self.checkBatchMemory(model, inputShape: inputShape, batch: Swift.min(configuration.batchSize, trainSet.count),
                                  batchSize: configuration.batchSize)
        let optimizer = configuration.makeOptimizer(model.trainableParameters())
        learningRate = optimizer.learningRate
        trainLoader = DataLoader(trainSet, batchSize: configuration.batchSize, shuffle: true, seed: configuration.seed,
                                 transforms: configuration.dataset.trainingTransforms,
                                 shard: processGroup.map { DataShard(index: $0.rank, count: $0.size) } ?? .whole)
        schedule = configuration.makeSchedule(optimizer, stepsPerEpoch: trainLoader.batchesPerEpoch)
        trainer = try Trainer(model: model, loss: Self.loss, optimizer: optimizer, train: trainLoader,
                              validation: validationSet.map { Self.evaluationLoader($0, kind: configuration.dataset) },
                              metrics: [Accuracy()], epochs: configuration.epochs,
                              callbacks: schedule.map { [LearningRateScheduler($0)] } ?? [], processGroup: processGroup)
        trainer.checkpointMetadata = DLTrainCheckpoint.metadata(configuration: configuration, inputShape: inputShape,
                                                                classCount: classCount)
    }

    /// A run of `configuration`, loading its dataset (train and test splits) from disk.
    /// - Throws: `DLTrainError` or `DatasetError` (a missing directory or file, a corrupt file).
    public convenience init(configuration: TrainingConfiguration, processGroup: (any ProcessGroup)? = nil) throws {
        try configuration.validate()
        let directory = configuration.dataDirectory.map { URL(fileURLWithPath: $0) }
        let train = try configuration.dataset.load(.train, directory: directory)
        let test = try configuration.dataset.load(.test, directory: directory)
        try self.init(configuration: configuration, train: train, test: test, processGroup: processGroup)
    }

    /// Refuses a batch whose inputs and layer outputs (each layer's, from the model's shape rules, as
    /// `ModelSummary` lists them; a forward pass keeps them for the backward one) would exceed `MemoryBudget`,
    /// before anything of that size is allocated.
    private static func checkBatchMemory(_ model: any Layer, inputShape: [Int], batch: Int, batchSize: Int) throws {
        let outputs = ModelSummary(model, inputShape: inputShape).rows.compactMap(\.outputShape)
        do {
            var perExample = try CheckedSize.product(inputShape, "an example")
            for shape in outputs { perExample = try CheckedSize.add(perExample, CheckedSize.product(shape, "a layer output"), "the activations") }
            try CheckedSize.allocation(CheckedSize.multiply(perExample, batch, "a batch"), of: .float32,
                                       "a batch of \(batch) examples \(inputShape) with its layers' outputs (\(perExample) values per example)")
        } catch {
            throw DLTrainError.invalidSetting(field: "batchSize", message: "\(batchSize) is too large: \(error)")
        }
    }

    /// In-order batches of `dataset` with only `kind`'s normalisation: what validation, evaluation and
    /// prediction read.
    public static func evaluationLoader(_ dataset: AnyDataset, kind: DatasetKind, batchSize: Int = 500) -> DataLoader<AnyDataset> {
        DataLoader(dataset, batchSize: batchSize, transforms: [kind.normalization], prefetch: 1)
    }

    /// Restores the run saved in `checkpoint` (see `Trainer.resume(from:url:)`).
    public func resume(from checkpoint: DLTrainCheckpoint, url: URL) throws {
        try trainer.resume(from: checkpoint.checkpoint, url: url)
    }

    /// The checkpoint of the run as it stands.
    public func makeCheckpoint() -> DLTrainCheckpoint {
        DLTrainCheckpoint(checkpoint: trainer.makeCheckpoint(), configuration: configuration, inputShape: inputShape,
                          classCount: classCount)
    }

    /// The test-split evaluation, on rank 0 (nil elsewhere, or without a test set).
    public func evaluateTest() -> ClassifierEvaluation? {
        guard trainer.isPrimary, let testSet else { return nil }
        return ClassifierEvaluation(model, on: testSet, kind: configuration.dataset)
    }
}
