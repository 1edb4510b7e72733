import Foundation
import Strata
import StrataTraining
import Testing

/// The README's training-loop example, verbatim between the markers (Tests/StrataTests/Readme checks the README
/// holds it as it stands here).
@Suite struct ReadmeTrainerTests {
    @Test func theReadmeTrainingLoopExampleFitsItsTarget() throws {
        // README trainer example begins
        Strata.seed(0)
        let x = Tensor.normal([1024, 3])                                       // 1,024 samples of 3 features
        let y = (x.select(1, 0) * 2 - x.select(1, 1) * x.select(1, 2)).unsqueezed(1)  // the targets, [1024, 1]
        let model = Sequential { Linear(3, 32); Tanh(); Linear(32, 1) }
        let optimizer = Adam(model.parameters(), learningRate: 0.01)
        let trainer = try Trainer(
            model: model, loss: { output, batch in Loss.mse(output, batch.targets) }, optimizer: optimizer,
            train: DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 32, shuffle: true, seed: 1),
            metrics: [MeanAbsoluteError()], epochs: 30, accumulationSteps: 2, gradientClipNorm: 5,
            callbacks: [LearningRateScheduler(CosineSchedule(optimizer, period: 30 * 16)),
                        ProgressLogger(every: 0), EarlyStopping(monitor: .minimum("loss"), patience: 3)])
        let records = try trainer.fit()                                        // one EpochRecord per epoch
        print("mse \(records.last!.loss), mae \(records.last!.metrics["mae"]!)")
        // README trainer example ends
        // The target's variance is 4 + 1 = 5; this network fits it to a mean squared error of 0.052 (measured).
        #expect(records.last!.loss < 0.2, "mse \(records.last!.loss)")
        #expect(trainer.stepsPerEpoch == 16)
    }
}
