// StrataTraining's Trainer: metrics, callbacks of your own, checkpoints and
// an exact resume.
import Foundation
import Strata
import StrataTraining

// snippet.setup
// so that a resumed run is bit-identical
Strata.threads = 1
Strata.seed(0)
// 1,024 samples of 3 features
let x = Tensor.normal([1024, 3])
// targets [1024, 1]
let y = (x.select(1, 0) * 2 - x.select(1, 1) * x.select(1, 2)).unsqueezed(1)
let data = TensorDataset(inputs: x, targets: y)
let checkpoint = FileManager.default.temporaryDirectory
    .appendingPathComponent("strata-run-\(UUID().uuidString).safetensors")
// snippet.end

// snippet.callback
/// Records the loss of every epoch, as a Keras or Lightning callback would.
final class LossHistory: TrainingCallback {
    var losses: [Double] = []
    func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) {
        losses.append(record.loss)
    }
}
// snippet.end

// snippet.trainer
/// The whole run's configuration: a fresh model, optimizer and callbacks,
/// as a new process would build them.
func makeTrainer(history: LossHistory) throws -> Trainer {
    Strata.seed(0)
    let model = Sequential { Linear(3, 32); Tanh(); Linear(32, 1) }
    let optimizer = Adam(model.parameters(), learningRate: 0.01)
    return try Trainer(
        model: model,
        // a scalar, the batch's mean
        loss: { output, batch in Loss.mse(output, batch.targets) },
        optimizer: optimizer,
        train: DataLoader(data, batchSize: 32, shuffle: true, seed: 1),
        metrics: [MeanAbsoluteError()],
        epochs: 10,
        // two batches per optimizer step
        accumulationSteps: 2,
        gradientClipNorm: 5,
        callbacks: [
            // 32 batches per epoch, two per step: 16 steps, 160 in the run
            LearningRateScheduler(CosineSchedule(optimizer, period: 160)),
            ProgressLogger(every: 0),                // one line per epoch
            ModelCheckpoint(url: checkpoint),        // model, optimizer, position
            EarlyStopping(monitor: .minimum("loss"), patience: 3),
            history,
        ])
}
// snippet.end

// snippet.fit
let history = LossHistory()
let trainer = try makeTrainer(history: history)
// one EpochRecord per epoch
let records = try trainer.fit()
let last = records.last!
print("epochs \(records.count), mse \(last.loss)")
print("mae \(last.metrics["mae"]!)")
// snippet.end

// snippet.resume
// A run stopped after 6 of its 10 epochs (here by hand), then resumed from
// its checkpoint by a new trainer.
let stopped = try makeTrainer(history: LossHistory())
// writes the checkpoint after each
for _ in 0..<6 { _ = try stopped.trainEpoch() }
let resumedHistory = LossHistory()
let resumed = try makeTrainer(history: resumedHistory)
try resumed.resume(from: Checkpoint.read(from: checkpoint), url: checkpoint)
// epochs 7 to 10 only
_ = try resumed.fit()
let same = resumedHistory.losses == Array(history.losses.suffix(4))
print("resumed losses equal the uninterrupted run's: \(same)")
// snippet.end
try FileManager.default.removeItem(at: checkpoint)
