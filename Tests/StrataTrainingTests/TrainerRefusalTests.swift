import Foundation
import Strata
import StrataTraining
import Testing

/// A layer without a shape rule (it does not conform to `ShapeInferring`): the identity.
private final class Opaque: Layer {
    func callAsFunction(_ input: Tensor) -> Tensor { input }
}

/// What the trainer refuses before the first step, each a typed error instead of a trap in `backward` or in
/// batch normalisation.
@Suite struct TrainerRefusalTests {
    private func message(_ body: () throws -> Trainer) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func aModelWithoutTrainableParametersIsRefusedBeforeBackward() throws {
        let loader = DataLoader(regressionData(8, seed: 1), batchSize: 4)
        let frozen = Linear(3, 1)
        frozen.freeze()
        for model in [Sequential { ReLU() }, frozen] as [any Layer] {
            let text = message {
                try Trainer(model: model, loss: mse, optimizer: SGD(model.trainableParameters(), learningRate: 0.1), train: loader, epochs: 1)
            }
            #expect(text?.contains("no trainable parameters") == true, "\(type(of: model)): \(text ?? "accepted")")
        }
    }

    /// A BatchNorm layer trains on each batch's own statistics, which one example cannot give (PyTorch raises
    /// "Expected more than 1 value per channel when training"): a loader whose last batch holds one example is
    /// refused, naming the batch; dropping that batch is the remedy the message gives, and it trains.
    @Test func batchNormWithATrainingBatchOfOneIsRefusedBeforeTheFirstStep() throws {
        let data = regressionData(9, seed: 2)
        func make(_ loader: DataLoader<TensorDataset>) throws -> Trainer {
            let model = Sequential { Linear(3, 4); BatchNorm1d(4); Linear(4, 1) }
            return try Trainer(model: model, loss: mse, optimizer: SGD(model.parameters(), learningRate: 0.01), train: loader, epochs: 1)
        }
        let lastOfOne = message { try make(DataLoader(data, batchSize: 4)) }   // 4 + 4 + 1
        #expect(lastOfOne?.contains("batch 3 of every epoch holds 1") == true, "\(lastOfOne ?? "accepted")")
        #expect(lastOfOne?.contains("dropLast") == true)
        let single = message { try make(DataLoader(TensorDataset(inputs: Tensor.normal([1, 3]), targets: Tensor.normal([1, 1])), batchSize: 4)) }
        #expect(single?.contains("holds 1") == true, "\(single ?? "accepted")")
        let dropped = try make(DataLoader(data, batchSize: 4, dropLast: true))
        let records = try dropped.fit()
        #expect(records.count == 1 && records[0].loss.isFinite)
    }

    @Test func aStepCountThatOverflowsIsRefused() throws {
        let model = Linear(3, 1)
        let loader = DataLoader(regressionData(8, seed: 1), batchSize: 4)   // 2 batches per epoch
        let text = message {
            try Trainer(model: model, loss: mse, optimizer: SGD(model.parameters(), learningRate: 0.1), train: loader, epochs: .max)
        }
        #expect(text == "\(TrainingError.invalidConfiguration("9223372036854775807 epochs of 2 batches is more steps than fit in Int"))")
    }

    /// The model's shape rule is asked about the first batch before training: inputs it cannot take are a typed
    /// error naming the layer, not a `require` in the first forward pass. A layer without a rule is not refused.
    @Test func inputsTheShapeRuleRefusesAreFoundBeforeTheFirstForwardPass() throws {
        let loader = DataLoader(regressionData(8, seed: 1), batchSize: 4)   // inputs [4, 3]
        let wrong = Sequential { Linear(5, 1) }
        do {
            _ = try Trainer(model: wrong, loss: mse, optimizer: SGD(wrong.parameters(), learningRate: 0.1), train: loader, epochs: 1)
            Issue.record("a Linear(5, 1) was accepted for inputs [4, 3]")
        } catch TrainingError.modelDoesNotFit(let error) {
            #expect(error.layer == "Linear" && error.path == "0" && error.input == [4, 3] && error.argument == "in_features")
        }
        let indices = DataLoader(TensorDataset(inputs: Tensor.normal([4, 3]), targets: Tensor.normal([4, 1])), batchSize: 2)
        let embedding = Sequential { Embedding(10, 2); Flatten(); Linear(6, 1) }
        do {
            _ = try Trainer(model: embedding, loss: mse, optimizer: SGD(embedding.parameters(), learningRate: 0.1), train: indices, epochs: 1)
            Issue.record("an Embedding was accepted for float inputs")
        } catch TrainingError.modelDoesNotFit(let error) {
            #expect(error.kind == .dtype && error.layer == "Embedding")
        }
        let opaque = Sequential { Opaque(); Linear(3, 1) }
        let trainer = try Trainer(model: opaque, loss: mse, optimizer: SGD(opaque.parameters(), learningRate: 0.1), train: loader, epochs: 1)
        #expect(try trainer.fit().count == 1)
    }
}
