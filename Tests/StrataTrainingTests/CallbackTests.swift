import Foundation
import Strata
import StrataTraining
import TestSupport
import Testing


/// A linear model on `regressionData`, `epochs` epochs of 4 batches.
private func makeTrainer(epochs: Int, learningRate: Double = 0.01, validation: Bool = true,
                         callbacks: [any TrainingCallback]) throws -> Trainer {
    Strata.seed(3)
    let model = Linear(3, 1)
    return try Trainer(model: model, loss: mse, optimizer: SGD(model.parameters(), learningRate: learningRate),
                       train: DataLoader(regressionData(64, seed: 1), batchSize: 16, shuffle: true, seed: 1),
                       validation: validation ? DataLoader(regressionData(32, seed: 2), batchSize: 32) : nil,
                       metrics: [MeanSquaredError(), MeanAbsoluteError()], epochs: epochs, callbacks: callbacks)
}

@Suite(.serialized) struct CallbackTests {
    @Test func callbacksSeeEveryStageInOrder() throws {
        let recorder = EventRecorder()
        let url = temporaryURL("every.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let trainer = try makeTrainer(epochs: 2, callbacks: [recorder, ModelCheckpoint(url: url)])
        try trainer.fit()
        let epoch = { (e: Int) in ["start \(e):0"] + (1...4).map { "step \(4 * e + $0)" } + ["end \(e)", "saved \(url.lastPathComponent)"] }
        #expect(recorder.events == epoch(0) + epoch(1))
        try trainer.resume(from: Checkpoint.read(from: url), url: url)
        #expect(recorder.events.last == "restore 2:0")
    }

    @Test func earlyStoppingEndsTheRunAfterPatienceEpochsWithoutImprovement() throws {
        // With an improvement threshold no epoch can beat, epoch 1 sets the best and epochs 2 and 3 exhaust a patience of 1.
        let stopping = EarlyStopping(monitor: .minimum("val_loss"), patience: 1, minDelta: 1e9)
        let trainer = try makeTrainer(epochs: 10, callbacks: [stopping])
        let records = try trainer.fit()
        #expect(records.count == 3 && trainer.state.epoch == 3 && trainer.shouldStop)
        #expect(stopping.best == records[0].validation?.loss && stopping.epochsWithoutImprovement == 2)
        // A run that improves every epoch is not stopped: the training loss of a linear fit falls monotonically here.
        let patient = EarlyStopping(monitor: .minimum("loss"), patience: 0)
        let full = try makeTrainer(epochs: 4, callbacks: [patient])
        #expect(try full.fit().count == 4 && patient.epochsWithoutImprovement == 0)
        // Without validation, `val_loss` is never there and nothing stops.
        let blind = try makeTrainer(epochs: 3, validation: false, callbacks: [EarlyStopping(monitor: .minimum("val_loss"), patience: 0)])
        #expect(try blind.fit().count == 3)
    }

    @Test func aMonitoredCheckpointIsWrittenOnlyWhenTheValueImproves() throws {
        let url = temporaryURL("best.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let recorder = EventRecorder()
        // The training loss falls every epoch, so "the largest loss" improves only at epoch 1.
        let trainer = try makeTrainer(epochs: 3, callbacks: [ModelCheckpoint(url: url, monitor: .maximum("loss")), recorder])
        let records = try trainer.fit()
        #expect(records[2].loss < records[1].loss && records[1].loss < records[0].loss)
        #expect(recorder.events.filter { $0.hasPrefix("saved") }.count == 1)
        #expect(try Checkpoint.read(from: url).state.epoch == 1)
    }

    @Test func aScheduleStepsPerStepOrPerEpochAndIsRestored() throws {
        let perEpoch = try makeTrainer(epochs: 3, learningRate: 0.08, callbacks: [])
        let halving = StepSchedule(perEpoch.optimizer, stepSize: 1, gamma: 0.5)
        perEpoch.callbacks = [LearningRateScheduler(halving, interval: .epoch)]
        let records = try perEpoch.fit()
        // Each record holds the rate its epoch trained with; the schedule steps after it.
        #expect(records.map(\.learningRate) == [0.08, 0.04, 0.02] && perEpoch.optimizer.learningRate == 0.01)
        let perStep = try makeTrainer(epochs: 1, learningRate: 0.08, callbacks: [])
        let steps = StepSchedule(perStep.optimizer, stepSize: 2, gamma: 0.5)
        perStep.callbacks = [LearningRateScheduler(steps)]
        try perStep.fit()
        #expect(steps.stepCount == 4 && perStep.optimizer.learningRate == 0.02)
    }

    @Test func theProgressLoggerPrintsStepEpochAndCheckpointLines() throws {
        var lines: [String] = []
        let url = temporaryURL("progress.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        let trainer = try makeTrainer(epochs: 2, callbacks: [ProgressLogger(every: 3) { lines.append($0) }, ModelCheckpoint(url: url)])
        try trainer.fit()
        // Steps 3 and 6 of 8; each epoch's line, then its checkpoint's.
        #expect(lines.count == 2 + 2 * 2, "\(lines)")
        #expect(lines[0].hasPrefix("epoch 1/2 step 3/4  loss ") && lines[0].contains("  mse ") && lines[0].contains("  mae ") && lines[0].contains("ETA"))
        #expect(lines[1].hasPrefix("epoch 1/2: loss ") && lines[1].contains("  val_loss ") && lines[1].contains("  val_mae "))
        #expect(lines[2] == "  checkpoint written: \(url.path)")
        #expect(lines[3].hasPrefix("epoch 2/2 step 2/4"))
    }

    @Test(arguments: ["csv", "jsonl"])
    func metricsFilesHoldStepAndEpochRows(_ format: String) throws {
        let url = temporaryURL("metrics.\(format)")
        defer { try? FileManager.default.removeItem(at: url) }
        var logger: MetricsLogger? = try MetricsLogger(url: url, every: 2)
        let trainer = try makeTrainer(epochs: 2, callbacks: [logger!])
        try trainer.fit()
        (trainer.callbacks, logger) = ([], nil)   // closes the file
        let columns = ["kind", "epoch", "step", "loss", "mse", "mae", "val_loss", "val_mse", "val_mae", "lr", "elapsed_s"]
        #expect(MetricsLogger.columns(for: trainer.metrics) == columns)
        let rows = try metricsRows(url, columns: columns)
        #expect(rows.map { $0["kind"]! } == ["step", "step", "epoch", "step", "step", "epoch"])
        #expect(rows.map { Int($0["step"]!)! } == [2, 4, 4, 6, 8, 8] && rows.map { Int($0["epoch"]!)! } == [1, 1, 1, 2, 2, 2])
        #expect(rows.allSatisfy { Double($0["loss"]!)!.isFinite && Double($0["mae"]!)! >= 0 })
        #expect(rows.filter { $0["kind"] == "epoch" }.allSatisfy { Double($0["val_mse"]!) != nil })
        #expect(rows.filter { $0["kind"] == "step" }.allSatisfy { $0["val_mse"]!.isEmpty })
        // Appending (a resumed run) adds rows without a second header.
        let more = try MetricsLogger(url: url, every: 0, append: true)
        try makeTrainer(epochs: 1, callbacks: [more]).fit()
        #expect(try metricsRows(url, columns: columns).count == rows.count + 1)
    }

    @Test func aMetricsFileInAMissingDirectoryIsRefusedNamingIt() {
        let url = URL(fileURLWithPath: "/nonexistent/strata/metrics.csv")
        #expect(throws: TrainingError.self) { try MetricsLogger(url: url, every: 1) }
        do { _ = try MetricsLogger(url: url, every: 1) } catch { #expect("\(error)".contains(url.path)) }
    }
}
