import Foundation

/// Which half of a dataset to load.
public enum DatasetSplit: String, Sendable, CaseIterable {
    /// The training split (`train-*` files) or the test split (`t10k-*`).
    case train, test
}

/// MNIST or Fashion-MNIST from the four standard IDX files, raw or gzipped.
///
/// Files are `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte` and
/// `t10k-labels-idx1-ubyte`, each looked for as is and with `.gz`; compression is recognised by the gzip
/// magic bytes, not the extension. Inputs are float32 `[1, 28, 28]` in [0, 1] (`byte / 255`); labels 0–9.
public struct MNIST: Dataset {
    /// The file family: both use the same file names and format; they differ in what the labels mean.
    public enum Kind: String, Sendable {
        /// Handwritten digits (MNIST) or clothing (Fashion-MNIST), ten classes each.
        case mnist, fashionMNIST
    }

    /// Which files were read: `train-*` or `t10k-*`.
    public let split: DatasetSplit
    /// MNIST digits or Fashion-MNIST clothes.
    public let kind: Kind
    /// The images file and the labels file actually read.
    public let imagesFile: URL, labelsFile: URL
    let store: ImageStore

    /// The image side: MNIST images are 28 × 28.
    public static let side = 28

    /// Loads `split` from `directory`, checking every header, size and label (see `DatasetError`).
    public init(directory: URL, split: DatasetSplit = .train, kind: Kind = .mnist) throws {
        let prefix = split == .train ? "train" : "t10k"
        imagesFile = try Self.locate("\(prefix)-images-idx3-ubyte", in: directory)
        labelsFile = try Self.locate("\(prefix)-labels-idx1-ubyte", in: directory)
        self.split = split
        self.kind = kind

        let (images, labelsFile) = (imagesFile, self.labelsFile)
        let side = Self.side
        let imageIDX = try IDX.read(images) { shape in
            guard shape.count == 3, shape[1] == side, shape[2] == side else {
                throw DatasetError.unexpectedShape(images, shape: shape, expected: "[n, 28, 28]")
            }
        }
        let labelIDX = try IDX.read(labelsFile) { shape in
            guard shape.count == 1 else { throw DatasetError.unexpectedShape(labelsFile, shape: shape, expected: "[n]") }
        }
        guard imageIDX.shape[0] == labelIDX.shape[0] else {
            throw DatasetError.countMismatch(images: images, imageCount: imageIDX.shape[0],
                                             labels: labelsFile, labelCount: labelIDX.shape[0])
        }
        if let bad = labelIDX.bytes.firstIndex(where: { $0 > 9 }) {
            throw DatasetError.labelOutOfRange(labelsFile, index: bad, label: Int(labelIDX.bytes[bad]), classCount: 10)
        }
        store = ImageStore(pixels: imageIDX.bytes, labels: labelIDX.bytes, exampleShape: [1, side, side], classCount: 10)
    }

    /// `directory/name` if it exists, else `directory/name.gz`; throws naming `name` if neither does.
    static func locate(_ name: String, in directory: URL) throws -> URL {
        let plain = directory.appendingPathComponent(name)
        for candidate in [plain, directory.appendingPathComponent(name + ".gz")]
        where FileManager.default.fileExists(atPath: candidate.path) {
            return candidate
        }
        throw DatasetError.missingFile(plain)
    }

    /// What each label means.
    public var classNames: [String] {
        switch kind {
        case .mnist: return (0...9).map(String.init)
        case .fashionMNIST:
            return ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
        }
    }

    public var count: Int { store.count }
    public var exampleShape: [Int] { store.exampleShape }
    public var classCount: Int { 10 }
    public func label(at index: Int) -> Int { Int(store.labels[index]) }
    public func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>) {
        store.gather(indices, inputs: inputs, labels: labels)
    }
}
