import Foundation

// The CIFAR binary versions (https://www.cs.toronto.edu/~kriz/cifar.html): fixed-size records of label
// byte(s) then 3072 pixel bytes — 1024 red, 1024 green, 1024 blue, each 32 × 32 row-major — which is
// already the [C, H, W] = [3, 32, 32] layout.

/// Reads CIFAR record files into one image store.
enum CIFARFormat {
    static let pixelBytes = 3 * 32 * 32

    /// Concatenates the records of `files`, taking the label at `labelIndex` of each record's `labelBytes`.
    ///
    /// `labelRanges[k]` bounds label byte `k`; every label byte is checked. Gzipped files (by magic) are inflated.
    /// A file larger than `MemoryBudget` is refused with `SizeLimitError` before it is read.
    static func load(_ files: [URL], labelBytes: Int, labelIndex: Int, labelRanges: [Int]) throws -> ImageStore {
        let recordSize = labelBytes + pixelBytes
        var pixels = [UInt8](), labels = [UInt8]()
        for file in files {
            // The file is read whole: its size is held to the memory budget first.
            if let size = (try? FileManager.default.attributesOfItem(atPath: file.path))?[.size] as? Int {
                try CheckedSize.allocation(bytes: size, "\(file.path): CIFAR file")
            }
            guard var data = FileManager.default.contents(atPath: file.path) else { throw DatasetError.missingFile(file) }
            if Gzip.isGzip(data) {
                // The largest standard file, CIFAR-100's train.bin, holds 50,000 records.
                data = try Gzip.decompress(data, file: file, limit: 60_000 * recordSize)
            }
            guard data.count % recordSize == 0 else {
                throw DatasetError.partialRecord(file, byteCount: data.count, recordSize: recordSize)
            }
            let records = data.count / recordSize
            pixels.reserveCapacity(pixels.count + records * pixelBytes)
            labels.reserveCapacity(labels.count + records)
            try data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
                let bytes = raw.bindMemory(to: UInt8.self)
                for r in 0..<records {
                    let record = UnsafeBufferPointer(rebasing: bytes[r * recordSize..<(r + 1) * recordSize])
                    for k in 0..<labelBytes where Int(record[k]) >= labelRanges[k] {
                        throw DatasetError.labelOutOfRange(file, index: r, label: Int(record[k]), classCount: labelRanges[k])
                    }
                    labels.append(record[labelIndex])
                    pixels.append(contentsOf: record[labelBytes...])
                }
            }
        }
        return ImageStore(pixels: pixels, labels: labels, exampleShape: [3, 32, 32], classCount: labelRanges[labelIndex])
    }
}

/// CIFAR-10 from its binary files: `data_batch_1.bin` … `data_batch_5.bin` (train) or `test_batch.bin` (test).
///
/// Records are 1 label byte (0–9) + 3072 pixel bytes. Inputs are float32 `[3, 32, 32]` in [0, 1].
public struct CIFAR10: Dataset {
    /// Which files were read.
    public let split: DatasetSplit
    let store: ImageStore

    /// The standard file names of `split`.
    public static func fileNames(_ split: DatasetSplit) -> [String] {
        split == .train ? (1...5).map { "data_batch_\($0).bin" } : ["test_batch.bin"]
    }

    /// Loads `split` from `directory`, throwing `DatasetError` for a missing file, a partial record or a bad label.
    public init(directory: URL, split: DatasetSplit = .train) throws {
        self.split = split
        store = try CIFARFormat.load(Self.fileNames(split).map { directory.appendingPathComponent($0) },
                                     labelBytes: 1, labelIndex: 0, labelRanges: [10])
    }

    public var count: Int { store.count }
    public var exampleShape: [Int] { store.exampleShape }
    public var classCount: Int { 10 }
    public func label(at index: Int) -> Int { Int(store.labels[index]) }
    public func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>) {
        store.gather(indices, inputs: inputs, labels: labels)
    }
}

/// CIFAR-100 from its binary files `train.bin` / `test.bin`, labelled with the 100 fine classes.
///
/// Records are 2 label bytes (coarse 0–19, fine 0–99) + 3072 pixel bytes. Inputs are float32 `[3, 32, 32]` in [0, 1].
public struct CIFAR100: Dataset {
    /// Which file was read.
    public let split: DatasetSplit
    let store: ImageStore

    /// The standard file name of `split`.
    public static func fileName(_ split: DatasetSplit) -> String { split == .train ? "train.bin" : "test.bin" }

    /// Loads `split` from `directory`, throwing `DatasetError` for a missing file, a partial record or a bad label.
    public init(directory: URL, split: DatasetSplit = .train) throws {
        self.split = split
        store = try CIFARFormat.load([directory.appendingPathComponent(Self.fileName(split))],
                                     labelBytes: 2, labelIndex: 1, labelRanges: [20, 100])
    }

    public var count: Int { store.count }
    public var exampleShape: [Int] { store.exampleShape }
    public var classCount: Int { 100 }
    public func label(at index: Int) -> Int { Int(store.labels[index]) }
    public func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>) {
        store.gather(indices, inputs: inputs, labels: labels)
    }
}
