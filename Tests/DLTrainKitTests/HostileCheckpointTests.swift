import DLTrainKit
import Foundation
import Strata
import StrataTraining
import Testing

/// Checkpoints that are well-formed safetensors files but hold a position, metadata or state that is wrong: the
/// classes the fuzz harness (Tests/StrataFuzz) found crashing or silently accepted, refused through the library
/// with an error naming the file and the bad entry. Tests/DLTrainTests/HostileInputCLITests.swift runs the same
/// classes through dltrain.
@Suite struct HostileCheckpointTests {
    /// A checkpoint of one epoch of a small model with a BatchNorm, trained with Adam, as tensors and metadata.
    static let original: (tensors: [String: Tensor], metadata: [String: String]) = {
        var c = TrainingConfiguration()
        c.modelSpec = #"{"nodes":[{"op":"avgpool2d","kernel_size":7},{"op":"flatten"},{"name":"fc1","op":"linear","in_features":16,"out_features":8},{"name":"bn","op":"batchnorm1d","num_features":8},{"op":"relu"},{"name":"fc2","op":"linear","in_features":8,"out_features":10}]}"#
        (c.optimizer, c.batchSize, c.epochs, c.limit, c.logEvery) = (.adam, 16, 2, 64, 0)
        do {
            let mnist = try MNIST(directory: EmbeddedData.mnistDirectory, split: .train)
            let run = try TrainingRun(configuration: c, train: AnyDataset(DatasetSubset(mnist, indices: Array(0..<64))), test: nil)
            try run.trainer.trainEpoch()
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).safetensors")
            defer { try? FileManager.default.removeItem(at: url) }
            try run.makeCheckpoint().write(to: url)
            let file = try SafetensorsFile.read(from: url)
            return (file.tensors, file.metadata)
        } catch {
            fatalError("the base checkpoint could not be made: \(error)")
        }
    }()

    /// Writes the original checkpoint with `edit` applied; returns its URL (removed by the caller).
    static func write(_ edit: (inout [String: Tensor], inout [String: String]) -> Void) throws -> URL {
        var (tensors, metadata) = original
        edit(&tensors, &metadata)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-\(UUID().uuidString).safetensors")
        try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: url)
        return url
    }

    /// Reads, builds and resumes `url` as eval, predict and `train --resume` do; returns the error's text.
    static func refusal(_ url: URL, sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do {
            let saved = try DLTrainCheckpoint.read(from: url)
            _ = try saved.makeModel(url: url)
            let mnist = try MNIST(directory: EmbeddedData.mnistDirectory, split: .train)
            let run = try TrainingRun(configuration: saved.configuration, train: AnyDataset(DatasetSubset(mnist, indices: Array(0..<64))), test: nil)
            try run.resume(from: saved, url: url)
            Issue.record("accepted", sourceLocation: sourceLocation)
            return ""
        } catch {
            let text = "\(error)"
            #expect(text.contains(url.path), "the error does not name the file: \(text)", sourceLocation: sourceLocation)
            return text
        }
    }

    @Test func theUneditedCheckpointLoadsAndResumes() throws {
        let url = try Self.write { _, _ in }
        defer { try? FileManager.default.removeItem(at: url) }
        let saved = try DLTrainCheckpoint.read(from: url)
        _ = try saved.makeModel(url: url)
    }

    @Test(arguments: ["strata.epoch", "strata.global_step", "strata.seen", "strata.batch", "strata.world_size", "strata.correct"])
    func aCountNearIntMaxIsRefusedNamingTheKey(_ key: String) throws {
        for value in ["9223372036854775807", "9223372036854775806", "9007199254740993", "-1", "+5", "1e300", ""] {
            let url = try Self.write { _, meta in meta[key] = value }
            defer { try? FileManager.default.removeItem(at: url) }
            let text = Self.refusal(url)
            #expect(text.contains(key) && text.contains("'\(value)'"), "\(key) = \(value): \(text)")
        }
    }

    @Test func aNonFiniteLossSumGeneratorOrMetricIsRefused() throws {
        let edits: [(String, String, String)] = [("strata.loss_sum", "NaN", "strata.loss_sum"), ("strata.loss_sum", "inf", "strata.loss_sum"),
                                                 ("strata.rng", "0,0,0,0", "strata.rng"), ("strata.rng", "1,2,3", "strata.rng"),
                                                 ("strata.metric.accuracy", "inf,3", "strata.metric.accuracy"),
                                                 ("strata.metric.accuracy", "1,1e300", "strata.metric.accuracy")]
        for (key, value, named) in edits {
            let url = try Self.write { _, meta in meta[key] = value }
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(Self.refusal(url).contains(named), "\(key) = \(value)")
        }
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func aNonFiniteWeightIsRefusedNamingTheTensor(_ value: Double) throws {
        let url = try Self.write { tensors, _ in
            var values = tensors["fc2.weight"]!.toDoubles()
            values[3] = value
            tensors["fc2.weight"] = Tensor(values, shape: tensors["fc2.weight"]!.shape)
        }
        defer { try? FileManager.default.removeItem(at: url) }
        let text = Self.refusal(url)
        #expect(text.contains("fc2.weight") && text.contains("finite"), "\(text)")
    }

    @Test func aFloat64WeightThatOverflowsFloat32IsRefused() throws {
        let url = try Self.write { tensors, _ in
            var values = tensors["fc2.weight"]!.toDoubles()
            values[0] = 1e300
            tensors["fc2.weight"] = Tensor(values, shape: tensors["fc2.weight"]!.shape).to(.float64)
        }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(Self.refusal(url).contains("fc2.weight"))
    }

    @Test(arguments: [(Double.nan, DType.float32), (1e300, .float64), (9.3e18, .float64), (1.5, .float32)])
    func aBatchNormCountThatIsNotAWholeNumberIsRefused(_ value: Double, _ dtype: DType) throws {
        let url = try Self.write { tensors, _ in tensors["bn.num_batches_tracked"] = Tensor([value], shape: []).to(dtype) }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(Self.refusal(url).contains("bn.num_batches_tracked"))
    }

    @Test func aBatchNormCountOfInt64MaxIsRefused() throws {
        let url = try Self.write { tensors, _ in tensors["bn.num_batches_tracked"] = Tensor([Int64.max], shape: []) }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(Self.refusal(url).contains("bn.num_batches_tracked"))
    }

    @Test func anOptimizerStepOrRateThatIsNotACountIsRefused() throws {
        let o = Checkpoint.optimizerPrefix
        let edits: [(String, Tensor)] = [
            ("state.0.step", Tensor([Double.nan], shape: [])), ("state.0.step", Tensor([1e300], shape: []).to(.float64)),
            ("state.0.step", Tensor([-1], shape: [])), ("state.0.step", Tensor([1.5], shape: [])),
            ("state.0.step", Tensor([Int64.max], shape: [])), ("state.0.step", Tensor([Int64(1), 2], shape: [2])),
            ("param_groups.0.lr", Tensor([-1], shape: []).to(.float64)), ("param_groups.0.lr", Tensor([0.1, 0.2], shape: [2])),
            ("state.0.exp_avgx", Tensor.zeros([8, 16])), ("state.0.exp_avg", Tensor.zeros([16, 8])),
            ("state.99.step", Tensor([Int64(1)], shape: [])), ("state.01.step", Tensor([Int64(1)], shape: [])),
            ("bogus", Tensor([Int64(1)], shape: [])),
        ]
        for (key, tensor) in edits {
            let url = try Self.write { tensors, _ in tensors[o + key] = tensor }
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(Self.refusal(url).contains(key), "\(key)")
        }
        let missing = try Self.write { tensors, _ in tensors[o + "state.0.exp_avg"] = nil }
        defer { try? FileManager.default.removeItem(at: missing) }
        #expect(Self.refusal(missing).contains("state.0.exp_avg"))
    }

    @Test(arguments: ["28,28,1", "1,5,5", "1,28,28,1", "1,9223372036854775807,28", "3,32,32"])
    func anInputShapeThatIsNotTheDatasetsIsRefused(_ shape: String) throws {
        let url = try Self.write { _, meta in meta["strata.input_shape"] = shape }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(Self.refusal(url).contains("strata.input_shape = '\(shape)'"))
    }

    @Test func aClassCountModelOrDatasetThatIsNotTheConfigurationsIsRefused() throws {
        for (key, value) in [("strata.class_count", "9223372036854775807"), ("strata.class_count", "11"), ("strata.model", "cnn"),
                             ("strata.dataset", "cifar10")] {
            let url = try Self.write { _, meta in meta[key] = value }
            defer { try? FileManager.default.removeItem(at: url) }
            #expect(Self.refusal(url).contains(key), "\(key) = \(value)")
        }
    }

    @Test func aMidEpochPositionWhoseTotalsDoNotMatchItsBatchesIsRefused() throws {
        let url = try Self.write { _, meta in
            (meta["strata.batch"], meta["strata.seen"], meta["strata.loss_sum"]) = ("2", "5", "3.5")
            meta["strata.metric.accuracy"] = "1,5"
        }
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(Self.refusal(url).contains("5 examples"))
        let boundary = try Self.write { _, meta in meta["strata.seen"] = "7" }
        defer { try? FileManager.default.removeItem(at: boundary) }
        #expect(Self.refusal(boundary).contains("epoch-boundary"))
    }
}
