import Foundation
import DLTrainKit
import Strata
import StrataTraining
import TestSupport
import Testing

/// A layer that passes its input through, except on call `poisonedCall` (from 1), where it returns NaNs and
/// records `snapshot()` (the watched weights as they are then, before that step's update). The snapshot is a
/// closure, not a module property, so the watched layer is not registered twice.
private final class NaNInjector: Layer {
    let poisonedCall: Int
    var calls = 0
    var snapshot: () -> [Float] = { [] }
    var weightsAtPoison: [Float] = []
    init(poisonedCall: Int) { self.poisonedCall = poisonedCall }
    func callAsFunction(_ input: Tensor) -> Tensor {
        calls += 1
        guard calls == poisonedCall else { return input }
        weightsAtPoison = snapshot()
        return input * Double.nan
    }
}

private func temporaryURL(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("strata-trainer-\(UUID().uuidString)-\(name)")
}

/// The model's state as raw bit patterns, so equality means bit-identical.
private func bits(_ state: [String: Tensor]) -> [String: [UInt64]] {
    state.mapValues { t in
        switch t.dtype {
        case .float32: t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
        case .float64: t.scalars(as: Double.self).map(\.bitPattern)
        default: t.toDoubles().map(\.bitPattern)
        }
    }
}

/// A configuration for quick runs on the first `limit` embedded MNIST images.
private func quickConfiguration(limit: Int, epochs: Int, model: ModelPreset = .mlp) -> TrainingConfiguration {
    var c = TrainingConfiguration()
    c.model = model
    c.limit = limit
    c.epochs = epochs
    c.batchSize = 32
    c.logEvery = 0
    return c
}

@Suite(.serialized) struct TrainingRunTests {
    @Test func presetsUsePyTorchStateDictNamesAndShapes() {
        let mnist = [1, 28, 28]
        let mlp = ModelPreset.mlp.makeModel(inputShape: mnist, classCount: 10).stateDict().mapValues(\.shape)
        // nn.Sequential(Flatten, Linear, ReLU, Linear, ReLU, Linear): the Linear layers are children 1, 3, 5.
        #expect(mlp == ["1.weight": [512, 784], "1.bias": [512], "3.weight": [512, 512], "3.bias": [512],
                        "5.weight": [10, 512], "5.bias": [10]])
        let cnn = ModelPreset.cnn.makeModel(inputShape: mnist, classCount: 10).stateDict().mapValues(\.shape)
        // Conv(0) ReLU MaxPool Conv(3) ReLU MaxPool Flatten Linear(7) ReLU Linear(9); 64·7·7 = 3136.
        #expect(cnn == ["0.weight": [32, 1, 5, 5], "0.bias": [32], "3.weight": [64, 32, 5, 5], "3.bias": [64],
                        "7.weight": [512, 3136], "7.bias": [512], "9.weight": [10, 512], "9.bias": [10]])
        let lstm = ModelPreset.lstm.makeModel(inputShape: mnist, classCount: 10).stateDict().mapValues(\.shape)
        #expect(lstm == ["rnn.weight_ih_l0": [512, 28], "rnn.weight_hh_l0": [512, 128], "rnn.bias_ih_l0": [512],
                         "rnn.bias_hh_l0": [512], "fc.weight": [10, 128], "fc.bias": [10]])
        let gru = ModelPreset.gru.makeModel(inputShape: mnist, classCount: 10).stateDict().mapValues(\.shape)
        #expect(gru["rnn.weight_ih_l0"] == [384, 28] && gru["fc.weight"] == [10, 128] && gru.count == 6)
        let cifar = ModelPreset.cifar.makeModel(inputShape: [3, 32, 32], classCount: 10).stateDict().mapValues(\.shape)
        // Blocks at 0–6, 7–13, 14–20 (conv, bn, relu, conv, bn, relu, pool); Flatten 21, Linear 22, ReLU, Dropout, Linear 25.
        #expect(cifar["0.weight"] == [32, 3, 3, 3] && cifar["1.running_var"] == [32] && cifar["1.num_batches_tracked"] == [])
        #expect(cifar["17.weight"] == [128, 128, 3, 3] && cifar["22.weight"] == [256, 2048] && cifar["25.weight"] == [10, 256])
        #expect(cifar.count == 6 * 4 + 6 * 3 + 4)  // 6 convs (w, b), 6 batch norms (w, b, mean, var, count), 2 linears
    }

    @Test func everyPresetMapsImagesToLogits() {
        Strata.seed(3)
        for preset in [ModelPreset.mlp, .cnn, .lstm, .gru] {
            let model = preset.makeModel(inputShape: [1, 28, 28], classCount: 10)
            #expect(model(Tensor.zeros([2, 1, 28, 28])).shape == [2, 10], "\(preset)")
        }
        let lstm = ModelPreset.lstm.makeModel(inputShape: [3, 32, 32], classCount: 100)
        #expect(lstm(Tensor.zeros([2, 3, 32, 32])).shape == [2, 100])
        let cifar = ModelPreset.cifar.makeModel(inputShape: [3, 32, 32], classCount: 10)
        #expect(cifar(Tensor.zeros([2, 3, 32, 32])).shape == [2, 10])
    }

    @Test func trainsAnMLPOnAnMNISTSubsetToAStatedAccuracy() throws {
        // 3,000 real training images, 2 epochs (~190 steps): well under 2 s in release.
        var c = quickConfiguration(limit: 3000, epochs: 2)
        c.validationSplit = 0.1
        let run = try TrainingRun(configuration: c, train: EmbeddedMNIST.train.get(), test: EmbeddedMNIST.test.get())
        #expect(run.trainLoader.dataset.count == 2700 && run.validationSet?.count == 300 && run.testSet?.count == 3000)
        let epochs = try run.trainer.fit()
        #expect(epochs.count == 2 && epochs[1].validation?.count == 300)
        let test = try #require(run.evaluateTest())
        // An MLP on 2,700 MNIST digits reaches about 92–94% on held-out digits; 88% is a safe floor.
        #expect(test.accuracy >= 0.88, "test accuracy \(test.accuracy)")
        #expect(test.count == 3000 && test.confusion.flatMap { $0 }.reduce(0, +) == 3000)
        #expect(epochs[1].loss < epochs[0].loss)
    }

    @Test func checkpointRoundTripsEverything() throws {
        var c = quickConfiguration(limit: 256, epochs: 2)
        c.optimizer = .adam
        c.learningRate = 1e-3
        let run = try TrainingRun(configuration: c, train: EmbeddedMNIST.train.get(), test: nil)
        try run.trainer.trainEpoch()
        try run.trainer.trainEpoch(maxSteps: 3)
        let url = temporaryURL("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try run.trainer.saveCheckpoint(to: url)
        let read = try DLTrainCheckpoint.read(from: url)
        let written = run.makeCheckpoint()
        #expect(read.configuration == c)
        #expect(read.state == written.state && read.state.epoch == 1 && read.state.batch == 3 && read.state.globalStep == 11)
        #expect(read.inputShape == [1, 28, 28] && read.classCount == 10)
        #expect(bits(read.modelState) == bits(written.modelState))
        #expect(bits(read.optimizerState) == bits(written.optimizerState))
        #expect(read.optimizerState["state.0.exp_avg"]?.shape == [512, 784])
        // The file's plain tensors are exactly the model's state dict (what PyTorch's load_state_dict sees).
        let raw = try SafetensorsFile.read(from: url)
        #expect(Set(raw.tensors.keys.filter { !$0.hasPrefix("__") }) == Set(run.model.stateDict().keys))
        #expect(raw.metadata["strata.model"] == "mlp" && raw.metadata["strata.dataset"] == "mnist")
        let model = try read.makeModel(url: url)
        #expect(bits(model.stateDict()) == bits(written.modelState))
    }

    @Test func aCheckpointThatDoesNotFitItsModelIsRefused() throws {
        let run = try TrainingRun(configuration: quickConfiguration(limit: 64, epochs: 1), train: EmbeddedMNIST.train.get(), test: nil)
        var checkpoint = run.makeCheckpoint()
        checkpoint.configuration.model = .cnn
        let url = temporaryURL("mismatch.safetensors")
        #expect(throws: TrainingError.self) { try checkpoint.makeModel(url: url) }
        checkpoint.configuration.model = .mlp
        checkpoint.modelState["1.weight"] = Tensor.zeros([3, 3])
        do {
            _ = try checkpoint.makeModel(url: url)
            Issue.record("a wrongly shaped weight was accepted")
        } catch let error as TrainingError {
            #expect("\(error)".contains("1.weight") && !"\(error)".contains("\n"))
        }
    }

    @Test func aDataParallelCheckpointResumesInOneProcessAtAnEpochBoundaryOnly() throws {
        var c = quickConfiguration(limit: 320, epochs: 3)
        c.schedule = .cosine
        let train = try EmbeddedMNIST.train.get()
        let run = try TrainingRun(configuration: c, train: train, test: nil)
        var checkpoint = run.makeCheckpoint()
        // As two ranks would save it at the end of epoch 1: their batches are half as many per epoch.
        (checkpoint.state.epoch, checkpoint.state.batch, checkpoint.state.globalStep, checkpoint.state.worldSize) = (1, 0, run.trainLoader.batchesPerEpoch / 2, 2)
        let url = temporaryURL("two-ranks.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try checkpoint.write(to: url)
        let read = try DLTrainCheckpoint.read(from: url)
        #expect(read.state.worldSize == 2)

        let resumed = try TrainingRun(configuration: c, train: train, test: nil)
        try resumed.resume(from: read, url: url)
        // The schedule stands one third of the way through the run, whatever the ranks counted.
        let expected = try TrainingRun(configuration: c, train: train, test: nil)
        for _ in 0..<expected.trainLoader.batchesPerEpoch { expected.schedule?.step() }
        #expect(resumed.trainer.optimizer.learningRate == expected.trainer.optimizer.learningRate)
        #expect(resumed.trainer.state.worldSize == 1 && resumed.trainer.state.epoch == 1)

        // Saved mid-epoch, the position counts the two ranks' batches: one process refuses it, naming both counts.
        checkpoint.state.batch = 2
        try checkpoint.write(to: url)
        let midEpoch = try TrainingRun(configuration: c, train: train, test: nil)
        do {
            try midEpoch.resume(from: DLTrainCheckpoint.read(from: url), url: url)
            Issue.record("a mid-epoch checkpoint of 2 ranks was resumed by 1 process")
        } catch let error as TrainingError {
            guard case .checkpointMismatch = error else { Issue.record("unexpected error \(error)"); return }
            #expect("\(error)".contains("2 process(es)") && "\(error)".contains("not 1"))
        }
        #expect(midEpoch.trainer.state.epoch == 0)
    }

    @Test func resumingIsBitIdenticalToAnUninterruptedRun() throws {
        let threads = Strata.threads
        Strata.threads = 1
        defer { Strata.threads = threads }
        var c = quickConfiguration(limit: 320, epochs: 2)
        c.schedule = .cosine
        c.weightDecay = 1e-4
        let (train, test) = (try EmbeddedMNIST.train.get(), try EmbeddedMNIST.test.get())

        let straight = try TrainingRun(configuration: c, train: train, test: test)
        // The same initial weights for both runs, even if a concurrent test draws from the global generator.
        let initial = straight.model.stateDict().mapValues { $0.clone() }
        _ = try straight.trainer.fit()

        let first = try TrainingRun(configuration: c, train: train, test: test)
        try first.model.loadStateDict(initial)
        try first.trainer.trainEpoch()                 // epoch 1 …
        try first.trainer.trainEpoch(maxSteps: 4)      // … and 4 batches of epoch 2, then "crash"
        let url = temporaryURL("resume.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try first.trainer.saveCheckpoint(to: url)

        let resumed = try TrainingRun(configuration: c, train: train, test: test)
        try resumed.resume(from: DLTrainCheckpoint.read(from: url), url: url)
        #expect(resumed.trainer.state.epoch == 1 && resumed.trainer.state.batch == 4)
        _ = try resumed.trainer.fit()
        #expect(resumed.trainer.state == { var s = straight.trainer.state; s.random = resumed.trainer.state.random; return s }())
        #expect(bits(resumed.model.stateDict()) == bits(straight.model.stateDict()))
        #expect(bits(resumed.trainer.optimizer.stateDict()) == bits(straight.trainer.optimizer.stateDict()))
    }

    @Test func aNaNLossStopsBeforeTheOptimizerStepAndWritesNoCheckpoint() throws {
        Strata.seed(5)
        let linear = Linear(784, 10)
        let injector = NaNInjector(poisonedCall: 3)
        injector.snapshot = { [unowned linear] in linear.weight.scalars(as: Float.self) }
        let model = Sequential { Flatten(); linear; injector }
        #expect(model.parameters().count == 2)
        let run = try TrainingRun(configuration: quickConfiguration(limit: 256, epochs: 1), train: EmbeddedMNIST.train.get(),
                                  test: nil, model: model)
        let trainer = run.trainer
        let url = temporaryURL("nan.safetensors")
        trainer.callbacks.append(ModelCheckpoint(url: url))
        do {
            _ = try trainer.fit()
            Issue.record("training went on past a NaN loss")
        } catch let error as TrainingError {
            guard case .nonFiniteLoss(let value, let epoch, let batch, let step, let rank) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(value.isNaN && epoch == 0 && batch == 2 && step == 3 && rank == nil)
            #expect("\(error)".contains("step 3"))
        }
        // Two steps were taken; the third's update was not applied.
        #expect(trainer.state.globalStep == 2)
        #expect(linear.weight.scalars(as: Float.self) == injector.weightsAtPoison && !injector.weightsAtPoison.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: url.path))
        // A model holding NaN is never checkpointed either.
        linear.weight.copy(from: Tensor.full(linear.weight.shape, .nan))
        #expect(throws: TrainingError.nonFiniteWeights(name: "1.weight")) { try trainer.saveCheckpoint(to: url) }
        #expect(!FileManager.default.fileExists(atPath: url.path))
    }

    @Test(arguments: ["csv", "jsonl"])
    func metricsFilesParse(_ format: String) throws {
        var c = quickConfiguration(limit: 320, epochs: 2)
        c.logEvery = 4
        c.validationSplit = 0.2                            // 256 training examples: 8 steps per epoch
        let run = try TrainingRun(configuration: c, train: EmbeddedMNIST.train.get(), test: nil)
        let url = temporaryURL("metrics.\(format)")
        defer { try? FileManager.default.removeItem(at: url) }
        run.trainer.callbacks.append(try MetricsLogger(url: url, every: c.logEvery))
        _ = try run.trainer.fit()
        run.trainer.callbacks.removeLast()
        let columns = MetricsLogger.columns(for: run.trainer.metrics)
        // dltrain's files keep their columns.
        #expect(columns == ["kind", "epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "elapsed_s"])
        // Steps 4, 8 (epoch 1), 12, 16 (epoch 2), and the two epoch rows.
        let rows = try metricsRows(url, columns: columns)
        #expect(rows.map { $0["kind"]! } == ["step", "step", "epoch", "step", "step", "epoch"])
        #expect(rows.map { Int($0["step"]!)! } == [4, 8, 8, 12, 16, 16])
        #expect(rows.allSatisfy { Double($0["loss"]!)!.isFinite && (0...1).contains(Double($0["accuracy"]!)!) })
        #expect(rows.filter { $0["kind"] == "epoch" }.allSatisfy { Double($0["val_accuracy"]!) != nil })
        #expect(rows.filter { $0["kind"] == "step" }.allSatisfy { $0["val_accuracy"]!.isEmpty })
    }

    /// bench/e2e.py reads dltrain's epoch line with this pattern (STRATA_EPOCH there), so its format is kept.
    @Test func theEpochLineKeepsTheFormatBenchE2EReads() throws {
        let run = try TrainingRun(configuration: quickConfiguration(limit: 128, epochs: 1), train: EmbeddedMNIST.train.get(), test: nil)
        var lines: [String] = []
        run.trainer.callbacks.append(ProgressLogger(every: 2) { lines.append($0) })
        try run.trainer.fit()
        let epoch = try Regex(#"^epoch 1/1: loss (\S+)\s+acc (\S+)%.*\s(\d+(?:\.\d+)?)s\s+(\d+) samples/s"#)
        #expect(lines.contains { $0.wholeMatch(of: epoch) != nil }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("epoch 1/1 step 2/4  loss ") && $0.contains("  acc ") })
    }

    @Test func configurationValidationNamesTheBadValue() {
        var c = TrainingConfiguration()
        c.batchSize = 0
        #expect(throws: DLTrainError.invalidSetting(field: "batchSize", message: "must be from 1 to 1048576, got 0")) { try c.validate() }
        #expect("\(DLTrainError.invalidSetting(field: "batchSize", message: "must be from 1 to 1048576, got 0"))" == "batchSize must be from 1 to 1048576, got 0")
        c.batchSize = 1_048_577
        #expect(throws: DLTrainError.invalidSetting(field: "batchSize", message: "must be from 1 to 1048576, got 1048577")) { try c.validate() }
        c.batchSize = .max
        #expect(throws: DLTrainError.invalidSetting(field: "batchSize", message: "must be from 1 to 1048576, got 9223372036854775807")) { try c.validate() }
        c = TrainingConfiguration()
        c.validationSplit = 1
        #expect(throws: DLTrainError.self) { try c.validate() }
        c = TrainingConfiguration()
        c.learningRate = -1
        #expect(throws: DLTrainError.invalidSetting(field: "learningRate", message: "must be a positive number, got -1.0")) { try c.validate() }
        // A run validates its configuration before anything else.
        c.epochs = 0
        #expect(throws: DLTrainError.invalidSetting(field: "epochs", message: "must be from 1 to 100000, got 0")) {
            try TrainingRun(configuration: c, train: EmbeddedMNIST.train.get(), test: nil)
        }
        // Int.max epochs would overflow the run's step count (epochs × batches per epoch).
        c.epochs = .max
        #expect(throws: DLTrainError.invalidSetting(field: "epochs", message: "must be from 1 to 100000, got 9223372036854775807")) {
            try TrainingRun(configuration: c, train: EmbeddedMNIST.train.get(), test: nil)
        }
    }

    /// What the optimizer holds when the configuration leaves a hyper-parameter out: the preset's recipe for the
    /// recipe's optimizer, else the optimizer's own default (PyTorch's).
    @Test func optimizerHyperParametersComeFromTheFlagsTheRecipeOrTheLibrary() throws {
        let parameters = [Tensor.zeros([2], dtype: .float32)]
        var c = TrainingConfiguration()
        let mlp = try #require(c.makeOptimizer(parameters) as? SGD)
        #expect(mlp.learningRate == 0.05 && mlp.momentum == 0.9 && mlp.groups[0].weightDecay == 0)
        c.momentum = 0.5
        c.learningRate = 0.2
        let given = try #require(c.makeOptimizer(parameters) as? SGD)
        #expect(given.learningRate == 0.2 && given.momentum == 0.5)
        c = TrainingConfiguration()
        c.model = .transformer
        let vit = try #require(c.makeOptimizer(parameters) as? AdamW)
        let defaults = AdamW(parameters)
        #expect(vit.learningRate == defaults.learningRate && vit.groups[0].weightDecay == defaults.groups[0].weightDecay)
        c.model = .lstm
        c.optimizer = .sgd
        let off = try #require(c.makeOptimizer(parameters) as? SGD)
        let sgd = SGD(parameters)
        #expect(off.learningRate == sgd.learningRate && off.momentum == sgd.momentum)
    }
}
