import Foundation
import Strata

/// Trains any model: epochs over a `BatchLoader`, a loss, an optimizer, metrics, callbacks, gradient
/// accumulation and clipping, validation after each epoch, exact resumption and data-parallel runs.
///
/// ```swift
/// let trainer = try Trainer(model: model, loss: { output, batch in Loss.mse(output, batch.targets) },
///                           optimizer: AdamW(model.trainableParameters()), train: loader, validation: held,
///                           metrics: [MeanAbsoluteError()], epochs: 10,
///                           callbacks: [ProgressLogger(every: 50), EarlyStopping(monitor: .minimum("val_loss"))])
/// let records = try trainer.fit()
/// ```
///
/// **One step.** For each batch: `output = forward(batch)`, `loss(output, batch)` (a mean over the batch),
/// the metrics' totals, a stop if the loss is NaN or infinite (before `backward()`, so the weights stay those of
/// the last good step), `backward()`. Every `accumulationSteps` batches (and at the epoch's end) the gradients
/// are averaged over the ranks, clipped to `gradientClipNorm`, and the optimizer steps once. Each batch's loss is
/// weighted by its share of the group's examples, so accumulating N batches of B examples takes the same step
/// as one batch of N·B examples.
///
/// **Reproducible.** A checkpoint holds the weights, the optimizer state, the global generator (which draws
/// dropout masks) and the position with the epoch's running totals. The loader's batches are a pure function of
/// (seed, epoch, index), so `resume(from:)` continues bit-identically, with `Strata.threads = 1` (more threads
/// may reorder floating-point sums).
///
/// **Data-parallel runs.** Given a `ProcessGroup`, every rank runs the same trainer on its own shard of every
/// epoch (a `DataLoader` with a `DataShard`), as PyTorch's DDP does: rank 0's weights are broadcast at the start
/// and after a resume, gradients are averaged over the ranks (`GradientBuckets`), and every rank takes the same
/// step. The loss and metrics reported are over all ranks' examples; a non-finite loss on any rank stops every
/// rank at the same step. Only rank 0 validates; callbacks run on every rank, and those that write files do so
/// on rank 0 only (`isPrimary`). A stop asked for by a callback on any rank stops them all after the epoch.
///
/// Mode: the model is in training mode while it trains and in evaluation mode while it validates.
public final class Trainer {
    /// The model trained.
    public let model: any Module
    /// The optimizer over the model's trainable parameters.
    public let optimizer: Optimizer
    /// The training batches.
    public let train: any BatchLoader
    /// The batches evaluated after every epoch, if any.
    public let validation: (any BatchLoader)?
    /// Measured on every training and validation batch, in this order in every line and file.
    public let metrics: [any Metric]
    /// The total epochs of the run (raise it to continue a finished run).
    public var epochs: Int
    /// Batches whose gradients are summed before each optimizer step (1: a step per batch).
    public let accumulationSteps: Int
    /// The largest global L2 norm of the gradients before each step, when set (`clip_grad_norm_`).
    public let gradientClipNorm: Double?
    /// Told of every stage of the run, in order.
    public var callbacks: [any TrainingCallback]
    /// Written into every checkpoint's metadata beside the run's position (an application's configuration).
    public var checkpointMetadata: [String: String] = [:]
    /// The ranks of a data-parallel run, or `nil` for one process.
    public let processGroup: (any ProcessGroup)?
    /// The position of the run.
    public private(set) var state = TrainingState()
    /// Set by a callback to end `fit()` after the current epoch (Keras's `stop_training`).
    public var shouldStop = false

    private let forward: (Batch) -> Tensor
    private let loss: (Tensor, Batch) -> Tensor
    private let gradientBuckets: GradientBuckets?
    private let startTime = DispatchTime.now().uptimeNanoseconds

    /// A trainer calling `forward` on each batch, for a model that is not a `Layer` of its batch's inputs (two
    /// inputs, a tuple output, …).
    /// - Parameters:
    ///   - model: the module whose trainable parameters `optimizer` updates; its state is what checkpoints save.
    ///   - forward: the model's output for a batch.
    ///   - loss: the scalar loss, a mean over the batch, from the output and the batch.
    ///   - optimizer: the optimizer over the model's trainable parameters.
    ///   - train: the training batches; with a `processGroup`, this rank's shard of them.
    ///   - validation: batches evaluated after every epoch (on rank 0).
    ///   - metrics: measured on every batch.
    ///   - epochs: the total epochs of the run.
    ///   - accumulationSteps: batches per optimizer step.
    ///   - gradientClipNorm: the largest gradient norm, or nil for none.
    ///   - callbacks: progress, logs, checkpoints, schedules, early stopping.
    ///   - processGroup: the ranks of a data-parallel run; every rank must build the same trainer.
    /// - Throws: `TrainingError.invalidConfiguration` for a setting out of range (epochs × batches per epoch, the
    ///   run's step count, must fit in `Int`), an empty loader, a model without
    ///   trainable parameters, or a model with `BatchNorm` layers and a training batch of one example (batch
    ///   statistics need two; PyTorch raises at that batch, this refuses before the first).
    public init(model: any Module, forward: @escaping (Batch) -> Tensor, loss: @escaping (Tensor, Batch) -> Tensor,
                optimizer: Optimizer, train: any BatchLoader, validation: (any BatchLoader)? = nil,
                metrics: [any Metric] = [], epochs: Int, accumulationSteps: Int = 1, gradientClipNorm: Double? = nil,
                callbacks: [any TrainingCallback] = [], processGroup: (any ProcessGroup)? = nil) throws {
        func fail(_ message: String) -> TrainingError { .invalidConfiguration(message) }
        guard epochs >= 1 else { throw fail("epochs must be at least 1, got \(epochs)") }
        guard accumulationSteps >= 1 else { throw fail("accumulation steps must be at least 1, got \(accumulationSteps)") }
        if let gradientClipNorm, !(gradientClipNorm > 0 && gradientClipNorm.isFinite) {
            throw fail("the gradient clipping norm must be positive, got \(gradientClipNorm)")
        }
        guard train.batchesPerEpoch > 0 else { throw fail("the training loader yields no batches") }
        do { _ = try CheckedSize.multiply(epochs, train.batchesPerEpoch, "steps") } catch {
            throw fail("\(epochs) epochs of \(train.batchesPerEpoch) batches is more steps than fit in Int")
        }
        guard !model.trainableParameters().isEmpty else {
            throw fail("the model has no trainable parameters (none requires grad), so there is nothing to train")
        }
        if let norm = model.modules().first(where: { $0 is BatchNorm }),
           let single = (0..<train.batchesPerEpoch).first(where: { train.exampleCount(ofBatch: $0) == 1 }) {
            throw fail("\(type(of: norm)) normalises with each training batch's own statistics, which takes at least 2 examples, but batch \(single + 1) of every epoch holds 1 (of \(train.batchesPerEpoch)); drop it (DataLoader's dropLast) or choose another batch size")
        }
        let names = metrics.map(\.name)
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            throw fail("metric '\(repeated)' is given twice")
        }
        (self.model, self.forward, self.loss, self.optimizer) = (model, forward, loss, optimizer)
        (self.train, self.validation, self.metrics, self.epochs) = (train, validation, metrics, epochs)
        (self.accumulationSteps, self.gradientClipNorm, self.callbacks) = (accumulationSteps, gradientClipNorm, callbacks)
        self.processGroup = processGroup
        if let processGroup {
            broadcastState(of: model, in: processGroup)
            gradientBuckets = GradientBuckets(model.trainableParameters(), group: processGroup)
        } else {
            gradientBuckets = nil
        }
        state.worldSize = processGroup?.size ?? 1
        state.random = Strata.randomState
    }

    /// A trainer for a `Layer` called on each batch's inputs: `output = model(batch.inputs)`.
    /// The other parameters are those of `init(model:forward:loss:…)`.
    ///
    /// A model with a shape rule (`ShapeInferring`) is asked, before anything trains, whether it takes the first
    /// training batch's inputs (their shape and dtype), so a model and data that do not fit fail here, typed,
    /// rather than in the first forward pass. (A container holding a layer without a rule cannot answer; it is
    /// not refused for that.)
    /// - Throws: `TrainingError.modelDoesNotFit` when the shape rule refuses the inputs, and the errors of
    ///   `init(model:forward:loss:…)`.
    public convenience init(model: any Layer, loss: @escaping (Tensor, Batch) -> Tensor, optimizer: Optimizer,
                            train: any BatchLoader, validation: (any BatchLoader)? = nil, metrics: [any Metric] = [],
                            epochs: Int, accumulationSteps: Int = 1, gradientClipNorm: Double? = nil,
                            callbacks: [any TrainingCallback] = [], processGroup: (any ProcessGroup)? = nil) throws {
        if let rule = model as? any ShapeInferring, train.batchesPerEpoch > 0 {
            var batches = train.batches(epoch: 0, startingAt: 0).makeIterator()
            if let first = batches.next() {
                do { _ = try rule.infer(shape: first.inputs.shape, dtype: first.inputs.dtype) } catch where error.kind != .unsupported {
                    throw TrainingError.modelDoesNotFit(error)
                } catch {}   // a layer inside without a rule of its own: the first forward pass is the check
            }
        }
        try self.init(model: model, forward: { model($0.inputs) }, loss: loss, optimizer: optimizer, train: train,
                      validation: validation, metrics: metrics, epochs: epochs, accumulationSteps: accumulationSteps,
                      gradientClipNorm: gradientClipNorm, callbacks: callbacks, processGroup: processGroup)
    }

    /// Whether this process validates and writes files: rank 0, or the only process.
    public var isPrimary: Bool { (processGroup?.rank ?? 0) == 0 }

    /// Whether every epoch has been trained.
    public var isComplete: Bool { state.epoch >= epochs }

    /// Optimizer steps per epoch: `⌈batches / accumulationSteps⌉`.
    public var stepsPerEpoch: Int { (train.batchesPerEpoch + accumulationSteps - 1) / accumulationSteps }

    /// Optimizer steps into the run by this run's reckoning: whole epochs at `stepsPerEpoch`, plus the steps of
    /// the epoch in progress. Where a schedule stands; unlike `state.globalStep`, it is the same fraction of the
    /// run when a data-parallel run is resumed with another number of ranks.
    public var stepsIntoRun: Int { state.epoch * stepsPerEpoch + (state.batch + accumulationSteps - 1) / accumulationSteps }

    /// Seconds since the trainer was made (or, for a resumed run, since it was remade).
    public var elapsedSeconds: Double { Double(DispatchTime.now().uptimeNanoseconds - startTime) / 1e9 }

    // MARK: Checkpoints

    /// Restores the weights, optimizer state, generator state and position saved in `checkpoint`, then tells the
    /// callbacks (a schedule moves to the restored position).
    ///
    /// A checkpoint saved at an epoch boundary resumes with any number of ranks (one process resumes a
    /// data-parallel run and the reverse); one saved mid-epoch needs the ranks that wrote it, since its position
    /// counts that run's batches, and the same metrics, since it holds their running totals.
    /// - Throws: `TrainingError.checkpointMismatch` when the weights, optimizer state, position or totals do not
    ///   fit; the trainer is unchanged then.
    public func resume(from checkpoint: Checkpoint, url: URL) throws {
        let ranks = processGroup?.size ?? 1
        let saved = checkpoint.state
        func mismatch(_ reason: String) -> TrainingError { .checkpointMismatch(url, reason: reason) }
        if saved.batch > 0 {
            guard saved.worldSize == ranks else {
                throw mismatch("it was saved mid-epoch (batch \(saved.batch)) by a run of \(saved.worldSize) process(es); resume it with \(saved.worldSize), not \(ranks)")
            }
            guard saved.batch <= train.batchesPerEpoch else {
                throw mismatch("its position (batch \(saved.batch)) is past the epoch's \(train.batchesPerEpoch) batches")
            }
            guard saved.batch % accumulationSteps == 0 || saved.batch == train.batchesPerEpoch else {
                throw mismatch("its position (batch \(saved.batch)) is inside a group of \(accumulationSteps) accumulated batches")
            }
            if processGroup == nil {
                let held = (0..<saved.batch).reduce(0) { $0 + train.exampleCount(ofBatch: $1) }
                guard saved.seen == held else {
                    throw mismatch("its running totals count \(saved.seen) examples, but its first \(saved.batch) batches hold \(held)")
                }
            }
            let names = Set(metrics.map(\.name))
            guard Set(saved.metricTotals.keys) == names else {
                throw mismatch("it holds running totals of the metrics \(saved.metricTotals.keys.sorted()), not of \(names.sorted())")
            }
        }
        let modelBefore = model.stateDict().mapValues { $0.clone() }
        do { try model.loadStateDict(checkpoint.modelState, strict: true) } catch {
            throw mismatch("\(error)")
        }
        do { try optimizer.loadStateDict(checkpoint.optimizerState) } catch {
            try? model.loadStateDict(modelBefore, strict: true)
            throw mismatch("\(error)")
        }
        state = saved
        state.worldSize = ranks
        if state.batch == 0 { state.metricTotals = [:] }
        Strata.randomState = state.random
        if let processGroup { broadcastState(of: model, in: processGroup) }
        for callback in callbacks { callback.trainerDidRestore(self) }
    }

    /// The checkpoint of the run as it stands, with `checkpointMetadata`.
    public func makeCheckpoint() -> Checkpoint {
        var saved = state
        saved.random = Strata.randomState
        return Checkpoint(state: saved, modelState: model.stateDict(), optimizerState: optimizer.stateDict(),
                          metadata: checkpointMetadata)
    }

    /// Writes the checkpoint to `url` atomically, refusing if any weight is NaN or infinite, and tells the
    /// callbacks. In a data-parallel run only rank 0 calls this (every rank holds the same weights).
    /// - Throws: `TrainingError.nonFiniteWeights`, or the file's `IOError`.
    public func saveCheckpoint(to url: URL) throws {
        for (name, tensor) in model.stateDict() where tensor.dtype.isFloatingPoint {
            if tensor.toDoubles().contains(where: { !$0.isFinite }) { throw TrainingError.nonFiniteWeights(name: name) }
        }
        try makeCheckpoint().write(to: url)
        for callback in callbacks { try callback.checkpointDidSave(self, to: url) }
    }

    // MARK: Training

    /// Trains the remaining epochs, or until a callback sets `shouldStop`.
    /// - Returns: the records of the epochs this call trained.
    /// - Throws: `TrainingError.nonFiniteLoss` at a NaN or infinite loss, or what a callback throws.
    @discardableResult
    public func fit() throws -> [EpochRecord] {
        var records: [EpochRecord] = []
        shouldStop = false
        while !isComplete && !shouldStop {
            if let record = try trainEpoch() { records.append(record) }
        }
        return records
    }

    /// Trains the rest of the current epoch, validates, and tells the callbacks (which log, plot, checkpoint).
    ///
    /// With `maxSteps`, stops after that many optimizer steps if the epoch is not over by then and returns `nil`
    /// (the position is kept, so `makeCheckpoint()` then records a mid-epoch position).
    @discardableResult
    public func trainEpoch(maxSteps: Int? = nil) throws -> EpochRecord? {
        guard !isComplete else { fatalError("Trainer.trainEpoch: all \(epochs) epochs are done") }
        let epoch = state.epoch, batches = train.batchesPerEpoch
        let start = DispatchTime.now().uptimeNanoseconds
        var samples = 0, stepsTaken = 0
        if state.batch == 0 { state.metricTotals = [:] }
        model.train()
        for callback in callbacks { try callback.epochWillStart(self, epoch: epoch, startBatch: state.batch) }
        var groupExamples = 0
        for batch in train.batches(epoch: epoch, startingAt: state.batch) {
            let groupStart = batch.index - batch.index % accumulationSteps
            let groupEnd = Swift.min(groupStart + accumulationSteps, batches)
            if batch.index == groupStart {
                if let maxSteps, stepsTaken == maxSteps { return nil }
                optimizer.zeroGrad()
                groupExamples = (groupStart..<groupEnd).reduce(0) { $0 + train.exampleCount(ofBatch: $1) }
            }
            let output = forward(batch)
            let batchLoss = loss(output, batch)
            let totals = stepTotals(loss: batchLoss.item(), output: output, batch: batch)
            if let (rank, value) = totals.firstNonFiniteLoss {
                throw TrainingError.nonFiniteLoss(value: value, epoch: epoch, batch: batch.index, step: state.globalStep + 1,
                                                  rank: processGroup == nil ? nil : rank)
            }
            let share = groupEnd - groupStart == 1 ? 1 : Double(batch.count) / Double(groupExamples)
            (share == 1 ? batchLoss : batchLoss * share).backward()

            state.batch = batch.index + 1
            state.lossSum += totals.lossSum
            state.seen += totals.count
            for (metric, measured) in zip(metrics, totals.metrics) {
                state.metricTotals[metric.name, default: MetricTotals()] = state.metricTotals[metric.name, default: MetricTotals()] + measured
            }
            samples += totals.count
            guard state.batch == groupEnd else { continue }

            gradientBuckets?.average()
            if let gradientClipNorm { GradientClipping.clipByNorm(model.trainableParameters(), maxNorm: gradientClipNorm) }
            optimizer.step()
            state.globalStep += 1
            stepsTaken += 1

            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let rate = seconds > 0 ? Double(samples) / seconds : 0
            let remaining = (state.batch..<batches).reduce(0) { $0 + train.exampleCount(ofBatch: $1) } * state.worldSize
            let progress = StepProgress(epoch: epoch, epochs: epochs, batch: state.batch, batches: batches,
                                        globalStep: state.globalStep, loss: state.lossSum / Double(state.seen),
                                        metrics: runningMetrics(), samplesPerSecond: rate,
                                        secondsRemaining: rate > 0 ? Double(remaining) / rate : 0)
            for callback in callbacks { try callback.stepDidEnd(self, progress) }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let validated = isPrimary ? validation.map { evaluate(on: $0) } : nil
        let record = EpochRecord(epoch: epoch, epochs: epochs, globalStep: state.globalStep,
                                 loss: state.seen > 0 ? state.lossSum / Double(state.seen) : .nan,
                                 metrics: runningMetrics(), validation: validated, learningRate: optimizer.learningRate,
                                 seconds: seconds, samplesPerSecond: seconds > 0 ? Double(samples) / seconds : 0,
                                 elapsed: elapsedSeconds)
        state.epoch += 1
        state.batch = 0
        (state.lossSum, state.seen, state.metricTotals) = (0, 0, [:])
        for callback in callbacks { try callback.epochDidEnd(self, record) }
        if let group = processGroup {
            // Any rank's stop (rank 0's early stopping, which alone sees the validation) stops every rank.
            var stop = [shouldStop ? 1.0 : 0]
            group.allReduceSum(&stop)
            shouldStop = stop[0] > 0
        }
        return record
    }

    /// The metrics' values over the epoch so far.
    private func runningMetrics() -> [String: Double] {
        Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.value(state.metricTotals[$0.name] ?? MetricTotals())) })
    }

    /// One batch's loss sum, examples and metric totals, over all ranks, with each rank's loss.
    private struct StepTotals {
        var lossSum: Double, count: Int
        var metrics: [MetricTotals]
        var lossPerRank: [Double]
        /// The first rank whose loss is NaN or infinite, and that loss.
        var firstNonFiniteLoss: (Int, Double)? {
            lossPerRank.enumerated().first { !$0.element.isFinite }.map { ($0.offset, $0.element) }
        }
    }

    /// This batch's totals; in a data-parallel run, one all-reduce sums them over the ranks and tells every rank
    /// whether any rank's loss is non-finite, so all of them stop at the same step.
    private func stepTotals(loss: Double, output: Tensor, batch: Batch) -> StepTotals {
        let measured = withNoGrad { metrics.map { $0.measure(output, batch) } }
        let count = batch.count
        guard let group = processGroup else {
            return StepTotals(lossSum: loss * Double(count), count: count, metrics: measured, lossPerRank: [loss])
        }
        // [Σ loss·n, Σ n, metric sums and counts…, loss of rank 0, …, loss of rank size−1]: each rank fills only its own slot.
        let m = measured.count
        var values = [Double](repeating: 0, count: 2 + 2 * m + group.size)
        (values[0], values[1]) = (loss * Double(count), Double(count))
        for (i, totals) in measured.enumerated() { (values[2 + 2 * i], values[3 + 2 * i]) = (totals.sum, totals.count) }
        values[2 + 2 * m + group.rank] = loss
        group.allReduceSum(&values)
        return StepTotals(lossSum: values[0], count: Int(values[1]),
                          metrics: (0..<m).map { MetricTotals(sum: values[2 + 2 * $0], count: values[3 + 2 * $0]) },
                          lossPerRank: Array(values[(2 + 2 * m)...]))
    }

    // MARK: Evaluation

    /// The mean loss and the metrics of the model on `loader` (one epoch, in evaluation mode, without recording).
    /// `onBatch` sees every batch's output (a confusion matrix, predictions).
    public func evaluate(on loader: any BatchLoader, onBatch: (Tensor, Batch) -> Void = { _, _ in }) -> Evaluation {
        StrataTraining.evaluate(model, forward: forward, loss: loss, metrics: metrics, on: loader, onBatch: onBatch)
    }
}

/// The mean loss and `metrics` of `model` on one epoch of `loader`, in evaluation mode and without recording
/// (the model's mode is restored after). `onBatch` sees every batch's output.
public func evaluate(_ model: any Module, forward: (Batch) -> Tensor, loss: (Tensor, Batch) -> Tensor,
                     metrics: [any Metric], on loader: any BatchLoader,
                     onBatch: (Tensor, Batch) -> Void = { _, _ in }) -> Evaluation {
    let wasTraining = model.modules().contains { ($0 as? any ModeDependent)?.isTraining == true }
    model.eval()
    defer { if wasTraining { model.train() } }
    var lossSum = 0.0, count = 0
    var totals = [MetricTotals](repeating: MetricTotals(), count: metrics.count)
    withNoGrad {
        for batch in loader.batches(epoch: 0, startingAt: 0) {
            let output = forward(batch)
            lossSum += loss(output, batch).item() * Double(batch.count)
            count += batch.count
            for (i, metric) in metrics.enumerated() { totals[i] = totals[i] + metric.measure(output, batch) }
            onBatch(output, batch)
        }
    }
    return Evaluation(loss: count > 0 ? lossSum / Double(count) : .nan, count: count,
                      metrics: Dictionary(uniqueKeysWithValues: zip(metrics, totals).map { ($0.name, $0.value($1)) }))
}
