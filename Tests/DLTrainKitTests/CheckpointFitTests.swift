import Foundation
import DLTrainKit
import Strata
import StrataTraining
import TestSupport
import Testing

/// A checkpoint's `strata.input_shape` and `strata.class_count` must be its dataset's: the model is rebuilt for
/// them, and the dataset's examples are what `eval`, `predict` and `--resume` feed it.
@Suite struct CheckpointFitTests {
    private func checkpoint(model: ModelPreset = .mlp, inputShape: [Int], classCount: Int = 10) throws -> URL {
        var configuration = TrainingConfiguration()
        configuration.model = model
        configuration.limit = 64
        let run = try TrainingRun(configuration: configuration, train: EmbeddedMNIST.train.get(), test: nil)
        var saved = run.makeCheckpoint()
        (saved.inputShape, saved.classCount) = (inputShape, classCount)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fit-\(UUID().uuidString).safetensors")
        try saved.write(to: url)
        return url
    }

    @Test(arguments: [(ModelPreset.mlp, [28, 28, 1]), (.transformer, [1, 5, 5]), (.cnn, [1, 9_223_372_036_854_775_807, 28])])
    func anInputShapeThatIsNotTheDatasetsIsRefused(model: ModelPreset, shape: [Int]) throws {
        let url = try checkpoint(model: model, inputShape: shape)
        defer { try? FileManager.default.removeItem(at: url) }
        let text = shape.map(String.init).joined(separator: ",")
        #expect(throws: DLTrainError.invalidCheckpoint(url, reason: "metadata strata.input_shape = '\(text)' is not mnist's C,H,W = 1,28,28")) {
            try DLTrainCheckpoint.read(from: url)
        }
    }

    @Test func aClassCountThatIsNotTheDatasetsIsRefused() throws {
        let url = try checkpoint(inputShape: [1, 28, 28], classCount: 3)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(throws: DLTrainError.invalidCheckpoint(url, reason: "metadata strata.class_count = '3' is not mnist's 10")) {
            try DLTrainCheckpoint.read(from: url)
        }
        let fits = try checkpoint(inputShape: [1, 28, 28])
        defer { try? FileManager.default.removeItem(at: fits) }
        #expect(try DLTrainCheckpoint.read(from: fits).makeModel(url: fits) is Sequential)
    }
}
