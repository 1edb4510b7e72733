import ArgumentParser
import Foundation
import DLTrainKit
import Strata
import StrataDistributed
import StrataTraining

// `dltrain`: a thin command-line layer over DLTrainKit and StrataTraining. Parsing lives here; the values'
// validation and defaults live in `TrainingConfiguration`, and every piece of training, checkpointing and
// evaluation logic in the libraries.

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
    @Option(help: "Threads for OpenBLAS and Strata's kernels, 1 to \(Strata.maximumThreads) (default: all cores, or STRATA_THREADS; under mpirun, the cores divided by the ranks on the host).")
    var threads: Int?

    /// The flag's range, and the environment the libraries read: a value they could only ignore with a warning
    /// (`STRATA_THREADS=lots`, `STRATA_MEMORY_BUDGET=-1`, `OMPI_COMM_WORLD_SIZE=0`) stops `dltrain` here, exit 64.
    func validate() throws {
        if let threads, !(1...Strata.maximumThreads).contains(threads) {
            throw ValidationError("--threads must be from 1 to \(Strata.maximumThreads), got \(threads)")
        }
        do {
            _ = try KernelISA.requested()
            _ = try Strata.requestedThreads()
            _ = try MemoryBudget.requested()
            if let size = try MPIProcessGroup.requestedWorldSize() { _ = try MPIProcessGroup.requestedLocalSize(worldSize: size) }
        } catch { throw ValidationError("\(error)") }
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

            An optimizer setting not given is the model preset's recipe (\(Train.recipes)), else the optimizer's \
            own default, which is PyTorch's (\(Train.libraryDefaults)).

            Under mpirun (mpirun -np N dltrain train …) the run is data-parallel: each rank trains on its shard of \
            every epoch with --batch-size examples per step (a global batch of N × --batch-size), gradients are \
            averaged, and rank 0 alone prints, writes checkpoints, metrics and plots (Docs/Distributed.md).
            """)

    private static let defaults = TrainingConfiguration()

    /// `mlp: sgd lr 0.05 momentum 0.9; …`, from `ModelPreset.recipe`.
    static var recipes: String {
        ModelPreset.allCases.map { preset in
            let r = preset.recipe
            let settings = [r.learningRate.map { "lr \($0)" }, r.momentum.map { "momentum \($0)" }, r.weightDecay.map { "weight decay \($0)" }]
            return "\(preset.rawValue): \(([r.optimizer.rawValue] + settings.compactMap { $0 }).joined(separator: " "))"
        }.joined(separator: "; ")
    }

    /// `sgd lr 0.001 momentum 0.0 weight decay 0.0; …`, read from the optimizers themselves.
    static var libraryDefaults: String {
        let optimizers: [(OptimizerKind, Optimizer)] = [(.sgd, SGD([])), (.adam, Adam([])), (.adamw, AdamW([]))]
        return optimizers.map { kind, o in
            var text = "\(kind.rawValue) lr \(o.learningRate)"
            if let sgd = o as? SGD { text += " momentum \(sgd.momentum)" }
            return text + " weight decay \(o.groups[0].weightDecay)"
        }.joined(separator: "; ")
    }

    @Option(help: "The dataset (default: \(defaults.dataset.rawValue)).")
    var dataset: DatasetKind?
    @Option(help: ArgumentHelp("Dataset directory (default for mnist: the embedded copy).", valueName: "DIR"))
    var data: String?
    @Option(help: "The model preset, with PyTorch-compatible state-dict names (default: \(defaults.model.rawValue)).")
    var model: ModelPreset?
    @Option(help: ArgumentHelp("A model described as a JSON graph of layers (Docs/ModelSpec.md); replaces --model.", valueName: "PATH"))
    var modelFile: String?
    @Option(help: "Epochs to train, \(TrainingConfiguration.epochRange.lowerBound) to \(TrainingConfiguration.epochRange.upperBound) (default: \(defaults.epochs)).")
    var epochs: Int?
    @Option(help: "Examples per batch, \(TrainingConfiguration.batchSizeRange.lowerBound) to \(TrainingConfiguration.batchSizeRange.upperBound), per rank under mpirun (default: \(defaults.batchSize)). A model with BatchNorm needs every training batch to hold at least 2 examples.")
    var batchSize: Int?
    @Option(help: "The optimizer (default: the preset's: sgd for mlp/cnn/cifar, adam for lstm/gru, adamw for transformer).")
    var optimizer: OptimizerKind?
    @Option(help: "Learning rate (default: the preset's recipe, else the optimizer's).")
    var lr: Double?
    @Option(help: "SGD momentum (default: the preset's recipe, else SGD's).")
    var momentum: Double?
    @Option(help: "Weight decay: L2 for sgd/adam, decoupled for adamw (default: the preset's recipe, else the optimizer's).")
    var weightDecay: Double?
    @Option(help: "The learning-rate schedule, stepped per batch (default: \(defaults.schedule.rawValue)).")
    var schedule: ScheduleKind?
    @Option(help: "Fraction of the training split held out for validation after each epoch (default: \(defaults.validationSplit)).")
    var valSplit: Double?
    @Option(help: "Random seed: weights, shuffling, augmentation, dropout, validation split (default: \(defaults.seed)).")
    var seed: UInt64?
    @Option(help: ArgumentHelp("Write a checkpoint here after every epoch.", valueName: "PATH"))
    var checkpoint: String?
    @Option(help: ArgumentHelp("Resume the run saved in this checkpoint.", valueName: "PATH"))
    var resume: String?
    @Option(help: ArgumentHelp("Write metrics rows to PATH (.csv for CSV, .jsonl for JSON Lines).", valueName: "PATH"))
    var metrics: String?
    @Option(help: "A progress line and a metrics row every N steps (N at least 0; 0 for per epoch only) (default: \(defaults.logEvery)).")
    var logEvery: Int?
    @Option(help: "Use only the first N training and test examples (N at least 1), for quick runs.")
    var limit: Int?
    @Option(help: ArgumentHelp("Draw loss and accuracy per epoch into this SVG file, rewritten after every epoch.", valueName: "PATH.svg"))
    var plot: String?
    @OptionGroup var common: CommonOptions

    /// The flag that sets each `TrainingConfiguration` field, for messages.
    private static let flags = ["dataset": "--dataset", "epochs": "--epochs", "batchSize": "--batch-size", "learningRate": "--lr",
                                "momentum": "--momentum", "weightDecay": "--weight-decay", "validationSplit": "--val-split",
                                "seed": "--seed", "limit": "--limit", "logEvery": "--log-every", "modelSpec": "--model-file"]

    /// `base` with the flags given: all of them for a new run, only those that apply to a resumed one.
    func configuration(over base: TrainingConfiguration, resuming: Bool) -> TrainingConfiguration {
        var c = base
        if let data { c.dataDirectory = URL(fileURLWithPath: data).standardizedFileURL.path }
        if let epochs { c.epochs = epochs }
        if let logEvery { c.logEvery = logEvery }
        guard !resuming else { return c }
        if let dataset { c.dataset = dataset }
        if let model { c.model = model }
        if let batchSize { c.batchSize = batchSize }
        if let optimizer { c.optimizer = optimizer }
        if let lr { c.learningRate = lr }
        if let momentum { c.momentum = momentum }
        if let weightDecay { c.weightDecay = weightDecay }
        if let schedule { c.schedule = schedule }
        if let valSplit { c.validationSplit = valSplit }
        if let seed { c.seed = seed }
        if let limit { c.limit = limit }
        return c
    }

    func validate() throws {
        do { try configuration(over: TrainingConfiguration(), resuming: false).validate() } catch DLTrainError.invalidSetting(let field, let message) {
            throw ValidationError("\(Self.flags[field] ?? field) \(message)")
        }
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
        if let dataset, dataset != .mnist, data == nil, resume == nil {
            throw ValidationError("--dataset \(dataset.rawValue) needs --data DIR (only mnist is embedded)")
        }
    }

    func run() throws {
        let group = MPIProcessGroup.isLaunchedByMPI ? try MPIProcessGroup.start() : nil
        try reportingErrors(group: group) {
            common.apply(group: group)
            let isPrimary = (group?.rank ?? 0) == 0
            let wallStart = DispatchTime.now().uptimeNanoseconds
            var configuration: TrainingConfiguration
            var checkpointToResume: (DLTrainCheckpoint, URL)?
            if let resume {
                let url = URL(fileURLWithPath: resume)
                let saved = try DLTrainCheckpoint.read(from: url)
                configuration = self.configuration(over: saved.configuration, resuming: true)
                checkpointToResume = (saved, url)
            } else {
                configuration = self.configuration(over: TrainingConfiguration(), resuming: false)
                configuration.modelSpec = try modelFile.map { path in
                    let url = URL(fileURLWithPath: path)
                    let spec = try ModelSpec.load(from: url)  // fails here, naming the file, node and field
                    _ = try spec.build(inputShape: configuration.dataset.exampleShape)
                    return try String(contentsOf: url, encoding: .utf8)
                }
            }

            let run: TrainingRun
            do {
                run = try TrainingRun(configuration: configuration, processGroup: group)
            } catch let DLTrainError.invalidSetting(field, message) where field == "modelSpec" {
                // The spec is only text by now: name the file it came from.
                throw DLTrainError.invalidSetting(field: modelFile ?? "\(resume ?? ""): modelSpec", message: message)
            }
            let trainer = run.trainer
            if let (saved, url) = checkpointToResume { try run.resume(from: saved, url: url) }
            let c = configuration
            let printer = TerminalProgress(every: c.logEvery)
            if isPrimary {
                if let metrics { trainer.callbacks.append(try MetricsLogger(url: URL(fileURLWithPath: metrics), every: c.logEvery, append: resume != nil)) }
                trainer.callbacks.append(printer)
                if let plot { trainer.callbacks.append(PlotWriter(url: URL(fileURLWithPath: plot), title: "\(c.modelName) on \(c.dataset.rawValue)")) }
            }
            if let checkpoint { trainer.callbacks.append(ModelCheckpoint(url: URL(fileURLWithPath: checkpoint))) }
            guard isPrimary else {
                try trainer.fit()
                return
            }

            var header = "dltrain: \(c.modelName) on \(c.dataset.rawValue): \(run.trainLoader.dataset.count) training"
            if let v = run.validationSet { header += " / \(v.count) validation" }
            if let t = run.testSet { header += " / \(t.count) test" }
            header += " examples, \(c.epochs) epochs, batch \(c.batchSize), \(c.optimizerKind.rawValue) lr \(run.learningRate)"
            if c.schedule != .none { header += " (\(c.schedule.rawValue))" }
            if let group {
                header += ", \(group.size) ranks × \(Strata.threads) threads (global batch \(group.size * c.batchSize))"
            } else {
                header += ", \(Strata.threads) threads"
            }
            header += ", \(Strata.instructionSet) kernels"
            printer.emit(header)
            if trainer.isComplete { printer.emit("the checkpoint's run is already complete (\(c.epochs) epochs); nothing to train") }

            try trainer.fit()
            if let test = run.evaluateTest() {
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
    @Option(help: "Evaluate only the first N test examples (N at least 1), for quick runs.")
    var limit: Int?
    @OptionGroup var common: CommonOptions

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1, got \(limit)") }
    }

    func run() throws {
        try reportingErrors {
            common.apply()
            let url = URL(fileURLWithPath: checkpoint)
            let saved = try DLTrainCheckpoint.read(from: url)
            let model = try saved.makeModel(url: url)
            let kind = saved.configuration.dataset
            let directory = (data ?? saved.configuration.dataDirectory).map { URL(fileURLWithPath: $0) }
            var test: any Dataset = try kind.load(.test, directory: directory)
            if let limit { test = DatasetSubset(AnyDataset(test), indices: Array(0..<min(limit, test.count))) }
            let result = ClassifierEvaluation(model, on: test, kind: kind)
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
    @Option(name: .customLong("index"), help: "A test-split index to classify, from 0 to the split's size − 1 (repeatable).")
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
            let saved = try DLTrainCheckpoint.read(from: url)
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
                show(path, predictProbabilities(model, inputs: image.tensor.reshaped([1] + shape), kind: kind)[0])
            }
            if !indices.isEmpty {
                let directory = (data ?? saved.configuration.dataDirectory).map { URL(fileURLWithPath: $0) }
                let test = try kind.load(.test, directory: directory)
                if let bad = indices.first(where: { $0 >= test.count }) { throw DLTrainError.indexOutOfRange(bad, count: test.count) }
                let (inputs, _) = test.batch(indices)
                let probabilities = predictProbabilities(model, inputs: inputs, kind: kind)
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
                throw DLTrainError.noSuchPath(url)
            }
            if isDirectory.boolValue { try describeDataset(url) } else { try describeCheckpoint(url) }
        }
    }

    func describeDataset(_ url: URL) throws {
        guard let kind = dataset ?? DatasetKind.detect(in: url) else { throw DLTrainError.unknownDataset(url) }
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
            if !name.hasPrefix(StrataTraining.Checkpoint.optimizerPrefix) && tensor.dtype.isFloatingPoint { parameters += tensor.count }
            say("  \(name)  \(tensor.dtype)  \(tensor.shape)")
        }
        say("model values (parameters and float buffers): \(parameters)")
        if !file.metadata.isEmpty {
            say("metadata:")
            for (key, value) in file.metadata.sorted(by: { $0.key < $1.key }) { say("  \(key): \(value)") }
        }
    }
}
