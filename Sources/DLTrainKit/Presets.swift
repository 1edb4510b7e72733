import Foundation
import Strata
import StrataTraining

// Shapes: B = batch, C = channels, H = height, W = width, K = classes. Every preset maps float32
// [B, C, H, W] images to logits [B, K].

/// The datasets `dltrain` knows, with how their inputs are normalised.
public enum DatasetKind: String, CaseIterable, Sendable {
    case mnist
    case fashionMNIST = "fashion-mnist"
    case cifar10
    case cifar100

    /// Loads `split` from `directory` (`nil`: the embedded MNIST; only MNIST ships with Strata).
    /// - Throws: `DLTrainError.noDefaultData` for a dataset without an embedded copy, `DatasetError` for bad files.
    public func load(_ split: DatasetSplit, directory: URL?) throws -> any Dataset {
        if let directory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw DLTrainError.dataDirectoryNotFound(directory)
            }
        }
        switch self {
        case .mnist: return try MNIST(directory: directory ?? EmbeddedData.mnistDirectory, split: split)
        case .fashionMNIST:
            guard let directory else { throw DLTrainError.noDefaultData(self) }
            return try MNIST(directory: directory, split: split, kind: .fashionMNIST)
        case .cifar10:
            guard let directory else { throw DLTrainError.noDefaultData(self) }
            return try CIFAR10(directory: directory, split: split)
        case .cifar100:
            guard let directory else { throw DLTrainError.noDefaultData(self) }
            return try CIFAR100(directory: directory, split: split)
        }
    }

    /// The dataset whose files `directory` holds (CIFAR-10's `data_batch_1.bin`, CIFAR-100's `train.bin`, the
    /// MNISTs' `train-images-idx3-ubyte`, gzipped or not), or nil when it holds none of them. Fashion-MNIST uses
    /// MNIST's file names, so it is detected as `.mnist`.
    public static func detect(in directory: URL) -> DatasetKind? {
        let exists = { (name: String) in FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path) }
        if exists("data_batch_1.bin") || exists("test_batch.bin") { return .cifar10 }
        if exists("train.bin") || exists("test.bin") { return .cifar100 }
        if exists("train-images-idx3-ubyte") || exists("train-images-idx3-ubyte.gz") { return .mnist }
        return nil
    }

    /// The shape of one input: `[1, 28, 28]` for the MNISTs, `[3, 32, 32]` for the CIFARs.
    public var exampleShape: [Int] { self == .mnist || self == .fashionMNIST ? [1, 28, 28] : [3, 32, 32] }

    /// The number of classes.
    public var classCount: Int { self == .cifar100 ? 100 : 10 }

    /// Per-channel standardisation with the training set's usual mean and standard deviation
    /// (torchvision's customary constants), applied to every input the model sees.
    public var normalization: Normalize {
        switch self {
        case .mnist: Normalize(mean: [0.1307], std: [0.3081])
        case .fashionMNIST: Normalize(mean: [0.2860], std: [0.3530])
        case .cifar10: Normalize(mean: [0.4914, 0.4822, 0.4465], std: [0.2470, 0.2435, 0.2616])
        case .cifar100: Normalize(mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762])
        }
    }

    /// The transforms of training batches: random crop (padding 4) and horizontal flip for the CIFARs,
    /// then normalisation.
    public var trainingTransforms: [any BatchTransform] {
        switch self {
        case .mnist, .fashionMNIST: [normalization]
        case .cifar10, .cifar100: [RandomCrop(padding: 4), RandomHorizontalFlip(), normalization]
        }
    }

    /// What each label means (digits, clothes, or `class N` for the CIFARs, whose names are not in the binary files).
    public var classNames: [String] {
        switch self {
        case .mnist: (0...9).map(String.init)
        case .fashionMNIST: ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        case .cifar10: ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        case .cifar100: (0..<100).map { "class \($0)" }
        }
    }
}

/// The built-in model architectures, each with the same parameter names as the PyTorch module given in its
/// doc comment, so a state dict moves between the two with `load_state_dict(strict=True)`.
public enum ModelPreset: String, CaseIterable, Sendable {
    /// `nn.Sequential(nn.Flatten(), nn.Linear(C·H·W, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, K))`.
    case mlp
    /// WORKLOADS.md's `cnn`: `nn.Sequential(Conv2d(C, 32, 5, padding=2), ReLU(), MaxPool2d(2), Conv2d(32, 64, 5,
    /// padding=2), ReLU(), MaxPool2d(2), Flatten(), Linear(64·⌊H/4⌋·⌊W/4⌋, 512), ReLU(), Linear(512, K))`.
    case cnn
    /// Rows as time steps: `[B, C, H, W]` → `[B, H, C·W]`, `rnn = nn.LSTM(C·W, 128, batch_first=True)`, the last
    /// step's output → `fc = nn.Linear(128, K)`.
    case lstm
    /// As `lstm` with `rnn = nn.GRU(C·W, 128, batch_first=True)`.
    case gru
    /// WORKLOADS.md's `cifar`: three blocks of (Conv k3 p1, BatchNorm2d, ReLU, Conv k3 p1, BatchNorm2d, ReLU,
    /// MaxPool 2) with 32, 64, 128 channels, Flatten, Linear(128·⌊H/8⌋·⌊W/8⌋, 256), ReLU, Dropout(0.5),
    /// Linear(256, K) — one flat `nn.Sequential`, so names run `0.weight` … `24.weight`.
    case cifar
    /// A small vision transformer (`VisionTransformer`): 7×7 patches for 28×28 images (8×8 for 32×32), a class
    /// token, 4 pre-norm GELU encoder layers of width 64 with 4 heads and a feed-forward width of 128.
    case transformer

    /// A freshly initialised model for inputs `[B] + inputShape` (`[C, H, W]`) and `classCount` classes.
    /// Parameters are drawn from the global generator (`Strata.seed` makes them reproducible).
    public func makeModel(inputShape: [Int], classCount: Int) -> any Layer {
        guard inputShape.count == 3 && classCount > 0 else { fatalError("ModelPreset.makeModel: input shape \(inputShape) must be [C, H, W], classes \(classCount) positive") }
        let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
        switch self {
        case .mlp:
            return Sequential {
                Flatten()
                Linear(c * h * w, 512); ReLU()
                Linear(512, 512); ReLU()
                Linear(512, classCount)
            }
        case .cnn:
            return Sequential {
                Conv2d(c, 32, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
                Conv2d(32, 64, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
                Flatten()
                Linear(64 * (h / 4) * (w / 4), 512); ReLU()
                Linear(512, classCount)
            }
        case .lstm:
            return RowRecurrentClassifier(rnn: LSTM(c * w, 128, batchFirst: true), classCount: classCount)
        case .gru:
            return RowRecurrentClassifier(rnn: GRU(c * w, 128, batchFirst: true), classCount: classCount)
        case .cifar:
            var layers: [any Layer] = []
            var channels = c
            for width in [32, 64, 128] {
                layers += [Conv2d(channels, width, kernelSize: 3, padding: 1), BatchNorm2d(width), ReLU(),
                           Conv2d(width, width, kernelSize: 3, padding: 1), BatchNorm2d(width), ReLU(), MaxPool2d(2)]
                channels = width
            }
            layers += [Flatten(), Linear(128 * (h / 8) * (w / 8), 256), ReLU(), Dropout(p: 0.5), Linear(256, classCount)]
            return Sequential(layers)
        case .transformer:
            guard h == w else { fatalError("ModelPreset.transformer: images must be square, got \(inputShape)") }
            return VisionTransformer(imageSize: h, patchSize: h % 7 == 0 ? 7 : 8, channels: c, classes: classCount)
        }
    }

    /// How the preset is trained unless told otherwise (`TrainingConfiguration.makeOptimizer`): SGD with momentum
    /// for the feed-forward presets, Adam for the recurrent ones (WORKLOADS.md's choices), AdamW for the
    /// transformer. A hyper-parameter the recipe leaves out is the optimizer's own default.
    public var recipe: OptimizerRecipe {
        switch self {
        case .mlp, .cnn, .cifar: OptimizerRecipe(optimizer: .sgd, learningRate: 0.05, momentum: 0.9)
        case .lstm, .gru: OptimizerRecipe(optimizer: .adam)
        case .transformer: OptimizerRecipe(optimizer: .adamw)
        }
    }
}

/// An optimizer and the hyper-parameters a preset trains with where they differ from the optimizer's defaults.
public struct OptimizerRecipe: Equatable, Sendable {
    public var optimizer: OptimizerKind
    public var learningRate: Double?, momentum: Double?, weightDecay: Double?

    public init(optimizer: OptimizerKind, learningRate: Double? = nil, momentum: Double? = nil, weightDecay: Double? = nil) {
        (self.optimizer, self.learningRate, self.momentum, self.weightDecay) = (optimizer, learningRate, momentum, weightDecay)
    }
}

/// A recurrent classifier that reads an image's rows as time steps (`ModelPreset.lstm` / `.gru`).
///
/// `[B, C, H, W]` → `[B, H, C·W]` → `rnn` (batch first) → output at the last step `[B, 128]` → `fc` → `[B, K]`.
/// State-dict names: `rnn.weight_ih_l0`, …, `fc.weight`, `fc.bias`, as a PyTorch module with attributes `rnn` and `fc`.
public final class RowRecurrentClassifier: Layer {
    /// The LSTM or GRU over rows.
    public let rnn: RecurrentLayer
    /// The last step's hidden state → class logits.
    public let fc: Linear

    /// A classifier with `rnn` (batch first) and a linear head to `classCount` logits.
    public init(rnn: RecurrentLayer, classCount: Int) {
        guard rnn.batchFirst && !rnn.bidirectional else { fatalError("RowRecurrentClassifier: rnn must be batch-first and one-directional") }
        self.rnn = rnn
        fc = Linear(rnn.hiddenSize, classCount)
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard input.rank == 4 else { fatalError("RowRecurrentClassifier: input \(input.shape) must be [B, C, H, W]") }
        let (b, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let rows = c == 1 ? input.reshaped([b, h, w]) : input.permuted([0, 2, 1, 3]).contiguous().reshaped([b, h, c * w])  // [B, H, C·W]
        let output: Tensor
        switch rnn {
        case let lstm as LSTM: output = lstm(rows).output
        case let gru as GRU: output = gru(rows).output
        case let plain as RNN: output = plain(rows).output
        default: fatalError("RowRecurrentClassifier: unknown recurrent layer \(type(of: rnn))")
        }
        return fc(output.select(1, h - 1))  // [B, H, 128] → [B, 128] → [B, K]
    }
}

extension RowRecurrentClassifier: ShapeInferring {
    /// `[B, C, H, W]` → the recurrent layer over `[B, H, C·W]` → the head on the last step `[B, hidden]` → `[B, K]`;
    /// the FLOPs of both.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        func fail(_ kind: ShapeError.Kind, _ reason: String) -> ShapeError {
            ShapeError(layer: "RowRecurrentClassifier", input: input, kind: kind, reason: reason)
        }
        guard input.count == 4 else { throw fail(.rank, "must be [B, C, H, W], not rank \(input.count)") }
        guard input[2] >= 1 else { throw fail(.size, "needs at least one row") }
        let rows: [Int]
        do { rows = [input[0], input[2], try CheckedSize.multiply(input[1], input[3], "C·W")] } catch {
            throw fail(.overflow, "C·W overflows Int")
        }
        let steps: (outputShape: [Int], flops: Int), head: (outputShape: [Int], flops: Int)
        do { steps = try rnn.inferShape(for: rows) } catch { throw error.nested(under: "rnn") }
        do { head = try fc.inferShape(for: [steps.outputShape[0], steps.outputShape[2]]) } catch { throw error.nested(under: "fc") }
        do { return (head.outputShape, try CheckedSize.add(steps.flops, head.flops, "FLOPs")) } catch {
            throw fail(.overflow, "the FLOP count overflows Int")
        }
    }
}
