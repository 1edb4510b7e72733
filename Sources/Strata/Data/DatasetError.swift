import Foundation

/// Why a dataset file could not be loaded. Every case names the file, so the message says which file to fix.
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist (for MNIST: neither `name` nor `name.gz`).
    case missingFile(URL)
    /// The IDX magic number is wrong: its first two bytes must be zero.
    case badMagic(URL, magic: UInt32)
    /// The IDX element-type code is not 0x08 (unsigned byte), the only one MNIST uses.
    case unsupportedDTypeCode(URL, code: UInt8)
    /// The file ends inside the IDX header.
    case truncatedHeader(URL, expectedBytes: Int, actualBytes: Int)
    /// The file ends before the elements its header declares (or, for CIFAR, inside a record).
    case truncatedData(URL, expectedBytes: Int, actualBytes: Int)
    /// Bytes follow the last element the header declares, or follow the end of the gzip stream.
    case trailingBytes(URL, count: Int)
    /// The product of the IDX dimensions does not fit in an `Int`.
    case dimensionOverflow(URL, dimensions: [Int])
    /// The IDX shape is not the one the dataset needs (MNIST images are `[n, 28, 28]`, labels `[n]`).
    case unexpectedShape(URL, shape: [Int], expected: String)
    /// The images file and the labels file hold different numbers of examples.
    case countMismatch(images: URL, imageCount: Int, labels: URL, labelCount: Int)
    /// A label is outside `0..<classCount`.
    case labelOutOfRange(URL, index: Int, label: Int, classCount: Int)
    /// zlib rejected the gzip stream (bad header, bad deflate data, CRC mismatch, or cut short).
    case corruptGzip(URL, reason: String)
    /// The gzip trailer's ISIZE (inflated size mod 2³²) disagrees with the size actually inflated.
    case gzipSizeMismatch(URL, trailerSize: UInt32, inflatedSize: Int)
    /// The gzip stream inflates to more bytes than the IDX header declares; inflation stopped there.
    case gzipExceedsDeclaredSize(URL, declaredBytes: Int)
    /// A CIFAR file's size is not a whole number of records.
    case partialRecord(URL, byteCount: Int, recordSize: Int)

    /// The file the error is about (for a count mismatch, the labels file).
    public var file: URL {
        switch self {
        case .missingFile(let f), .badMagic(let f, _), .unsupportedDTypeCode(let f, _),
             .truncatedHeader(let f, _, _), .truncatedData(let f, _, _), .trailingBytes(let f, _),
             .dimensionOverflow(let f, _), .unexpectedShape(let f, _, _), .labelOutOfRange(let f, _, _, _),
             .corruptGzip(let f, _), .gzipSizeMismatch(let f, _, _), .gzipExceedsDeclaredSize(let f, _),
             .partialRecord(let f, _, _):
            return f
        case .countMismatch(_, _, let labels, _):
            return labels
        }
    }

    /// The error, naming the file and the bad value.
    public var description: String {
        switch self {
        case .missingFile(let f):
            return "\(f.path): file not found"
        case .badMagic(let f, let magic):
            return "\(f.path): bad IDX magic number 0x\(String(magic, radix: 16)) (the first two bytes must be zero)"
        case .unsupportedDTypeCode(let f, let code):
            return "\(f.path): unsupported IDX type code 0x\(String(code, radix: 16)) (expected 0x08, unsigned byte)"
        case .truncatedHeader(let f, let expected, let actual):
            return "\(f.path): truncated IDX header: needs \(expected) bytes, file has \(actual)"
        case .truncatedData(let f, let expected, let actual):
            return "\(f.path): truncated data: expected \(expected) bytes, found \(actual)"
        case .trailingBytes(let f, let count):
            return "\(f.path): \(count) unexpected trailing bytes after the data"
        case .dimensionOverflow(let f, let dims):
            return "\(f.path): IDX dimensions \(dims) overflow when multiplied"
        case .unexpectedShape(let f, let shape, let expected):
            return "\(f.path): unexpected shape \(shape), expected \(expected)"
        case .countMismatch(let images, let imageCount, let labels, let labelCount):
            return "\(images.path) has \(imageCount) images but \(labels.path) has \(labelCount) labels"
        case .labelOutOfRange(let f, let index, let label, let classCount):
            return "\(f.path): label \(label) at index \(index) is outside 0..<\(classCount)"
        case .corruptGzip(let f, let reason):
            return "\(f.path): corrupt gzip stream: \(reason)"
        case .gzipSizeMismatch(let f, let trailer, let inflated):
            return "\(f.path): gzip trailer says \(trailer) bytes (mod 2^32) but the stream inflated to \(inflated)"
        case .gzipExceedsDeclaredSize(let f, let declared):
            return "\(f.path): gzip stream inflates past the \(declared) bytes the IDX header declares"
        case .partialRecord(let f, let byteCount, let recordSize):
            return "\(f.path): \(byteCount) bytes is not a whole number of \(recordSize)-byte records"
        }
    }
}
