import ArgumentParser
import Foundation
import Strata
import StrataDistributed

// `dltrain`: a thin command-line layer over Sources/Strata/Training. Parsing and validation live here; every
// piece of training, checkpointing and evaluation logic lives in the library.

extension DatasetKind: ExpressibleByArgument {}
extension ModelPreset: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension ScheduleKind: ExpressibleByArgument {}

@main
struct DLTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dltrain",
        abstract: "Train, evaluate and inspect Strata image classifiers.",
        discussion: "With no --data, MNIST is read from the copy embedded in the Strata repository (Data/mnist).",
        subcommands: [Train.self, Eval.self, Predict.self, Info.self],
        defaultSubcommand: nil)
}

/// Runs `body`; any error becomes one line `dltrain: error: …` on standard error and exit status 1.
///
/// Under `mpirun` (`group` set), an error every rank meets at the same step (a non-finite loss, which the ranks
/// agree on) is printed once, by rank 0, and every rank leaves MPI normally. Any other error is this rank's
/// alone: it is printed with the rank, and `MPI_Abort` ends the other ranks at once instead of leaving them
/// waiting in their next collective.
func reportingErrors(group: MPIProcessGroup? = nil, _ body: () throws -> Void) throws {
    do {
        try body()
        group?.finish()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        guard let group else {
            FileHandle.standardError.write(Data("dltrain: error: \(oneLine(error))\n".utf8))
            throw ExitCode.failure
        }
        if case TrainingError.nonFiniteLoss = error {
            if group.rank == 0 { FileHandle.standardError.write(Data("dltrain: error: \(oneLine(error))\n".utf8)) }
            group.finish()
            throw ExitCode.failure
        }
        FileHandle.standardError.write(Data("dltrain: error: rank \(group.rank): \(oneLine(error))\n".utf8))
        group.abortAll(code: 1)
    }
}

/// The error's description with newlines folded, so it always prints as one line.
func oneLine(_ error: any Error) -> String {
    String(describing: error).split(whereSeparator: \.isNewline).joined(separator: " ")
}

func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

/// Options every subcommand that touches data shares.
struct CommonOptions: ParsableArguments {
    @Option(help: "Threads for OpenBLAS and Strata's kernels (default: all cores, or STRATA_THREADS; under mpirun, the cores divided by the ranks on the host).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        do { _ = try KernelISA.requested() } catch { throw ValidationError("\(error)") }
    }

    /// Sets `Strata.threads` from `--threads`; in an MPI rank without `--threads` or `STRATA_THREADS`, to the
    /// rank's share of the host's cores.
    func apply(group: MPIProcessGroup? = nil) {
        if let threads {
            Strata.threads = threads
        } else if let group, ProcessInfo.processInfo.environment["STRATA_THREADS"] == nil {
            Strata.threads = group.threadsPerRank
        }
    }
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train a model preset (or a JSON model spec) on a dataset.",
        discussion: """
            Checkpoints (--checkpoint) are safetensors files written atomically after every epoch; their model \
            tensors carry PyTorch state-dict names. --resume continues a run from a checkpoint exactly where it \
            stopped: the model, dataset and hyperparameters come from the checkpoint (only --epochs, --data, \
            --checkpoint, --metrics, --log-every and --threads apply).

            Under mpirun (mpirun -np N dltrain train …) the run is data-parallel: each rank trains on its shard of \
            every epoch with --batch-size examples per step (a global batch of N × --batch-size), gradients are \
            averaged, and rank 0 alone prints, writes checkpoints, metrics and plots (Docs/Distributed.md).
            """)

    @Option(help: "The dataset.")
    var dataset: DatasetKind = .mnist
    @Option(help: ArgumentHelp("Dataset directory (default for mnist: the embedded copy).", valueName: "DIR"))
    var data: String?
    @Option(help: "The model preset (PyTorch-compatible state-dict names).")
    var model: ModelPreset = .mlp
    @Option(help: ArgumentHelp("A model described as a JSON graph of layers (Docs/ModelSpec.md); replaces --model.", valueName: "PATH"))
    var modelFile: String?
    @Option(help: "Epochs to train (default: 3).")
    var epochs: Int?
    @Option(help: "Examples per batch (per rank under mpirun).")
    var batchSize: Int = 64
    @Option(help: "The optimizer (default: sgd for mlp/cnn/cifar, adam for lstm/gru, adamw for transformer).")
    var optimizer: OptimizerKind?
    @Option(help: "Learning rate (default: 0.05 for sgd, 0.001 for adam/adamw).")
    var lr: Double?
    @Option(help: "SGD momentum.")
    var momentum: Double = 0.9
    @Option(help: "Weight decay (L2 for sgd/adam, decoupled for adamw; adamw defaults to 0.01).")
    var weightDecay: Double?
    @Option(help: "The learning-rate schedule, stepped per batch.")
    var schedule: ScheduleKind = .cosine
    @Option(help: "Fraction of the training split held out for validation after each epoch.")
    var valSplit: Double = 0
    @Option(help: "Random seed (weights, shuffling, augmentation, dropout, validation split).")
    var seed: UInt64 = 1
    @Option(help: ArgumentHelp("Write a checkpoint here after every epoch.", valueName: "PATH"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("Resume the run saved in this checkpoint.", valueName: "PATH"))
    var resume: String?
    @Option(help: ArgumentHelp("Write metrics rows to PATH (.csv for CSV, .jsonl for JSON Lines).", valueName: "PATH"))
    var metrics: String?
    @Option(help: "A progress line and a metrics row every N steps (0: per epoch only).")
    var logEvery: Int = 100
    @Option(help: "Use only the first N training and test examples, for quick runs.")
    var limit: Int?
    @Option(help: ArgumentHelp("Draw loss and accuracy per epoch into this SVG file, rewritten after every epoch.", valueName: "PATH.svg"))
    var plot: String?
    @OptionGroup var common: CommonOptions

    static let defaultEpochs = 3

    func validate() throws {
        if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, got \(lr)") }
        if !(0..<1).contains(momentum) { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
        if let weightDecay, !(weightDecay >= 0 && weightDecay.isFinite) { throw ValidationError("--weight-decay must be non-negative, got \(weightDecay)") }
        if !(0..<1).contains(valSplit) { throw ValidationError("--val-split must be in [0, 1), got \(valSplit)") }
        if logEvery < 0 { throw ValidationError("--log-every must be non-negative, got \(logEvery)") }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
        if let metrics, !["csv", "jsonl", "ndjson"].contains(URL(fileURLWithPath: metrics).pathExtension.lowercased()) {
            throw ValidationError("--metrics must end in .csv or .jsonl, got '\(metrics)'")
        }
        if let plot, URL(fileURLWithPath: plot).pathExtension.lowercased() != "svg" {
            throw ValidationError("--plot must end in .svg, got '\(plot)'")
        }
        if modelFile != nil && resume != nil { throw ValidationError("--model-file cannot be combined with --resume (the checkpoint holds the model)") }
        for (flag, path) in [("--checkpoint", checkpoint), ("--metrics", metrics), ("--plot", plot)] {
            guard let path else { continue }
            let parent = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory) || !isDirectory.boolValue {
                throw ValidationError("\(flag): directory '\(parent)' does not exist")
            }
        }
        if dataset != .mnist && data == nil && resume == nil {
            throw ValidationError("--dataset \(dataset.rawValue) needs --data DIR (only mnist is embedded)")
        }
    }

    func run() throws {
        let group = MPIProcessGroup.isLaunchedByMPI ? try MPIProcessGroup.start() : nil
        try reportingErrors(group: group) {
            common.apply(group: group)
            let isPrimary = (group?.rank ?? 0) == 0
            let wallStart = DispatchTime.now().uptimeNanoseconds
            var configuration = TrainingConfiguration()
            var checkpointToResume: (Checkpoint, URL)?
            if let resume {
                let url = URL(fileURLWithPath: resume)
                let saved = try Checkpoint.read(from: url)
                configuration = saved.configuration
                if let epochs { configuration.epochs = epochs }
                checkpointToResume = (saved, url)
            } else {
                configuration.dataset = dataset
                configuration.model = model
                configuration.modelSpec = try modelFile.map { path in
                    let url = URL(fileURLWithPath: path)
                    let spec = try ModelSpec.load(from: url)  // fails here, naming the file, node and field
                    _ = try spec.build(inputShape: dataset.exampleShape)
                    return try String(contentsOf: url, encoding: .utf8)
                }
                configuration.epochs = epochs ?? Self.defaultEpochs
                configuration.batchSize = batchSize
                configuration.optimizer = optimizer ?? model.defaultOptimizer
                configuration.learningRate = lr ?? (configuration.optimizer == .sgd ? 0.05 : 1e-3)
                configuration.momentum = momentum
                configuration.weightDecay = weightDecay ?? (configuration.optimizer == .adamw ? 0.01 : 0)
                configuration.schedule = schedule
                configuration.validationSplit = valSplit
                configuration.seed = seed
                configuration.limit = limit
            }
            if let data { configuration.dataDirectory = URL(fileURLWithPath: data).standardizedFileURL.path }
            configuration.logEvery = logEvery

            let trainer = try Trainer(configuration: configuration, processGroup: group)
            if let (saved, url) = checkpointToResume { try trainer.resume(from: saved, url: url) }
            if let checkpoint { trainer.checkpointURL = URL(fileURLWithPath: checkpoint) }
            if let metrics, isPrimary { trainer.metrics = try MetricsWriter(url: URL(fileURLWithPath: metrics), append: resume != nil) }
            guard isPrimary else {
                _ = try trainer.fit()
                return
            }
            let printer = ProgressPrinter()
            let plotter = plot.map { PlotRecorder(url: URL(fileURLWithPath: $0), title: "\(configuration.modelName) on \(configuration.dataset.rawValue)") }
            var plotError: (any Error)?
            trainer.observer = { event in
                printer.handle(event)
                guard let plotter, case .epochEnded(let summary) = event else { return }
                do { try plotter.record(summary) } catch { plotError = plotError ?? error }
            }

            let c = configuration
            var header = "dltrain: \(c.modelName) on \(c.dataset.rawValue): \(trainer.loader.dataset.count) training"
            if let v = trainer.validationSet { header += " / \(v.count) validation" }
            if let t = trainer.testSet { header += " / \(t.count) test" }
            header += " examples, \(c.epochs) epochs, batch \(c.batchSize), \(c.optimizer.rawValue) lr \(c.learningRate)"
            if c.schedule != .none { header += " (\(c.schedule.rawValue))" }
            if let group {
                header += ", \(group.size) ranks × \(Strata.threads) threads (global batch \(group.size * c.batchSize))"
            } else {
                header += ", \(Strata.threads) threads"
            }
            header += ", \(Strata.instructionSet) kernels"
            printer.emit(header)
            if trainer.isComplete { printer.emit("the checkpoint's run is already complete (\(c.epochs) epochs); nothing to train") }

            let result = try trainer.fit()
            if let plotError { throw plotError }
            if let test = result.test {
                printer.emit(String(format: "test: loss %.4f  accuracy %.2f%% (%d images)", test.loss, 100 * test.accuracy, test.count))
            }
            let wall = Double(DispatchTime.now().uptimeNanoseconds - wallStart) / 1e9
            printer.emit(String(format: "wall time: %.1f s", wall))
        }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Evaluate a checkpoint on its dataset's test split: loss, accuracy and confusion matrix.")

    @Option(help: ArgumentHelp("The checkpoint to evaluate.", valueName: "PATH"))
    var checkpoint: String
    @Option(help: ArgumentHelp("Dataset directory (default: the one the checkpoint was trained on).", valueName: "DIR"))
    var data: String?
    @Option(help: "Evaluate only the first N test examples, for quick runs.")
    var limit: Int?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
    }

    func run() throws {
        try reportingErrors {
            common.apply()
            let url = URL(fileURLWithPath: checkpoint)
            let saved = try Checkpoint.read(from: url)
            let model = try saved.makeModel(url: url)
            let kind = saved.configuration.dataset
            let directory = (data ?? saved.configuration.dataDirectory).map { URL(fileURLWithPath: $0) }
            var test: any Dataset = try kind.load(.test, directory: directory)
            if let limit { test = DatasetSubset(AnyDataset(test), indices: Array(0..<min(limit, test.count))) }
            let result = evaluate(model, on: test, transforms: [kind.normalization])
            say("\(saved.configuration.modelName) on \(kind.rawValue) test split (\(result.count) images)")
            say(String(format: "loss %.4f  accuracy %.2f%%", result.loss, 100 * result.accuracy))
            say("confusion matrix (rows: true class, columns: predicted class):")
            say(result.confusionTable())
        }
    }
}

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Class probabilities for PGM/PPM images (P2, P3, P5, P6) or test-split dataset indices.")

    @Option(help: ArgumentHelp("The checkpoint to use.", valueName: "PATH"))
    var checkpoint: String
    @Option(name: .customLong("index"), help: "A test-split index to classify (repeatable).")
    var indices: [Int] = []
    @Option(help: ArgumentHelp("Dataset directory for --index (default: the checkpoint's).", valueName: "DIR"))
    var data: String?
    @Argument(help: "PGM (greyscale) or PPM (colour) image files, sized as the model's inputs.")
    var images: [String] = []
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if images.isEmpty && indices.isEmpty { throw ValidationError("give image files or --index N") }
        if let bad = indices.first(where: { $0 < 0 }) { throw ValidationError("--index must be non-negative, got \(bad)") }
    }

    func run() throws {
        try reportingErrors {
            common.apply()
            let url = URL(fileURLWithPath: checkpoint)
            let saved = try Checkpoint.read(from: url)
            let model = try saved.makeModel(url: url)
            let kind = saved.configuration.dataset
            let names = kind.classNames
            func show(_ label: String, _ p: [Double], truth: Int? = nil) {
                let best = p.indices.max { p[$0] < p[$1] } ?? 0
                var line = "\(label): \(names.indices.contains(best) ? names[best] : String(best)) (\(String(format: "%.4f", p[best])))"
                if let truth { line += " label \(truth)" }
                line += "  [" + p.map { String(format: "%.4f", $0) }.joined(separator: " ") + "]"
                say(line)
            }
            for path in images {
                let file = URL(fileURLWithPath: path)
                let image = try PNMImage.read(file)
                let shape = [image.channels, image.height, image.width]
                guard shape == saved.inputShape else { throw PNMError.wrongShape(file, shape: shape, expected: saved.inputShape) }
                show(path, predictProbabilities(model, inputs: image.tensor.reshaped([1] + shape), transforms: [kind.normalization])[0])
            }
            if !indices.isEmpty {
                let directory = (data ?? saved.configuration.dataDirectory).map { URL(fileURLWithPath: $0) }
                let test = try kind.load(.test, directory: directory)
                if let bad = indices.first(where: { $0 >= test.count }) { throw TrainingError.indexOutOfRange(bad, count: test.count) }
                let (inputs, _) = test.batch(indices)
                let probabilities = predictProbabilities(model, inputs: inputs, transforms: [kind.normalization])
                for (index, p) in zip(indices, probabilities) { show("test[\(index)]", p, truth: test.label(at: index)) }
            }
        }
    }
}

struct Info: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe a dataset directory (counts, shapes, classes), a checkpoint (tensors, shapes, dtypes, metadata) or a model (layers, parameters, FLOPs per sample).")

    @Argument(help: "A dataset directory or a .safetensors checkpoint.")
    var path: String?
    @Option(help: "The dataset kind of a directory, or the input a model is described for (default: detected; mnist).")
    var dataset: DatasetKind?
    @Option(help: "Describe this model preset instead of a path.")
    var model: ModelPreset?
    @Option(help: ArgumentHelp("Describe the model in this JSON spec instead of a path.", valueName: "PATH"))
    var modelFile: String?

    func validate() throws {
        if [path != nil, model != nil, modelFile != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give exactly one of PATH, --model or --model-file")
        }
    }

    func run() throws {
        try reportingErrors {
            let kind = dataset ?? .mnist
            if let model {
                return describeModel(model.makeModel(inputShape: kind.exampleShape, classCount: kind.classCount), "\(model.rawValue) preset for \(kind.rawValue)", kind)
            }
            if let modelFile {
                let graph = try ModelSpec.load(from: URL(fileURLWithPath: modelFile)).build(inputShape: kind.exampleShape)
                return describeModel(graph, modelFile, kind)
            }
            let url = URL(fileURLWithPath: path!)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw TrainingError.invalidConfiguration("'\(url.path)': no such file or directory")
            }
            if isDirectory.boolValue { try describeDataset(url) } else { try describeCheckpoint(url) }
        }
    }

    func describeDataset(_ url: URL) throws {
        let exists = { (name: String) in FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path) }
        let kind: DatasetKind
        if let dataset { kind = dataset }
        else if exists("data_batch_1.bin") || exists("test_batch.bin") { kind = .cifar10 }
        else if exists("train.bin") || exists("test.bin") { kind = .cifar100 }
        else if exists("train-images-idx3-ubyte") || exists("train-images-idx3-ubyte.gz") { kind = .mnist }
        else { throw TrainingError.invalidConfiguration("'\(url.path)' holds no MNIST, Fashion-MNIST or CIFAR files (give --dataset to say which)") }
        say("\(url.path): \(kind.rawValue)\(kind == .mnist && dataset == nil ? " (IDX format; fashion-mnist uses the same files)" : "")")
        for split in DatasetSplit.allCases {
            let set = try kind.load(split, directory: url)
            say("  \(split.rawValue): \(set.count) examples, shape \(set.exampleShape), \(set.classCount) classes")
            say("    label counts: " + set.labelCounts().enumerated().map { "\($0.offset):\($0.element)" }.joined(separator: " "))
        }
        if kind != .cifar100 { say("  classes: " + kind.classNames.joined(separator: ", ")) }
    }

    func describeModel(_ model: any Layer, _ name: String, _ kind: DatasetKind) {
        say("\(name), input \(kind.exampleShape):")
        say(ModelSummary(model, inputShape: kind.exampleShape).description)
    }

    func describeCheckpoint(_ url: URL) throws {
        let file = try SafetensorsFile.read(from: url)
        var parameters = 0
        say("\(url.path): \(file.tensors.count) tensors")
        for (name, tensor) in file.tensors.sorted(by: { $0.key < $1.key }) {
            if !name.hasPrefix(Checkpoint.optimizerPrefix) && tensor.dtype.isFloatingPoint { parameters += tensor.count }
            say("  \(name)  \(tensor.dtype)  \(tensor.shape)")
        }
        say("model values (parameters and float buffers): \(parameters)")
        if !file.metadata.isEmpty {
            say("metadata:")
            for (key, value) in file.metadata.sorted(by: { $0.key < $1.key }) { say("  \(key): \(value)") }
        }
    }
}
