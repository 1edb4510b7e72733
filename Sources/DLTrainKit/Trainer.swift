import Foundation
import Strata

// Shapes: B = batch, K = classes. Inputs [B, C, H, W] float32, labels [B] int64, logits [B, K].

/// Loss, accuracy and confusion matrix of a model on a dataset.
public struct Evaluation: Equatable, Sendable {
    /// Mean cross-entropy per example.
    public var loss: Double
    /// The fraction of examples whose arg-max logit is the label.
    public var accuracy: Double
    /// Examples evaluated.
    public var count: Int
    /// `confusion[label][prediction]` counts examples (rows: true class, columns: predicted class).
    public var confusion: [[Int]]

    /// The matrix as aligned text: a header of predicted classes, then one row per true class.
    public func confusionTable() -> String {
        let k = confusion.count
        let width = Swift.max(5, String(confusion.flatMap { $0 }.max() ?? 0).count + 1)
        func pad(_ s: String) -> String { String(repeating: " ", count: Swift.max(0, width - s.count)) + s }
        var lines = ["true\\pred" + (0..<k).map { pad(String($0)) }.joined()]
        for (label, row) in confusion.enumerated() {
            lines.append(String(repeating: " ", count: Swift.max(0, 9 - String(label).count)) + String(label) + row.map { pad(String($0)) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}

/// Evaluates `model` (in eval mode, without recording) on `dataset`, with `transforms` applied to each batch.
public func evaluate(_ model: any Layer, on dataset: any Dataset, transforms: [any BatchTransform],
                     batchSize: Int = 500) -> Evaluation {
    let wasTraining = model.modules().contains { ($0 as? any ModeDependent)?.isTraining == true }
    model.eval()
    defer { if wasTraining { model.train() } }
    let k = dataset.classCount
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: k), count: k)
    var lossSum = 0.0
    let loader = DataLoader(AnyDataset(dataset), batchSize: batchSize, transforms: transforms, prefetch: 1)
    withNoGrad {
        for batch in loader.batches(epoch: 0) {
            let logits = model(batch.inputs)  // [B, K]
            lossSum += Loss.crossEntropy(logits, batch.labels, reduction: .sum).item()
            let predictions = logits.argmax(dim: 1).scalars(as: Int64.self)
            for (label, prediction) in zip(batch.labels.scalars(as: Int64.self), predictions) {
                confusion[Int(label)][Int(prediction)] += 1
            }
        }
    }
    let n = dataset.count, correct = (0..<k).reduce(0) { $0 + confusion[$1][$1] }
    return Evaluation(loss: n == 0 ? 0 : lossSum / Double(n), accuracy: n == 0 ? 0 : Double(correct) / Double(n),
                      count: n, confusion: confusion)
}

/// The class probabilities `softmax(model(x))` `[B, K]` for raw inputs `[B, C, H, W]` in [0, 1], after
/// `transforms` (the dataset's normalisation).
public func predictProbabilities(_ model: any Layer, inputs: Tensor, transforms: [any BatchTransform]) -> [[Double]] {
    model.eval()
    var generator = RandomGenerator(seed: 0)
    let x = transforms.reduce(inputs) { $1.apply($0, generator: &generator) }
    let p = withNoGrad { model(x).softmax(dim: 1) }.toDoubles()
    let k = p.count / Swift.max(1, inputs.shape[0])
    return (0..<inputs.shape[0]).map { Array(p[$0 * k..<($0 + 1) * k]) }
}

/// Progress of one training step, for a progress display.
public struct StepProgress: Sendable {
    /// Epoch (from 0) and total epochs.
    public var epoch: Int, epochs: Int
    /// Batches done in this epoch (from 1) and batches per epoch.
    public var batch: Int, batches: Int
    /// Optimizer steps in the run.
    public var globalStep: Int
    /// Mean loss and accuracy over this epoch's batches so far.
    public var loss: Double, accuracy: Double
    /// Training throughput since the epoch (or resumption) began, and the estimated seconds left in the epoch.
    public var samplesPerSecond: Double, secondsRemaining: Double
    /// Whether this step is a `logEvery` boundary (a metrics row was written).
    public var isLogStep: Bool
}

/// The outcome of one epoch.
public struct EpochSummary: Sendable {
    /// The epoch, from 0.
    public var epoch: Int, epochs: Int
    /// Mean training loss and accuracy over the epoch.
    public var loss: Double, accuracy: Double
    /// The validation result, when the run holds out a validation split.
    public var validation: Evaluation?
    /// Seconds the epoch took (this process's part of it, after a resume), and its training throughput.
    public var seconds: Double, samplesPerSecond: Double
    /// The learning rate at the epoch's end.
    public var learningRate: Double
}

/// What a `Trainer` reports as it runs.
public enum TrainingEvent: Sendable {
    /// An epoch begins (at `startBatch` > 0 when resumed mid-epoch).
    case epochStarted(epoch: Int, epochs: Int, batches: Int, startBatch: Int)
    /// A step finished.
    case step(StepProgress)
    /// An epoch finished (after validation and before its checkpoint is written).
    case epochEnded(EpochSummary)
    /// A checkpoint was written.
    case checkpointSaved(URL)
}

/// The result of `Trainer.fit()`.
public struct TrainingResult: Sendable {
    /// One summary per epoch trained by this call.
    public var epochs: [EpochSummary]
    /// The test-split evaluation, when a test set was given.
    public var test: Evaluation?
    /// Wall-clock seconds of the call.
    public var seconds: Double
}

/// Trains a classifier with cross-entropy: epochs over a shuffled `DataLoader`, an optimizer and an optional
/// schedule (stepped per batch), validation after each epoch, an atomic checkpoint after each epoch, and a
/// test evaluation at the end.
///
/// Reproducible: `init` seeds the global generator with `configuration.seed` before building the model, the
/// loader's order and augmentation are pure functions of (seed, epoch, batch), and a checkpoint stores the
/// weights, optimizer state, generator state and position, so `resume(from:)` continues bit-identically
/// (with `Strata.threads = 1`; more threads may reorder floating-point sums).
///
/// A NaN or infinite loss throws `TrainingError.nonFiniteLoss` before `backward()` and the optimizer step,
/// so the weights stay those of the last good step and no checkpoint is written.
///
/// **Data-parallel runs.** Given a `ProcessGroup`, the trainer does what PyTorch's DDP and
/// `DistributedSampler` do, on every rank: it broadcasts rank 0's weights at start (and after a resume), trains
/// on its own shard of every epoch (`DataShard`) with `configuration.batchSize` examples per rank, averages
/// the gradients over the ranks (`GradientBuckets`) and takes the same optimizer step everywhere. The loss and
/// accuracy it reports are over all ranks' examples. A non-finite loss on any rank stops every rank at the
/// same step. Only rank 0 validates, evaluates the test set, writes checkpoints and writes metrics.
/// BatchNorm's running statistics stay per rank (DDP's default); rank 0's are the ones saved.
public final class Trainer {
    /// The run's settings.
    public let configuration: TrainingConfiguration
    /// The model trained.
    public let model: any Layer
    /// The optimizer over `model.trainableParameters()`.
    public let optimizer: Optimizer
    /// The schedule, stepped once per batch (`nil` for a constant rate).
    public let schedule: LearningRateSchedule?
    /// Shuffled training batches (with the dataset's training transforms).
    public let loader: DataLoader<AnyDataset>
    /// The held-out validation examples, if `validationSplit > 0`.
    public let validationSet: AnyDataset?
    /// The test examples evaluated at the end of `fit()`, if given.
    public let testSet: AnyDataset?
    /// The ranks of a data-parallel run, or `nil` for one process.
    public let processGroup: (any ProcessGroup)?
    /// Averages the gradients over `processGroup` after every backward pass.
    private let gradientBuckets: GradientBuckets?
    /// Whether this process writes checkpoints and metrics and evaluates: rank 0, or the only process.
    public var isPrimary: Bool { (processGroup?.rank ?? 0) == 0 }
    /// Transforms applied to validation, test and prediction inputs (normalisation only).
    public let evaluationTransforms: [any BatchTransform]
    /// The position of the run.
    public private(set) var state = TrainingState()
    /// Written atomically after every epoch, when set.
    public var checkpointURL: URL?
    /// Receives a row every `logEvery` steps and one per epoch, when set.
    public var metrics: MetricsWriter?
    /// Called on every `TrainingEvent`.
    public var observer: ((TrainingEvent) -> Void)?

    /// A trainer for `configuration`'s preset on `train` (and `test`), or for `model` when given (tests).
    ///
    /// Seeds the global generator with `configuration.seed`, builds the model (unless given), takes the first
    /// `limit` examples of `train` and `test`, and splits off the validation set. With a `processGroup`, every
    /// rank must call this with the same arguments; rank 0's weights are then broadcast to the others.
    /// - Throws: `TrainingError.invalidConfiguration` for out-of-range settings.
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
        self.model = try model ?? configuration.makeModel(inputShape: train.exampleShape, classCount: train.classCount)
        optimizer = configuration.makeOptimizer(self.model.trainableParameters())
        self.processGroup = processGroup
        loader = DataLoader(trainSet, batchSize: configuration.batchSize, shuffle: true, seed: configuration.seed,
                            transforms: configuration.dataset.trainingTransforms,
                            shard: processGroup.map { DataShard(index: $0.rank, count: $0.size) } ?? .whole)
        schedule = configuration.makeSchedule(optimizer, stepsPerEpoch: loader.batchesPerEpoch)
        evaluationTransforms = [configuration.dataset.normalization]
        if let processGroup {
            broadcastState(of: self.model, in: processGroup)
            gradientBuckets = GradientBuckets(self.model.trainableParameters(), group: processGroup)
        } else {
            gradientBuckets = nil
        }
        state.worldSize = processGroup?.size ?? 1
        state.random = Strata.randomState
    }

    /// A trainer for `configuration`, loading its dataset (train and test splits) from disk.
    /// - Throws: `TrainingError` or `DatasetError` (a missing directory or file, a corrupt file).
    public convenience init(configuration: TrainingConfiguration, processGroup: (any ProcessGroup)? = nil) throws {
        try configuration.validate()
        let directory = configuration.dataDirectory.map { URL(fileURLWithPath: $0) }
        let train = try configuration.dataset.load(.train, directory: directory)
        let test = try configuration.dataset.load(.test, directory: directory)
        try self.init(configuration: configuration, train: train, test: test, processGroup: processGroup)
    }

    /// Whether every epoch has been trained.
    public var isComplete: Bool { state.epoch >= configuration.epochs }

    /// Restores the weights, optimizer state, generator state and position saved in `checkpoint`.
    ///
    /// A checkpoint saved at an epoch boundary resumes with any number of ranks (one process resumes a
    /// data-parallel run and the reverse); one saved mid-epoch needs the number of ranks that wrote it, since its
    /// position counts that run's batches. The schedule continues from the same fraction of the run.
    /// - Throws: `TrainingError.checkpointMismatch` when the weights or optimizer state do not fit, or the
    ///   position does not; the trainer is unchanged then.
    public func resume(from checkpoint: Checkpoint, url: URL) throws {
        let ranks = processGroup?.size ?? 1
        guard checkpoint.state.batch == 0 || checkpoint.state.worldSize == ranks else {
            throw TrainingError.checkpointMismatch(url, reason: "it was saved mid-epoch (batch \(checkpoint.state.batch)) by a run of \(checkpoint.state.worldSize) process(es); resume it with \(checkpoint.state.worldSize), not \(ranks)")
        }
        guard checkpoint.state.batch <= loader.batchesPerEpoch else {
            throw TrainingError.checkpointMismatch(url, reason: "its position (batch \(checkpoint.state.batch)) is past the epoch's \(loader.batchesPerEpoch) batches")
        }
        do { try model.loadStateDict(checkpoint.modelState, strict: true) } catch {
            throw TrainingError.checkpointMismatch(url, reason: "\(error)")
        }
        do { try optimizer.loadStateDict(checkpoint.optimizerState) } catch {
            throw TrainingError.checkpointMismatch(url, reason: "\(error)")
        }
        state = checkpoint.state
        state.worldSize = ranks
        schedule?.restore(stepCount: state.epoch * loader.batchesPerEpoch + state.batch)
        Strata.randomState = state.random
        if let processGroup { broadcastState(of: model, in: processGroup) }
    }

    /// The checkpoint of the run as it stands.
    public func makeCheckpoint() -> Checkpoint {
        var saved = state
        saved.random = Strata.randomState
        return Checkpoint(configuration: configuration, state: saved, modelState: model.stateDict(),
                          optimizerState: optimizer.stateDict(), inputShape: loader.dataset.exampleShape,
                          classCount: loader.dataset.classCount)
    }

    /// Writes the checkpoint to `url` atomically, refusing if any weight is NaN or infinite. In a data-parallel run
    /// only rank 0 calls this (every rank holds the same weights).
    public func saveCheckpoint(to url: URL) throws {
        for (name, tensor) in model.stateDict() where tensor.dtype.isFloatingPoint {
            if tensor.toDoubles().contains(where: { !$0.isFinite }) { throw TrainingError.nonFiniteWeights(name: name) }
        }
        try makeCheckpoint().write(to: url)
        observer?(.checkpointSaved(url))
    }

    /// Trains the rest of the current epoch, validates, writes a metrics row and the checkpoint (rank 0).
    ///
    /// With `maxSteps`, stops after that many steps if the epoch is not over by then and returns `nil`
    /// (the position is kept, so `makeCheckpoint()` then records a mid-epoch position).
    @discardableResult
    public func trainEpoch(maxSteps: Int? = nil) throws -> EpochSummary? {
        guard !isComplete else { fatalError("Trainer.trainEpoch: all \(configuration.epochs) epochs are done") }
        let epoch = state.epoch, batches = loader.batchesPerEpoch
        let start = DispatchTime.now().uptimeNanoseconds
        var samples = 0
        model.train()
        observer?(.epochStarted(epoch: epoch, epochs: configuration.epochs, batches: batches, startBatch: state.batch))
        var stepsTaken = 0
        for batch in loader.batches(epoch: epoch, startingAt: state.batch) {
            if let maxSteps, stepsTaken == maxSteps { return nil }
            stepsTaken += 1
            optimizer.zeroGrad()
            let logits = model(batch.inputs)                 // [B, K]
            let loss = Loss.crossEntropy(logits, batch.labels)
            let predictions = logits.detached().argmax(dim: 1).scalars(as: Int64.self)
            let correct = zip(predictions, batch.labels.scalars(as: Int64.self)).reduce(0) { $0 + ($1.0 == $1.1 ? 1 : 0) }
            let totals = stepTotals(loss: loss.item(), correct: correct, count: batch.labels.count)
            if let (rank, value) = totals.firstNonFiniteLoss {
                throw TrainingError.nonFiniteLoss(value: value, epoch: epoch, batch: batch.index, step: state.globalStep + 1,
                                                  rank: processGroup == nil ? nil : rank)
            }
            loss.backward()
            gradientBuckets?.average()
            optimizer.step()
            schedule?.step()

            state.globalStep += 1
            state.batch = batch.index + 1
            state.lossSum += totals.lossSum
            state.correct += totals.correct
            state.seen += totals.count
            samples += totals.count

            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let rate = seconds > 0 ? Double(samples) / seconds : 0
            let isLog = configuration.logEvery > 0 && state.globalStep % configuration.logEvery == 0
            let progress = StepProgress(
                epoch: epoch, epochs: configuration.epochs, batch: state.batch, batches: batches, globalStep: state.globalStep,
                loss: state.lossSum / Double(state.seen), accuracy: Double(state.correct) / Double(state.seen),
                samplesPerSecond: rate,
                secondsRemaining: rate > 0 ? Double((batches - state.batch) * configuration.batchSize * (processGroup?.size ?? 1)) / rate : 0,
                isLogStep: isLog)
            if isLog, isPrimary {
                try metrics?.write(MetricsRow(kind: .step, epoch: epoch + 1, step: state.globalStep, loss: progress.loss,
                                              accuracy: progress.accuracy, learningRate: optimizer.learningRate,
                                              elapsed: elapsedSinceStart))
            }
            observer?(.step(progress))
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let validation = isPrimary ? validationSet.map { evaluate(model, on: $0, transforms: evaluationTransforms) } : nil
        let summary = EpochSummary(
            epoch: epoch, epochs: configuration.epochs,
            loss: state.seen > 0 ? state.lossSum / Double(state.seen) : 0,
            accuracy: state.seen > 0 ? Double(state.correct) / Double(state.seen) : 0,
            validation: validation, seconds: seconds, samplesPerSecond: seconds > 0 ? Double(samples) / seconds : 0,
            learningRate: optimizer.learningRate)
        state.epoch += 1
        state.batch = 0
        (state.lossSum, state.correct, state.seen) = (0, 0, 0)
        if isPrimary { try metrics?.write(MetricsRow(kind: .epoch, epoch: epoch + 1, step: state.globalStep, loss: summary.loss,
                                      accuracy: summary.accuracy, validationLoss: validation?.loss,
                                      validationAccuracy: validation?.accuracy, learningRate: summary.learningRate,
                                      elapsed: elapsedSinceStart)) }
        observer?(.epochEnded(summary))
        if let checkpointURL, isPrimary { try saveCheckpoint(to: checkpointURL) }
        return summary
    }

    /// One step's loss sum, correct predictions and examples, over all ranks, with each rank's loss.
    private struct StepTotals {
        var lossSum: Double, correct: Int, count: Int
        var lossPerRank: [Double]
        /// The first rank whose loss is NaN or infinite, and that loss.
        var firstNonFiniteLoss: (Int, Double)? {
            lossPerRank.enumerated().first { !$0.element.isFinite }.map { ($0.offset, $0.element) }
        }
    }

    /// This step's totals; in a data-parallel run, one all-reduce sums them over the ranks and tells every rank
    /// whether any rank's loss is non-finite, so all of them stop at the same step.
    private func stepTotals(loss: Double, correct: Int, count: Int) -> StepTotals {
        guard let group = processGroup else {
            return StepTotals(lossSum: loss * Double(count), correct: correct, count: count, lossPerRank: [loss])
        }
        // [Σ loss·n, Σ correct, Σ n, loss of rank 0, …, loss of rank size−1]: each rank fills only its own slot.
        var values = [Double](repeating: 0, count: 3 + group.size)
        (values[0], values[1], values[2], values[3 + group.rank]) = (loss * Double(count), Double(correct), Double(count), loss)
        group.allReduceSum(&values)
        return StepTotals(lossSum: values[0], correct: Int(values[1]), count: Int(values[2]), lossPerRank: Array(values[3...]))
    }

    private let startTime = DispatchTime.now().uptimeNanoseconds
    private var elapsedSinceStart: Double { Double(DispatchTime.now().uptimeNanoseconds - startTime) / 1e9 }

    /// Trains the remaining epochs, then evaluates the test set (if any).
    public func fit() throws -> TrainingResult {
        let start = DispatchTime.now().uptimeNanoseconds
        var summaries: [EpochSummary] = []
        while !isComplete { if let summary = try trainEpoch() { summaries.append(summary) } }
        let test = isPrimary ? testSet.map { evaluate(model, on: $0, transforms: evaluationTransforms) } : nil
        return TrainingResult(epochs: summaries, test: test, seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
}
