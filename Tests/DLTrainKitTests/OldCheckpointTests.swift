import Foundation
import DLTrainKit
import Strata
import StrataTraining
import TestSupport
import Testing

/// Checkpoints written by `dltrain` before its training loop moved to StrataTraining (commit 0ff923a), in
/// Fixtures/. A tiny model spec (Fixtures/tiny.json: flatten, then `fc`, Linear 784 → 10) on the first 96 embedded
/// MNIST images, 25% held out, batch 32, one thread:
/// - `old-epoch-boundary.safetensors`: `dltrain train --model-file tiny.json --limit 96 --epochs 1 --batch-size 32
///   --threads 1 --log-every 0 --val-split 0.25 --checkpoint …` (SGD, the recipe's lr 0.05 and momentum 0.9, cosine);
/// - `old-mid-epoch.safetensors`: the same data with Adam (lr 1e-3) for 2 epochs, saved by the old `Trainer` one
///   step into epoch 2 (so its metadata holds a running `strata.correct`);
/// - `old-mid-epoch-finished.safetensors`: that run, continued by the old code to the end of epoch 2.
private func fixture(_ name: String) throws -> URL {
    try #require(EmbeddedData.packageRoot).appendingPathComponent("Tests/DLTrainKitTests/Fixtures/\(name)")
}

@Suite(.serialized) struct OldCheckpointTests {
    @Test func anEpochBoundaryCheckpointOfTheOldCodeLoadsEvaluatesAndResumes() throws {
        let url = try fixture("old-epoch-boundary.safetensors")
        let saved = try DLTrainCheckpoint.read(from: url)
        // The old configuration wrote every optimizer field; they read back as given.
        #expect(saved.configuration.optimizer == .sgd && saved.configuration.learningRate == 0.05 && saved.configuration.momentum == 0.9)
        #expect(saved.configuration.weightDecay == 0 && saved.configuration.limit == 96 && saved.configuration.validationSplit == 0.25)
        #expect(saved.configuration.modelSpec == (try String(contentsOf: try fixture("tiny.json"), encoding: .utf8)))
        #expect(saved.state.epoch == 1 && saved.state.batch == 0 && saved.state.globalStep == 3 && saved.state.worldSize == 1)
        #expect(saved.inputShape == [1, 28, 28] && saved.classCount == 10)
        let model = try saved.makeModel(url: url)
        #expect(Set(model.stateDict().keys) == ["fc.weight", "fc.bias"])
        // The old run printed a test accuracy of 52.08% on these 96 images.
        let test = ClassifierEvaluation(model, on: DatasetSubset(try EmbeddedMNIST.test.get(), indices: Array(0..<96)), kind: .mnist)
        #expect(abs(test.accuracy - 50.0 / 96) < 1e-9, "\(test.accuracy)")

        var configuration = saved.configuration
        configuration.epochs = 2
        let run = try TrainingRun(configuration: configuration, train: EmbeddedMNIST.train.get(), test: nil)
        try run.resume(from: saved, url: url)
        #expect(run.trainer.optimizer.stateDict().keys.contains("state.0.momentum_buffer"))
        let records = try run.trainer.fit()
        #expect(records.count == 1 && run.trainer.state.epoch == 2 && run.trainer.state.globalStep == 6)
    }

    @Test func aMidEpochCheckpointOfTheOldCodeResumesToTheOldCodesResult() throws {
        let threads = Strata.threads
        Strata.threads = 1
        defer { Strata.threads = threads }
        let url = try fixture("old-mid-epoch.safetensors")
        let saved = try DLTrainCheckpoint.read(from: url)
        #expect(saved.state.epoch == 1 && saved.state.batch == 1 && saved.state.seen == 32)
        // The old running count of correct predictions reads as the accuracy's totals.
        let accuracy = try #require(saved.state.metricTotals["accuracy"])
        #expect(accuracy.count == 32 && accuracy.sum == accuracy.sum.rounded() && (0...32).contains(accuracy.sum))
        let run = try TrainingRun(configuration: saved.configuration, train: EmbeddedMNIST.train.get(), test: nil)
        try run.resume(from: saved, url: url)
        try run.trainer.fit()
        let finished = try DLTrainCheckpoint.read(from: try fixture("old-mid-epoch-finished.safetensors"))
        #expect(run.trainer.state.epoch == finished.state.epoch && run.trainer.state.globalStep == finished.state.globalStep)
        // The same steps from the same state: the weights agree with the old code's to float32 rounding (the
        // kernels may sum in another order than they did then).
        for (name, tensor) in finished.modelState {
            let mine = try #require(run.model.stateDict()[name])
            let difference = zip(mine.toDoubles(), tensor.toDoubles()).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference < 1e-6, "\(name) differs by \(difference)")
        }
    }
}
