import DLTrainKit
import Foundation
import Strata
import StrataTraining

/// dltrain checkpoints through the checkpoint readers, the model's and the optimizer's `loadStateDict` and
/// `Trainer.resume` (then one training step), and through `dltrain info`, `eval`, `predict` and
/// `train --resume`; judged by Reference/ReferenceCheckpoint.swift against the run of the seed it came from
/// (kept beside it in the case as `seed.safetensors`).
///
/// Mutations that turn `strata.config` into another valid configuration are left out (`admits`): the ranges of a
/// configuration are the CLI-number target's, and a different configuration is a different run.
struct CheckpointTarget: FuzzTarget {
    let name = "checkpoint"
    let checks = ["inspect", "load", "resume"]
    static let file = "checkpoint.safetensors", seedFile = "seed.safetensors"
    /// The training examples of every seed run: the first 64 of the embedded MNIST.
    static let examples = 64

    /// A model spec with a BatchNorm (an int64 buffer) and one without.
    static let batchNormSpec = #"{"nodes":[{"op":"avgpool2d","kernel_size":7},{"op":"flatten"},{"name":"fc1","op":"linear","in_features":16,"out_features":8},{"name":"bn","op":"batchnorm1d","num_features":8},{"op":"relu"},{"name":"fc2","op":"linear","in_features":8,"out_features":10}]}"#
    static let linearSpec = #"{"nodes":[{"op":"avgpool2d","kernel_size":7},{"op":"flatten"},{"name":"fc","op":"linear","in_features":16,"out_features":10}]}"#

    static func configuration(spec: String, optimizer: OptimizerKind, batchSize: Int) -> TrainingConfiguration {
        var c = TrainingConfiguration()
        (c.modelSpec, c.optimizer, c.batchSize, c.epochs, c.limit, c.logEvery) = (spec, optimizer, batchSize, 2, examples, 0)
        if optimizer == .sgd { c.momentum = 0.9 }
        return c
    }

    /// The 64 training examples (loaded once per process).
    static let trainingSet: AnyDataset = {
        do {
            let mnist = try MNIST(directory: EmbeddedData.mnistDirectory, split: .train)
            return AnyDataset(DatasetSubset(mnist, indices: Array(0..<examples)))
        } catch {
            fatalError("strata-fuzz: the embedded MNIST does not load: \(error)")
        }
    }()

    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase] {
        var cases: [FuzzCase] = []
        let runs: [(String, TrainingConfiguration)] = [
            ("batchnorm adam", Self.configuration(spec: Self.batchNormSpec, optimizer: .adam, batchSize: 16)),
            ("linear sgd", Self.configuration(spec: Self.linearSpec, optimizer: .sgd, batchSize: 32)),
            ("batchnorm adamw", Self.configuration(spec: Self.batchNormSpec, optimizer: .adamw, batchSize: 16)),
        ]
        for (note, configuration) in runs {
            let run = try TrainingRun(configuration: configuration, train: Self.trainingSet, test: nil)
            try run.trainer.trainEpoch()
            let boundary = try written(run.makeCheckpoint())
            _ = try run.trainer.trainEpoch(maxSteps: 1)
            let midEpoch = try written(run.makeCheckpoint())
            cases.append(FuzzCase([Self.file: boundary, Self.seedFile: boundary], origin: "seed: \(note), epoch boundary"))
            cases.append(FuzzCase([Self.file: midEpoch, Self.seedFile: midEpoch], origin: "seed: \(note), mid-epoch"))
        }
        return cases
    }

    private func written(_ checkpoint: DLTrainCheckpoint) throws -> [UInt8] {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fuzz-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try checkpoint.write(to: url)
        return [UInt8](try Data(contentsOf: url))
    }

    // MARK: Hostile cases

    /// One edit of a checkpoint's tensors and metadata.
    typealias Edit = (inout [String: Tensor], inout [String: String]) -> Void

    static func setMetadata(_ key: String, _ value: String?) -> Edit { { _, meta in meta[key] = value } }

    /// The first element of `name` set to `value`, stored as `dtype`.
    static func setFirst(_ name: String, _ value: Double, as dtype: DType? = nil) -> Edit {
        { tensors, _ in
            guard let t = tensors[name] else { return }
            var values = t.toDoubles()
            if !values.isEmpty { values[0] = value }
            let target = dtype ?? t.dtype
            tensors[name] = target == .int64 && !value.isFinite ? t : Tensor(values, shape: t.shape).to(target)
        }
    }

    static func replace(_ name: String, with tensor: Tensor) -> Edit { { tensors, _ in tensors[name] = tensor } }

    static func rename(_ name: String, to newName: String) -> Edit {
        { tensors, _ in
            guard let t = tensors.removeValue(forKey: name) else { return }
            tensors[newName] = t
        }
    }

    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] {
        let numbers = ["9223372036854775807", "9223372036854775806", "9007199254740992", "9007199254740993", "2147483648",
                       "-1", "1e300", "NaN", "+5", "", "18446744073709551616", "0x10", " 3", "3.0"]
        var edits: [(String, Edit)] = []
        for key in ["strata.epoch", "strata.batch", "strata.global_step", "strata.seen", "strata.world_size", "strata.correct"] {
            for value in numbers { edits.append(("\(key) = '\(value)'", Self.setMetadata(key, value))) }
        }
        for key in ["strata.epoch", "strata.batch", "strata.global_step", "strata.seen", "strata.loss_sum", "strata.rng",
                    "strata.format", "strata.config", "strata.input_shape", "strata.class_count"] {
            edits.append(("no \(key)", Self.setMetadata(key, nil)))
        }
        for value in ["NaN", "inf", "-inf", "1e309", "abc", "0x1p3", "-2.5"] {
            edits.append(("strata.loss_sum = '\(value)'", Self.setMetadata("strata.loss_sum", value)))
        }
        for value in ["1,2,3", "0,0,0,0", "1,,2,3,4", "1,x,2,3", "18446744073709551616,1,2,3", "-1,2,3,4", "1,2,3,4,5", "+1,2,3,4"] {
            edits.append(("strata.rng = '\(value)'", Self.setMetadata("strata.rng", value)))
        }
        for value in ["1,NaN", "1e300,5", "5,-1", "5", "5,9223372036854775807", "inf,3", "2,3,4", ","] {
            edits.append(("strata.metric.accuracy = '\(value)'", Self.setMetadata("strata.metric.accuracy", value)))
        }
        edits.append(("strata.metric.bogus", Self.setMetadata("strata.metric.bogus", "1,2")))
        edits.append(("strata.metric. (no name)", Self.setMetadata("strata.metric.", "1,2")))
        for value in ["28,28,1", "1,5,5", "1,28,28,1", "1,-28,28", "1,9223372036854775807,28", "3,32,32", "1,28,28,"] {
            edits.append(("strata.input_shape = '\(value)'", Self.setMetadata("strata.input_shape", value)))
        }
        for value in ["0", "11", "100", "9223372036854775807", "-10"] {
            edits.append(("strata.class_count = '\(value)'", Self.setMetadata("strata.class_count", value)))
        }
        edits.append(("strata.format = dltrain-checkpoint-2", Self.setMetadata("strata.format", "dltrain-checkpoint-2")))
        edits.append(("strata.model = cnn", Self.setMetadata("strata.model", "cnn")))
        edits.append(("strata.dataset = cifar10", Self.setMetadata("strata.dataset", "cifar10")))

        // Weights.
        for (name, value) in [("fc2.weight", Double.nan), ("fc2.weight", .infinity), ("fc.weight", -.infinity), ("fc1.bias", .nan)] {
            edits.append(("\(name)[0] = \(value)", Self.setFirst(name, value)))
        }
        edits.append(("fc2.weight as F64 holding 1e300", Self.setFirst("fc2.weight", 1e300, as: .float64)))
        edits.append(("fc.weight as F64 holding 1e300", Self.setFirst("fc.weight", 1e300, as: .float64)))
        edits.append(("fc2.weight as F64 (finite)", Self.setFirst("fc2.weight", 0.5, as: .float64)))
        edits.append(("fc2.bias as I64", Self.setFirst("fc2.bias", 3, as: .int64)))
        edits.append(("fc2.bias as BOOL", Self.setFirst("fc2.bias", 1, as: .bool)))
        edits.append(("fc2.weight reshaped", { tensors, _ in tensors["fc2.weight"] = tensors["fc2.weight"]?.reshaped([-1]) }))
        edits.append(("no fc2.bias", { tensors, _ in tensors["fc2.bias"] = nil }))
        edits.append(("an extra model tensor", Self.replace("extra.weight", with: Tensor.zeros([2]))))
        for (value, dtype) in [(Double.nan, DType.float32), (1e300, .float64), (1.5, .float32), (3, .float32), (-1, .int64),
                               (9007199254740994, .int64), (-9007199254740994, .float64), (9.3e18, .float64)] {
            edits.append(("bn.num_batches_tracked = \(value) as \(dtype)", Self.setFirst("bn.num_batches_tracked", value, as: dtype)))
        }
        edits.append(("bn.num_batches_tracked = Int64.max", Self.replace("bn.num_batches_tracked", with: Tensor([Int64.max], shape: []))))
        edits.append(("bn.num_batches_tracked = Int64.min", Self.replace("bn.num_batches_tracked", with: Tensor([Int64.min], shape: []))))
        edits.append(("bn.running_var[0] = NaN", Self.setFirst("bn.running_var", .nan)))

        // Optimizer state.
        let o = Checkpoint.optimizerPrefix
        for (value, dtype) in [(Double.nan, DType.float32), (1e300, .float64), (-1, .float32), (1.5, .float32), (1e19, .float64),
                               (2, .float32), (1, .bool), (9007199254740994, .int64)] {
            edits.append(("state.0.step = \(value) as \(dtype)", Self.setFirst("\(o)state.0.step", value, as: dtype)))
        }
        edits.append(("state.0.step = Int64.max", Self.replace("\(o)state.0.step", with: Tensor([Int64.max], shape: []))))
        edits.append(("state.0.step of shape [2]", Self.replace("\(o)state.0.step", with: Tensor([Int64(1), 2], shape: [2]))))
        edits.append(("state.0.step of shape [1]", Self.replace("\(o)state.0.step", with: Tensor([Int64(1)], shape: [1]))))
        edits.append(("state.0.step of shape [0]", Self.replace("\(o)state.0.step", with: Tensor.zeros([0], dtype: .int64))))
        for value in [Double.nan, -1, .infinity, 1e300] {
            edits.append(("param_groups.0.lr = \(value)", Self.setFirst("\(o)param_groups.0.lr", value, as: .float64)))
        }
        edits.append(("param_groups.0.lr of shape [3]", Self.replace("\(o)param_groups.0.lr", with: Tensor([0.1, 0.2, 0.3], shape: [3]))))
        edits.append(("param_groups.0.lr as F32", Self.setFirst("\(o)param_groups.0.lr", 0.001, as: .float32)))
        edits.append(("param_groups.5.lr", Self.replace("\(o)param_groups.5.lr", with: Tensor([0.1], shape: []))))
        for buffer in ["exp_avg", "momentum_buffer"] {
            edits.append(("state.0.\(buffer)[0] = NaN", Self.setFirst("\(o)state.0.\(buffer)", .nan)))
            edits.append(("state.0.\(buffer) as F64 holding 1e300", Self.setFirst("\(o)state.0.\(buffer)", 1e300, as: .float64)))
            edits.append(("state.0.\(buffer) reshaped", { tensors, _ in tensors["\(o)state.0.\(buffer)"] = tensors["\(o)state.0.\(buffer)"]?.reshaped([-1]) }))
            edits.append(("no state.0.\(buffer)", { tensors, _ in tensors["\(o)state.0.\(buffer)"] = nil }))
            edits.append(("state.0.\(buffer) renamed", Self.rename("\(o)state.0.\(buffer)", to: "\(o)state.0.\(buffer)x")))
        }
        edits.append(("no state.0.step", { tensors, _ in tensors["\(o)state.0.step"] = nil }))
        edits.append(("state.999.step", Self.replace("\(o)state.999.step", with: Tensor([Int64(1)], shape: []))))
        edits.append(("state.01.step beside state.1.step", Self.replace("\(o)state.01.step", with: Tensor([Int64(1)], shape: []))))
        edits.append(("state.-1.step", Self.replace("\(o)state.-1.step", with: Tensor([Int64(1)], shape: []))))
        edits.append(("__optimizer__.bogus", Self.replace("\(o)bogus", with: Tensor([Int64(1)], shape: []))))
        edits.append(("state.0.exp_avg beside momentum", Self.replace("\(o)state.0.exp_avg", with: Tensor.zeros([10, 16]))))

        var cases: [FuzzCase] = []
        for seed in seeds {
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fuzz-\(UUID().uuidString).safetensors")
            try Data(seed.files[Self.file]!).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            let original = try SafetensorsFile.read(from: url)
            for (note, edit) in edits {
                var (tensors, metadata) = (original.tensors, original.metadata)
                edit(&tensors, &metadata)
                guard tensors.keys.sorted() != original.tensors.keys.sorted() || metadata != original.metadata
                        || tensors.contains(where: { !Self.same($0.value, original.tensors[$0.key]!) }) else { continue }
                let bytes = try StrataFuzz.written(SafetensorsFile(tensors: tensors, metadata: metadata))
                cases.append(FuzzCase([Self.file: bytes, Self.seedFile: seed.files[Self.seedFile]!], origin: "hostile (\(seed.origin)): \(note)"))
            }
        }
        return cases
    }

    private static func same(_ a: Tensor, _ b: Tensor) -> Bool {
        a.dtype == b.dtype && a.shape == b.shape && a.toDoubles().elementsEqual(b.toDoubles()) { $0 == $1 || ($0.isNaN && $1.isNaN) }
    }

    // MARK: Mutation, oracle, library, CLI

    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope] {
        [MutationScope(file: Self.file, headerLength: safetensorsHeaderEnd(fuzzCase.files[Self.file] ?? []))]
    }

    func admits(_ fuzzCase: FuzzCase, seed: FuzzCase) -> Bool {
        guard case .success(let mutated) = RefSafetensors.read(fuzzCase.files[Self.file] ?? []),
              let config = mutated.metadata["strata.config"],
              case .success(let original) = RefSafetensors.read(seed.files[Self.file] ?? []) else { return true }
        return config == original.metadata["strata.config"] || RefJSON.parse(Array(config.utf8)) == nil
    }

    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict] {
        let path = directory.appendingPathComponent(Self.file).path
        guard let schema = CheckpointSchema(seed: fuzzCase.files[Self.seedFile] ?? [], examples: Self.examples) else {
            return [:]
        }
        return judgeCheckpoint(fuzzCase.files[Self.file] ?? [], schema: schema, path: path)
    }

    func run(_ check: String, in directory: URL) throws -> String? {
        let url = directory.appendingPathComponent(Self.file)
        switch check {
        case "inspect":
            return librarySummary(try SafetensorsFile.read(from: url))
        case "load":
            let saved = try DLTrainCheckpoint.read(from: url)
            let model = try saved.makeModel(url: url)
            let (inputs, _) = Self.trainingSet.batch([0, 1])
            _ = withNoGrad { model(saved.configuration.dataset.normalization.apply(inputs, generator: &Self.generator)) }
            return nil
        default:
            let saved = try DLTrainCheckpoint.read(from: url)
            let run = try TrainingRun(configuration: saved.configuration, train: Self.trainingSet, test: nil)
            try run.resume(from: saved, url: url)
            guard !run.trainer.isComplete else { return nil }
            do { _ = try run.trainer.trainEpoch(maxSteps: 1) } catch TrainingError.nonFiniteLoss {
                // Finite weights may still overflow the forward pass: training stops, as it should.
            }
            return nil
        }
    }

    nonisolated(unsafe) private static var generator = RandomGenerator(seed: 0)

    func commands(in directory: URL) -> [FuzzCommand] {
        let path = directory.appendingPathComponent(Self.file).path
        return [
            FuzzCommand(check: "inspect", arguments: ["info", path]),
            FuzzCommand(check: "load", arguments: ["eval", "--checkpoint", path, "--limit", "20"]),
            FuzzCommand(check: "load", arguments: ["predict", "--checkpoint", path, "--index", "0"]),
            FuzzCommand(check: "resume", arguments: ["train", "--resume", path], tolerated: ["loss became"]),
        ]
    }
}
