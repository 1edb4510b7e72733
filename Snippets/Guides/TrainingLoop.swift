// StrataTraining's Trainer: metrics, callbacks of your own, checkpoints and an exact resume.
import Foundation
import Strata
import StrataTraining

// snippet.setup
Strata.threads = 1                                                       // so that a resumed run is bit-identical
Strata.seed(0)
let x = Tensor.normal([1024, 3])                                         // 1,024 samples of 3 features
let y = (x.select(1, 0) * 2 - x.select(1, 1) * x.select(1, 2)).unsqueezed(1)  // targets [1024, 1]
let data = TensorDataset(inputs: x, targets: y)
let checkpoint = FileManager.default.temporaryDirectory.appendingPathComponent("strata-run-\(UUID().uuidString).safetensors")
// snippet.end

// snippet.callback
/// Records the loss of every epoch, as a Keras or Lightning callback would.
final class LossHistory: TrainingCallback {
    var losses: [Double] = []
    func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) { losses.append(record.loss) }
}
// snippet.end

// snippet.trainer
/// The whole run's configuration: a fresh model, optimizer and callbacks, as a new process would build them.
func makeTrainer(history: LossHistory) throws -> Trainer {
    Strata.seed(0)
    let model = Sequential { Linear(3, 32); Tanh(); Linear(32, 1) }
    let optimizer = Adam(model.parameters(), learningRate: 0.01)
    return try Trainer(
        model: model,
        loss: { output, batch in Loss.mse(output, batch.targets) },     // a scalar, the batch's mean
        optimizer: optimizer,
        train: DataLoader(data, batchSize: 32, shuffle: true, seed: 1),
        metrics: [MeanAbsoluteError()],
        epochs: 10,
        accumulationSteps: 2,                                            // two batches per optimizer step
        gradientClipNorm: 5,
        callbacks: [LearningRateScheduler(CosineSchedule(optimizer, period: 10 * 16)),   // 16 steps per epoch
                    ProgressLogger(every: 0),                            // one line per epoch
                    ModelCheckpoint(url: checkpoint),                    // weights, optimizer, position, generator
                    EarlyStopping(monitor: .minimum("loss"), patience: 3),
                    history])
}
// snippet.end

// snippet.fit
let history = LossHistory()
let trainer = try makeTrainer(history: history)
let records = try trainer.fit()                                          // one EpochRecord per epoch
print("epochs \(records.count), mse \(records.last!.loss), mae \(records.last!.metrics["mae"]!)")
// snippet.end

// snippet.resume
// A run stopped after 6 of its 10 epochs (here by hand), then resumed from its checkpoint by a new trainer.
let stopped = try makeTrainer(history: LossHistory())
for _ in 0..<6 { _ = try stopped.trainEpoch() }                          // writes the checkpoint after each
let resumedHistory = LossHistory()
let resumed = try makeTrainer(history: resumedHistory)
try resumed.resume(from: Checkpoint.read(from: checkpoint), url: checkpoint)
_ = try resumed.fit()                                                    // epochs 7 to 10 only
print("resumed losses equal the uninterrupted run's: \(resumedHistory.losses == Array(history.losses.suffix(4)))")
// snippet.end
try FileManager.default.removeItem(at: checkpoint)
