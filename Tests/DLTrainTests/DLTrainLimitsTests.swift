import Foundation
import DLTrainKit
import Strata
import Testing

/// Writes `json` as `name` in `directory` and returns its path.
private func write(_ json: String, _ name: String, in directory: URL) throws -> String {
    let url = directory.appendingPathComponent(name)
    try Data(json.utf8).write(to: url)
    return url.path
}

/// The inputs from outside that fuzzing `dltrain` found trapping, through the built binary: numbers near the
/// limits in flags and the environment, specs with huge or mistyped layers, BatchNorm with a batch of one, a
/// model with nothing to train, and checkpoints whose input shape does not fit.
@Suite struct DLTrainLimitsTests {
    @Test(arguments: [
        (["train", "--epochs", "9223372036854775807"], "--epochs"), (["train", "--epochs", "100001"], "--epochs"),
        (["train", "--epochs", "99999999999999999999"], "--epochs"),
        (["train", "--batch-size", "9223372036854775807"], "--batch-size"), (["train", "--batch-size", "0"], "--batch-size"),
        (["train", "--threads", "2147483648"], "--threads"), (["train", "--threads", "1025"], "--threads"),
        (["train", "--limit", "0"], "--limit"), (["train", "--log-every", "-1"], "--log-every"), (["train", "--seed", "-1"], "--seed"),
        (["eval", "--checkpoint", "c.safetensors", "--limit", "0"], "--limit"),
        (["eval", "--checkpoint", "c.safetensors", "--threads", "9223372036854775807"], "--threads"),
        (["predict", "--checkpoint", "c.safetensors", "--index", "-1"], "--index"),
    ])
    func numericFlagsOutOfRangeExit64NamingTheFlag(arguments: [String], flag: String) throws {
        let result = try DLTrain.run(arguments)
        #expect(result.status == 64 && result.stderr.contains(flag), "\(arguments): \(result.status) \(result.stderr)")
    }

    @Test func theHelpGivesEveryNumericFlagsRange() throws {
        let train = try DLTrain.run(["train", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for range in ["Epochs to train, 1 to 100000", "Examples per batch, 1 to 1048576", "1 to \(Strata.maximumThreads)",
                      "N at least 0", "N at least 1"] {
            #expect(train.contains(range), "train --help lacks '\(range)'")
        }
        let predict = try DLTrain.run(["predict", "--help"]).stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(predict.contains("from 0 to the split's size"))
    }

    @Test(arguments: [
        ["STRATA_THREADS": "99999999999"], ["STRATA_THREADS": "lots"], ["STRATA_THREADS": "0"],
        ["STRATA_MEMORY_BUDGET": "-1"], ["STRATA_MEMORY_BUDGET": "lots"],
        ["OMPI_COMM_WORLD_SIZE": "0"], ["OMPI_COMM_WORLD_SIZE": "two"],
        ["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_LOCAL_SIZE": "3"],
    ])
    func environmentValuesThatCannotBeUsedExit64NamingTheVariable(environment: [String: String]) throws {
        let result = try DLTrain.run(["train", "--limit", "64", "--epochs", "1", "--threads", "1"], environment: environment)
        let (variable, value) = environment.count == 1 ? environment.first! : ("OMPI_COMM_WORLD_LOCAL_SIZE", "3")
        #expect(result.status == 64 && result.stderr.contains("\(variable)=\(value) is not"), "\(environment): \(result.stderr)")
    }

    /// Each spec is refused the same way by `info` and by `train`, with one line naming the file and node, before
    /// any layer is allocated or run.
    @Test(arguments: [
        (#"{"nodes": [{"op": "flatten"}, {"op": "linear", "in_features": 784, "out_features": 1000000000000}]}"#, "more than the memory budget"),
        (#"{"nodes": [{"op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 9223372036854775807}]}"#, "overflows"),
        (#"{"nodes": [{"op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "dilation": 4611686018427387904}]}"#, "overflows"),
        (#"{"nodes": [{"op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 9223372036854775807}]}"#, "more elements than fit in Int"),
        (#"{"nodes": [{"op": "reshape", "shape": [4294967296, 4294967296, -1]}]}"#, "more elements than fit in Int"),
        (#"{"nodes": [{"op": "adaptiveavgpool2d", "output_size": [4294967296, 4294967296]}, {"op": "flatten"}]}"#, "more elements than fit in Int"),
        (#"{"nodes": [{"op": "maxpool2d", "kernel_size": 9223372036854775807, "padding": 4611686018427387903}]}"#, "overflows"),
        (#"{"nodes": [{"op": "embedding", "num_embeddings": 256, "embedding_dim": 4}, {"op": "flatten"}, {"op": "linear", "in_features": 3136, "out_features": 10}]}"#,
         "needs int64 indices, not float32 values"),
    ])
    func specsInfoRefusesTrainRefusesTheSameWay(json: String, phrase: String) throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try write(json, "spec.json", in: directory)
        let info = try DLTrain.run(["info", "--model-file", spec])
        let train = try DLTrain.run(["train", "--model-file", spec, "--limit", "64", "--epochs", "1", "--threads", "1"])
        for result in [info, train] {
            #expect(result.status == 1 && result.stderrLines.count == 1, "\(result.stderr)")
            #expect(result.stderr.hasPrefix("dltrain: error: \(spec): node '0' (#0)") || result.stderr.hasPrefix("dltrain: error: \(spec): node '1' (#1)"),
                    "\(result.stderr)")
            #expect(result.stderr.contains(phrase), "\(result.stderr)")
        }
        #expect(info.stderr == train.stderr)
    }

    /// Pooling windows near Int.max that the shape rule accepts (padding at most half the kernel) train, in
    /// `train` as `info` describes them, instead of trapping in the pooling kernel.
    @Test func poolingWindowsNearIntMaxTrain() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for op in ["maxpool2d", "avgpool2d"] {
            let spec = try write("""
                {"nodes": [{"op": "\(op)", "kernel_size": 1099511627776, "padding": 549755813888, "stride": 1},
                           {"op": "flatten"}, {"op": "linear", "in_features": 841, "out_features": 10}]}
                """, "\(op).json", in: directory)
            let info = try DLTrain.run(["info", "--model-file", spec])
            #expect(info.status == 0 && info.stdout.contains("[1, 1, 29, 29]"), "\(info.stderr)")
            let train = try DLTrain.run(["train", "--model-file", spec, "--limit", "64", "--epochs", "1", "--threads", "1", "--log-every", "0"])
            #expect(train.status == 0 && train.stdout.contains("epoch 1/1:"), "\(op): \(train.stderr)")
        }
    }

    /// A batch is sized before it is allocated, its inputs and every layer's output: 60000 MNIST images through the
    /// mlp (784 + 784 + 4·512 + 10 values each, 679 MB of float32) against a budget of 600 MiB, and a spec whose
    /// one sample fits the budget (an adaptive pooling to 4000×4000, 64 MB) but whose batch of 64 (4 GB) does not.
    @Test func aBatchBeyondTheMemoryBudgetIsRefused() throws {
        let result = try DLTrain.run(["train", "--batch-size", "60000", "--epochs", "1", "--threads", "1"], environment: ["STRATA_MEMORY_BUDGET": "600M"])
        #expect(result.status == 1 && result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("batchSize 60000 is too large: a batch of 60000 examples [1, 28, 28] with its layers' outputs (3626 values per example): needs 829.9 MiB, more than the memory budget of 600.0 MiB"),
                "\(result.stderr)")
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try write("""
            {"nodes": [{"op": "adaptiveavgpool2d", "output_size": 4000}, {"op": "conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 1},
                       {"op": "adaptiveavgpool2d", "output_size": [1, 10]}, {"op": "flatten"}]}
            """, "wide.json", in: directory)
        let wide = try DLTrain.run(["train", "--model-file", spec, "--epochs", "1", "--threads", "1", "--limit", "640"], environment: ["STRATA_MEMORY_BUDGET": "1G"])
        #expect(wide.status == 1 && wide.stderr.contains("batchSize 64 is too large: a batch of 64 examples"), "\(wide.stderr)")
    }

    /// `--batch-size 255` over 256 examples, or `--limit 1`, leaves a training batch of one, which BatchNorm cannot
    /// normalise (PyTorch raises mid-epoch): refused before training, naming the batch and the remedy.
    @Test func batchNormWithATrainingBatchOfOneIsRefusedBeforeTraining() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try write("""
            {"nodes": [{"op": "flatten"}, {"op": "linear", "in_features": 784, "out_features": 16},
                       {"op": "batchnorm1d", "num_features": 16}, {"op": "relu"}, {"op": "linear", "in_features": 16, "out_features": 10}]}
            """, "bn.json", in: directory)
        for arguments in [["--limit", "256", "--batch-size", "255"], ["--limit", "1"]] {
            let result = try DLTrain.run(["train", "--model-file", spec, "--epochs", "1", "--threads", "1", "--log-every", "0"] + arguments)
            #expect(result.status == 1 && result.stderrLines.count == 1, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("BatchNorm1d") && result.stderr.contains("holds 1") && !result.stdout.contains("epoch 1/1:"),
                    "\(arguments): \(result.stderr)")
        }
        let fits = try DLTrain.run(["train", "--model-file", spec, "--epochs", "1", "--threads", "1", "--log-every", "0", "--limit", "256", "--batch-size", "128"])
        #expect(fits.status == 0 && fits.stdout.contains("epoch 1/1:"), "\(fits.stderr)")
    }

    /// A spec whose layers hold no parameters describes a valid model (`info` shows it), but there is nothing to
    /// train: `train` refuses it before the first backward pass.
    @Test func aModelWithNothingToTrainIsRefusedByTrain() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = try write(#"{"nodes": [{"op": "adaptiveavgpool2d", "output_size": [1, 10]}, {"op": "flatten"}]}"#, "none.json", in: directory)
        let info = try DLTrain.run(["info", "--model-file", spec])
        #expect(info.status == 0 && info.stdout.contains("Parameters: 0 (trainable 0)"), "\(info.stderr)")
        let train = try DLTrain.run(["train", "--model-file", spec, "--limit", "64", "--epochs", "1", "--threads", "1"])
        #expect(train.status == 1 && train.stderrLines.count == 1 && train.stderr.contains("no trainable parameters"), "\(train.stderr)")
    }

    /// A checkpoint whose `strata.input_shape` is not its dataset's (`[28, 28, 1]` for MNIST, or a transformer given
    /// `[1, 5, 5]`) is refused by every command that rebuilds its model.
    @Test func aCheckpointInputShapeThatDoesNotFitIsRefused() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("mlp.safetensors")
        let train = try DLTrain.run(["train", "--limit", "64", "--epochs", "1", "--threads", "1", "--log-every", "0", "--checkpoint", checkpoint.path])
        #expect(train.status == 0, "\(train.stderr)")
        for (model, shape) in [(ModelPreset.mlp, [28, 28, 1]), (.transformer, [1, 5, 5])] {
            var saved = try DLTrainCheckpoint.read(from: checkpoint)
            saved.configuration.model = model
            saved.inputShape = shape
            let bad = directory.appendingPathComponent("bad.safetensors")
            try saved.write(to: bad)
            for command in [["eval", "--checkpoint", bad.path], ["predict", "--checkpoint", bad.path, "--index", "0"],
                            ["train", "--resume", bad.path, "--epochs", "2"]] {
                let result = try DLTrain.run(command + ["--threads", "1"])
                #expect(result.status == 1 && result.stderrLines.count == 1, "\(command): \(result.stderr)")
                #expect(result.stderr.contains("strata.input_shape = '\(shape.map(String.init).joined(separator: ","))' is not mnist's"),
                        "\(command): \(result.stderr)")
            }
        }
    }
}
