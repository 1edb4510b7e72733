import Foundation
import DLTrainKit
import Strata
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// An executable SwiftPM built beside the test bundle: the bundle lives in `.build/<triple>/<configuration>/`,
/// and so do `dltrain` and `DistributedHarness` (`swift test` builds every executable target first).
enum BuiltExecutable {
    static func url(_ name: String) -> URL? {
        var candidates: [URL] = []
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        candidates.append(Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent(name))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(name))
        candidates.append(bundleDirectory.appendingPathComponent(name))
        candidates.append(bundleDirectory.deletingLastPathComponent().appendingPathComponent(name))
        if let root = EmbeddedData.packageRoot {
            for configuration in ["release", "debug"] {
                candidates.append(root.appendingPathComponent(".build/\(configuration)/\(name)"))
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }
}

/// A finished child process's exit status and output.
struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
    var stderrLines: [Substring] { stderr.split(separator: "\n") }
}

/// Starts `executable arguments` with piped output and `environment` added to this process's.
func startProcess(_ executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> Process {
    let process = Process()
    process.executableURL = executable
    process.arguments = arguments
    if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
    process.standardOutput = Pipe()
    process.standardError = Pipe()
    try process.run()
    return process
}

/// Waits for a process from `startProcess` to finish and collects its output.
func finish(_ process: Process) -> ProcessOutput {
    let out = process.standardOutput as! Pipe, err = process.standardError as! Pipe
    // Read both pipes before waiting so a chatty child never blocks on a full pipe.
    nonisolated(unsafe) var errData = Data()
    let reader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return ProcessOutput(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs the `dltrain` binary built by SwiftPM.
enum DLTrain {
    static let binary = BuiltExecutable.url("dltrain")

    /// Runs `dltrain arguments` to completion, with `environment` added to this process's.
    static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> ProcessOutput {
        finish(try start(arguments, environment: environment))
    }

    /// Starts `dltrain arguments` with piped output, with `environment` added to this process's.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        try startProcess(try #require(binary, "dltrain was not built: run `swift build --product dltrain` (swift test builds it)"),
                         arguments, environment: environment)
    }
}

extension Dictionary {
    func mapKeys(_ transform: (Key) -> Key) -> [Key: Value] { Dictionary(uniqueKeysWithValues: map { (transform($0.key), $0.value) }) }
}

func temporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("dltrain-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

@Suite struct DLTrainCLITests {
    @Test func helpExitsZeroAndListsTheSubcommands() throws {
        let top = try DLTrain.run(["--help"])
        #expect(top.status == 0)
        for name in ["train", "eval", "predict", "info"] { #expect(top.stdout.contains(name)) }
        let train = try DLTrain.run(["train", "--help"])
        #expect(train.status == 0)
        for flag in ["--dataset", "--data", "--model", "--epochs", "--batch-size", "--optimizer", "--lr", "--momentum",
                     "--weight-decay", "--schedule", "--val-split", "--seed", "--threads", "--checkpoint", "--resume",
                     "--metrics", "--log-every", "--limit"] {
            #expect(train.stdout.contains(flag), "train --help lacks \(flag)")
        }
    }

    @Test(arguments: [["train", "--bogus"], ["train", "--epochs", "0"], ["train", "--model", "resnet"],
                      ["train", "--lr", "-1"], ["train", "--val-split", "1.5"], ["train", "--metrics", "m.txt"],
                      ["train", "--dataset", "cifar10"], ["train", "--threads", "0"], ["predict", "--checkpoint", "x"],
                      ["train", "--checkpoint", "/nonexistent/dir/ck.safetensors"], ["train", "--plot", "curves.png"],
                      ["train", "--model-file", "m.json", "--resume", "c.safetensors"], ["info"], ["info", "--model", "mlp", "x"],
                      ["eval"]])
    func badFlagsExitWithUsageStatus64(_ arguments: [String]) throws {
        let result = try DLTrain.run(arguments)
        #expect(result.status == 64, "\(arguments): \(result.stderr)")
    }

    @Test func aMissingDatasetDirectoryFailsWithOneLineNamingIt() throws {
        let result = try DLTrain.run(["train", "--data", "/nonexistent/strata-mnist", "--epochs", "1"])
        #expect(result.status == 1)
        #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("dltrain: error:"))
        #expect(result.stderr.contains("/nonexistent/strata-mnist"))
    }

    @Test func aDirectoryWithoutTheFilesFailsNamingTheMissingFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let result = try DLTrain.run(["train", "--data", directory.path, "--epochs", "1"])
        #expect(result.status == 1 && result.stderrLines.count == 1)
        #expect(result.stderr.contains("train-images-idx3-ubyte") && result.stderr.contains(directory.path))
        // A corrupt images file: the error names it too.
        try Data("not an idx file".utf8).write(to: directory.appendingPathComponent("train-images-idx3-ubyte"))
        try Data("junk".utf8).write(to: directory.appendingPathComponent("train-labels-idx1-ubyte"))
        let corrupt = try DLTrain.run(["train", "--data", directory.path, "--epochs", "1"])
        #expect(corrupt.status == 1 && corrupt.stderrLines.count == 1 && corrupt.stderr.contains("train-"))
    }

    @Test func aCorruptCheckpointFailsWithOneLine() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let garbage = directory.appendingPathComponent("garbage.safetensors")
        try Data([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3]).write(to: garbage)
        for command in [["eval", "--checkpoint", garbage.path], ["predict", "--checkpoint", garbage.path, "--index", "0"],
                        ["train", "--resume", garbage.path], ["info", garbage.path],
                        ["eval", "--checkpoint", directory.appendingPathComponent("absent.safetensors").path]] {
            let result = try DLTrain.run(command)
            #expect(result.status == 1, "\(command)")
            #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("dltrain: error:"), "\(command): \(result.stderr)")
        }
        // A valid safetensors file without dltrain metadata.
        let plain = directory.appendingPathComponent("plain.safetensors")
        try Safetensors.save(["w": Tensor.zeros([2])], to: plain)
        let result = try DLTrain.run(["eval", "--checkpoint", plain.path])
        #expect(result.status == 1 && result.stderrLines.count == 1 && result.stderr.contains("not a usable dltrain checkpoint"))
    }

    @Test func aModelFileTrainsAndItsCheckpointRebuildsTheGraph() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = directory.appendingPathComponent("net.json"), checkpoint = directory.appendingPathComponent("net.safetensors")
        try Data("""
            {"nodes": [{"op": "flatten"}, {"name": "hidden", "op": "linear", "in_features": 784, "out_features": 32},
                       {"op": "relu"}, {"name": "out", "op": "linear", "in_features": 32, "out_features": 10}]}
            """.utf8).write(to: spec)
        let plot = directory.appendingPathComponent("curves.svg")
        let train = try DLTrain.run(["train", "--model-file", spec.path, "--limit", "600", "--epochs", "2", "--threads", "1",
                                     "--log-every", "0", "--checkpoint", checkpoint.path, "--plot", plot.path])
        #expect(train.status == 0, "\(train.stderr)")
        #expect(train.stdout.hasPrefix("dltrain: model-file on mnist"))
        // The plot is rewritten after every epoch; after two it holds both epochs' markers.
        let svg = try String(contentsOf: plot, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        #expect(svg.contains("Epoch") && svg.contains("Loss"))
        let names = try SafetensorsFile.read(from: checkpoint).tensors.keys.filter { !$0.hasPrefix("__") }.sorted()
        #expect(names == ["hidden.bias", "hidden.weight", "out.bias", "out.weight"])
        // eval rebuilds the graph from the spec text stored in the checkpoint, without the file.
        try FileManager.default.removeItem(at: spec)
        let eval = try DLTrain.run(["eval", "--checkpoint", checkpoint.path, "--limit", "200", "--threads", "1"])
        #expect(eval.status == 0 && eval.stdout.hasPrefix("model-file on mnist"), "\(eval.stderr)")
    }

    @Test func aBadModelFileFailsWithOneLineNamingTheFileAndNode() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = directory.appendingPathComponent("bad.json")
        try Data(#"{"nodes": [{"op": "flatten"}, {"name": "fc", "op": "linear", "in_features": 100, "out_features": 10}]}"#.utf8).write(to: spec)
        let result = try DLTrain.run(["train", "--model-file", spec.path, "--epochs", "1"])
        #expect(result.status == 1 && result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("bad.json") && result.stderr.contains("fc"))
        // A spec whose output does not match the dataset's classes.
        try Data(#"{"nodes": [{"op": "flatten"}, {"op": "linear", "in_features": 784, "out_features": 3}]}"#.utf8).write(to: spec)
        let classes = try DLTrain.run(["train", "--model-file", spec.path, "--epochs", "1", "--limit", "100"])
        #expect(classes.status == 1 && classes.stderrLines.count == 1 && classes.stderr.contains("10 classes"), "\(classes.stderr)")
        #expect(classes.stderr.hasPrefix("dltrain: error: \(spec.path) has an output per sample"), "names the file: \(classes.stderr)")
    }

    @Test func infoDescribesPresetsWithParametersAndFLOPs() throws {
        let cnn = try DLTrain.run(["info", "--model", "cnn"])
        #expect(cnn.status == 0, "\(cnn.stderr)")
        // reference_torch.py's cnn: MACs (28·28·32·25 + 14·14·64·25·32 + 3136·512 + 512·10) × 2.
        #expect(cnn.stdout.contains("Parameters: 1,663,370") && cnn.stdout.contains("FLOPs per sample: 24,546,304"))
        let vit = try DLTrain.run(["info", "--model", "transformer"])
        #expect(vit.status == 0, "\(vit.stderr)")
        #expect(vit.stdout.contains("FLOPs per sample: 4,854,016"), "\(vit.stdout)")
    }

    @Test func theTransformerPresetTrains() throws {
        let result = try DLTrain.run(["train", "--model", "transformer", "--limit", "256", "--epochs", "1", "--threads", "1", "--log-every", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("transformer on mnist") && result.stdout.contains("adamw"))
        #expect(result.stdout.contains(", \(Strata.instructionSet) kernels"), "the header names the kernels' level")
    }

    /// STRATA_ISA forces the kernels' level; a value that is not a level, or a level this CPU lacks, exits 64
    /// naming the variable and the value before anything runs.
    @Test func strataISAIsValidated() throws {
        let train = ["train", "--limit", "64", "--epochs", "1", "--threads", "1", "--log-every", "0"]
        func run(_ value: String) throws -> ProcessOutput { try DLTrain.run(train, environment: ["STRATA_ISA": value]) }
        let bogus = try run("sse9")
        #expect(bogus.status == 64 && bogus.stderr.contains("STRATA_ISA=sse9"), "\(bogus.stderr)")
        for level in KernelISA.allCases {
            let result = try run(level.rawValue)
            if level.isSupported {
                #expect(result.status == 0 && result.stdout.contains(", \(level) kernels"), "\(level): \(result.stderr)")
            } else {
                #expect(result.status == 64 && result.stderr.contains("STRATA_ISA=\(level)"), "\(level): \(result.stderr)")
            }
        }
    }

    @Test func trainEvalPredictAndInfoOnATinyRun() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("mlp.safetensors").path
        let metrics = directory.appendingPathComponent("metrics.csv").path
        let train = try DLTrain.run(["train", "--limit", "1000", "--epochs", "2", "--batch-size", "50", "--threads", "1",
                                     "--log-every", "10", "--checkpoint", checkpoint, "--metrics", metrics, "--val-split", "0.1"])
        #expect(train.status == 0, "\(train.stderr)")
        let lines = train.stdout.split(separator: "\n")
        // Piped: plain step lines every 10 steps, one summary line per epoch, then test accuracy and wall time.
        #expect(lines.filter { $0.hasPrefix("epoch 1/2 step") }.count == 1)  // 18 steps per epoch: step 10 only
        #expect(lines.filter { $0.hasPrefix("epoch 2/2:") && $0.contains("val_acc") }.count == 1)
        #expect(!train.stdout.contains("\r"))
        #expect(lines.contains { $0.hasPrefix("test: loss") && $0.contains("accuracy") })
        #expect(lines.last?.hasPrefix("wall time:") == true)
        #expect(try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n").count == 1 + 3 + 2)

        let eval = try DLTrain.run(["eval", "--checkpoint", checkpoint, "--limit", "500", "--threads", "1"])
        #expect(eval.status == 0 && eval.stdout.contains("accuracy") && eval.stdout.contains("true\\pred"), "\(eval.stderr)")

        // Test image 0 (a 7) as a binary PGM, and as an ASCII one.
        let test = try MNIST(directory: EmbeddedData.mnistDirectory, split: .test)
        let bytes = test.example(at: 0).input.scalars(as: Float.self).map { UInt8(($0 * 255).rounded()) }
        let p5 = directory.appendingPathComponent("seven.pgm"), p2 = directory.appendingPathComponent("seven-ascii.pgm")
        try (Data("P5\n28 28\n255\n".utf8) + Data(bytes)).write(to: p5)
        try Data(("P2\n28 28\n255\n" + bytes.map(String.init).joined(separator: " ") + "\n").utf8).write(to: p2)
        let predict = try DLTrain.run(["predict", "--checkpoint", checkpoint, p5.path, p2.path, "--index", "0"])
        #expect(predict.status == 0, "\(predict.stderr)")
        let predictions = predict.stdout.split(separator: "\n")
        #expect(predictions.count == 3 && predictions.allSatisfy { $0.contains(": 7 (") })

        let ppm = directory.appendingPathComponent("colour.ppm")
        try (Data("P6 28 28 255\n".utf8) + Data(repeating: 0, count: 28 * 28 * 3)).write(to: ppm)
        let wrongShape = try DLTrain.run(["predict", "--checkpoint", checkpoint, ppm.path])
        #expect(wrongShape.status == 1 && wrongShape.stderrLines.count == 1 && wrongShape.stderr.contains("colour.ppm"))
        let badIndex = try DLTrain.run(["predict", "--checkpoint", checkpoint, "--index", "10000"])
        #expect(badIndex.status == 1 && badIndex.stderr.contains("10000"))

        let info = try DLTrain.run(["info", checkpoint])
        #expect(info.status == 0 && info.stdout.contains("1.weight  float32  [512, 784]") && info.stdout.contains("strata.model: mlp"))
        let dataInfo = try DLTrain.run(["info", EmbeddedData.mnistDirectory.path])
        #expect(dataInfo.status == 0 && dataInfo.stdout.contains("train: 60000 examples") && dataInfo.stdout.contains("test: 10000 examples"))

        // A checkpoint whose metadata names a model its weights do not fit.
        var saved = try DLTrainCheckpoint.read(from: URL(fileURLWithPath: checkpoint))
        saved.configuration.model = .cnn
        let mismatched = directory.appendingPathComponent("mismatch.safetensors")
        try saved.write(to: mismatched)
        let mismatch = try DLTrain.run(["eval", "--checkpoint", mismatched.path])
        #expect(mismatch.status == 1 && mismatch.stderrLines.count == 1 && mismatch.stderr.contains("does not fit"))

        // Resuming a finished run with more epochs continues it.
        let resumed = try DLTrain.run(["train", "--resume", checkpoint, "--epochs", "3", "--threads", "1", "--checkpoint", checkpoint])
        #expect(resumed.status == 0 && resumed.stdout.contains("epoch 3/3:") && !resumed.stdout.contains("epoch 1/3:"), "\(resumed.stderr)")
        #expect(try DLTrainCheckpoint.read(from: URL(fileURLWithPath: checkpoint)).state.epoch == 3)
    }

    @Test func aResumedRunEndsBitIdenticalToAnUninterruptedOne() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (straight, split) = (directory.appendingPathComponent("straight.safetensors"), directory.appendingPathComponent("split.safetensors"))
        // A constant rate, so the 1-epoch first half follows the same schedule as the 2-epoch run.
        let common = ["--limit", "640", "--threads", "1", "--log-every", "0", "--schedule", "none", "--optimizer", "adam"]
        #expect(try DLTrain.run(["train", "--epochs", "2", "--checkpoint", straight.path] + common).status == 0)
        #expect(try DLTrain.run(["train", "--epochs", "1", "--checkpoint", split.path] + common).status == 0)
        let resumed = try DLTrain.run(["train", "--resume", split.path, "--epochs", "2", "--threads", "1", "--checkpoint", split.path])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let (a, b) = (try DLTrainCheckpoint.read(from: straight), try DLTrainCheckpoint.read(from: split))
        #expect(a.state.epoch == 2 && b.state.epoch == 2 && a.state.globalStep == b.state.globalStep)
        for (name, tensor) in a.modelState.merging(a.optimizerState.mapKeys { "opt." + $0 }, uniquingKeysWith: { x, _ in x }) {
            let other = name.hasPrefix("opt.") ? b.optimizerState[String(name.dropFirst(4))] : b.modelState[name]
            #expect(other.map { $0.toDoubles().map(\.bitPattern) == tensor.toDoubles().map(\.bitPattern) } == true, "\(name) differs")
        }
    }

    @Test func aDivergingRunStopsWithOneLineNamingTheStepAndNoCheckpoint() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("nan.safetensors")
        let result = try DLTrain.run(["train", "--limit", "2000", "--epochs", "1", "--lr", "1e30", "--threads", "1",
                                      "--checkpoint", checkpoint.path])
        #expect(result.status == 1 && result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("loss became") && result.stderr.contains("at step"))
        #expect(!FileManager.default.fileExists(atPath: checkpoint.path))
    }

    @Test func killingARunMidTrainingLeavesALoadableCheckpoint() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("crash.safetensors")
        // ~0.2 s epochs: a checkpoint write every epoch, so the kill often lands during one.
        let process = try DLTrain.start(["train", "--limit", "1000", "--epochs", "200", "--log-every", "0", "--threads", "1",
                                         "--checkpoint", checkpoint.path])
        let deadline = Date().addingTimeInterval(30)
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline && process.isRunning { usleep(2000) }
        #expect(FileManager.default.fileExists(atPath: checkpoint.path))
        usleep(useconds_t(300_000 + Int.random(in: 0..<400_000)))
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal)
        let saved = try DLTrainCheckpoint.read(from: checkpoint)
        #expect(saved.state.epoch >= 1 && saved.state.batch == 0)
        _ = try saved.makeModel(url: checkpoint)
        let eval = try DLTrain.run(["eval", "--checkpoint", checkpoint.path, "--limit", "200", "--threads", "1"])
        #expect(eval.status == 0, "\(eval.stderr)")
    }

    /// Whether `python3` can import torch (the PyTorch round trip runs only then).
    static let torchAvailable: Bool = {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import torch"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }()

    /// Runs Tests/DLTrainTests/pytorch_interop.py with `arguments`; returns its standard output.
    private func interop(_ arguments: [String]) throws -> String {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("pytorch_interop.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path] + arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "pytorch_interop.py \(arguments)")
        return String(decoding: output, as: UTF8.self)
    }

    @Test(.enabled(if: torchAvailable))
    func checkpointsMoveToAndFromPyTorchWithStrictLoading() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let mnist = EmbeddedData.mnistDirectory.path
        // dltrain → PyTorch: the state dict loads with strict=True and gives dltrain's accuracy on the same images.
        let checkpoint = directory.appendingPathComponent("mlp.safetensors").path
        let train = try DLTrain.run(["train", "--limit", "1000", "--epochs", "1", "--threads", "1", "--log-every", "0", "--checkpoint", checkpoint])
        #expect(train.status == 0, "\(train.stderr)")
        let torchLine = try interop(["to-torch", checkpoint, mnist])
        let eval = try DLTrain.run(["eval", "--checkpoint", checkpoint, "--limit", "1000", "--threads", "1"])
        let torchAccuracy = Double(torchLine.split(separator: " ").last!.trimmingCharacters(in: .whitespacesAndNewlines))!
        let strataAccuracy = Double(eval.stdout.split(separator: "\n")[1].split(separator: " ").last!.dropLast())! / 100
        #expect(abs(torchAccuracy - strataAccuracy) < 0.0015, "torch \(torchAccuracy), dltrain \(strataAccuracy)")
        // PyTorch → dltrain: a PyTorch model's state dict, saved with dltrain metadata, predicts the same probabilities.
        for preset in ["cnn", "lstm"] {
            let file = directory.appendingPathComponent("\(preset)-from-torch.safetensors").path
            let torchOutput = try interop(["from-torch", file, preset, mnist])
            let predict = try DLTrain.run(["predict", "--checkpoint", file, "--index", "0", "--threads", "1"])
            #expect(predict.status == 0, "\(predict.stderr)")
            func probabilities(_ text: String) -> [Double] {
                guard let open = text.lastIndex(of: "["), let close = text.lastIndex(of: "]") else { return [] }
                return text[text.index(after: open)..<close].split(separator: " ").compactMap { Double($0) }
            }
            let (expected, actual) = (probabilities(torchOutput), probabilities(predict.stdout))
            #expect(expected.count == 10 && actual.count == 10)
            #expect(zip(expected, actual).allSatisfy { abs($0 - $1) <= 0.00011 }, "\(preset): torch \(expected), dltrain \(actual)")
        }
    }
}
