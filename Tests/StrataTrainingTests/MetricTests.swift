import Foundation
import Strata
import StrataTraining
import TestSupport
import Testing

private func batch(_ targets: Tensor) -> Batch {
    Batch(inputs: Tensor.zeros([targets.shape.first ?? 1, 1]), targets: targets, epoch: 0, index: 0)
}

@Suite struct MetricTests {
    @Test func accuracyAndTopKCountTheTargetsAmongTheBestLogits() {
        // Three samples over four classes; targets 2, 0, 3. Ranks of the target: 1st, 3rd, 2nd.
        let logits = Tensor([0.1, 0.2, 0.9, 0.0,
                             0.3, 0.5, 0.4, 0.1,
                             0.2, 0.1, 0.3, 0.6 - 0.35] as [Double], shape: [3, 4])
        let b = batch(Tensor([2, 0, 3] as [Int64]))
        #expect(Accuracy().measure(logits, b) == MetricTotals(sum: 1, count: 3))
        #expect(TopKAccuracy(k: 2).measure(logits, b) == MetricTotals(sum: 2, count: 3))
        #expect(TopKAccuracy(k: 3).measure(logits, b) == MetricTotals(sum: 3, count: 3))
        #expect(TopKAccuracy(k: 5).name == "top5_accuracy" && Accuracy().value(MetricTotals(sum: 1, count: 4)) == 0.25)
        // Leading dims beyond the batch (a sequence model's [B, T, V] against [B, T]) count every position.
        let sequence = logits.reshaped([1, 3, 4])
        #expect(Accuracy().measure(sequence, batch(Tensor([2, 0, 3] as [Int64], shape: [1, 3]))) == MetricTotals(sum: 1, count: 3))
        #expect(Accuracy().format(0.97125) == "97.12%" || Accuracy().format(0.97125) == "97.13%")
    }

    @Test func regressionErrorsAreMeansOverEveryElement() {
        let output = Tensor([1, 2, 3, 4] as [Float], shape: [2, 2])
        let b = batch(Tensor([1.5, 2, 1, 4] as [Float], shape: [2, 2]))
        // Differences 0.5, 0, −2, 0: squared sum 4.25, absolute sum 2.5, over 4 elements.
        #expect(MeanSquaredError().measure(output, b) == MetricTotals(sum: 4.25, count: 4))
        #expect(MeanAbsoluteError().measure(output, b) == MetricTotals(sum: 2.5, count: 4))
        #expect(MeanSquaredError().value(MetricTotals(sum: 4.25, count: 4)) == 1.0625)
        #expect(MeanSquaredError().value(MetricTotals()).isNaN)
    }

    @Test func perplexityIsTheExponentialOfTheMeanTokenLoss() {
        // Uniform logits over V classes: every token costs ln V, so the perplexity is V.
        let uniform = Tensor.zeros([2, 3, 7])
        let targets = Tensor([0, 1, 2, 3, 4, 5] as [Int64], shape: [2, 3])
        let totals = Perplexity().measure(uniform, batch(targets))
        #expect(totals.count == 6 && abs(totals.sum - 6 * log(7.0)) < 1e-5)
        #expect(abs(Perplexity().value(totals) - 7) < 1e-5)
        // Totals of two halves give the value of the whole.
        let half = Perplexity().measure(uniform.slice(0, 0..<1), batch(targets.slice(0, 0..<1)))
        #expect(abs(Perplexity().value(half + half) - 7) < 1e-5)
    }
}

@Suite struct CheckpointTests {
    @Test func aCheckpointRoundTripsItsPositionTotalsMetadataAndTensors() throws {
        var state = TrainingState()
        (state.epoch, state.batch, state.globalStep, state.worldSize, state.lossSum, state.seen) = (2, 5, 37, 2, 12.625, 80)
        state.metricTotals = ["accuracy": MetricTotals(sum: 61, count: 80), "perplexity": MetricTotals(sum: 0.1 + 0.2, count: 2560)]
        state.random = RandomGenerator(seed: 99)
        let checkpoint = Checkpoint(state: state, modelState: ["w": Tensor([1, 2, 3] as [Float])],
                                    optimizerState: ["state.0.step": Tensor([4] as [Int64], shape: [])],
                                    metadata: ["app.note": "kept", "app.json": #"{"a": [1, 2]}"#])
        let url = temporaryURL("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try checkpoint.write(to: url)
        let read = try Checkpoint.read(from: url)
        #expect(read.state == state && read.metadata == checkpoint.metadata)
        #expect(bits(read.modelState) == bits(checkpoint.modelState) && bits(read.optimizerState) == bits(checkpoint.optimizerState))
        // The file: the model under its own names, the optimizer prefixed, the position in the metadata.
        let file = try SafetensorsFile.read(from: url)
        #expect(Set(file.tensors.keys) == ["w", "__optimizer__.state.0.step"])
        #expect(file.metadata["strata.format"] == "dltrain-checkpoint-1" && file.metadata["strata.metric.accuracy"] == "61.0,80.0")
    }

    @Test func aFileWithoutAValidPositionIsRefusedNamingTheEntry() throws {
        let url = temporaryURL("bad.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try Safetensors.save(["w": Tensor.zeros([2])], to: url)
        #expect(throws: TrainingError.self) { try Checkpoint.read(from: url) }
        var metadata = Checkpoint(state: TrainingState(), modelState: [:], optimizerState: [:]).fileMetadata
        for (key, bad) in [("strata.epoch", "-1"), ("strata.rng", "1,2,3"), ("strata.metric.mse", "1;2"), ("strata.loss_sum", "x")] {
            let good = metadata[key]
            metadata[key] = bad
            try Safetensors.save(["w": Tensor.zeros([2])], metadata: metadata, to: url)
            do {
                _ = try Checkpoint.read(from: url)
                Issue.record("\(key) = \(bad) was accepted")
            } catch let error as TrainingError {
                #expect("\(error)".contains(key) && "\(error)".contains(url.path), "\(error)")
            }
            metadata[key] = good
        }
    }
}
