import Foundation
import Strata

/// Why `dltrain` refused its input. Each case's description is one line that names the file, field or value at
/// fault (`dltrain` prints it after `dltrain: error:`).
public enum DLTrainError: Error, CustomStringConvertible, Equatable {
    /// The data directory does not exist or is not a directory.
    case dataDirectoryNotFound(URL)
    /// Only MNIST is embedded; other datasets need `--data DIR`.
    case noDefaultData(DatasetKind)
    /// A directory given to `info` holds no dataset files `DatasetKind.detect(in:)` knows.
    case unknownDataset(URL)
    /// A path given to `info` does not exist.
    case noSuchPath(URL)
    /// A configuration field (`TrainingConfiguration`'s name for it) is out of range.
    case invalidSetting(field: String, message: String)
    /// The file is a training checkpoint without (valid) `dltrain` metadata, or no training checkpoint at all.
    case invalidCheckpoint(URL, reason: String)
    /// A dataset index given to `predict` is out of range.
    case indexOutOfRange(Int, count: Int)

    public var description: String {
        switch self {
        case .dataDirectoryNotFound(let url):
            return "dataset directory '\(url.path)' does not exist or is not a directory"
        case .noDefaultData(let kind):
            return "no embedded copy of \(kind.rawValue): give its directory with --data DIR"
        case .unknownDataset(let url):
            return "'\(url.path)' holds no MNIST, Fashion-MNIST or CIFAR files (give --dataset to say which)"
        case .noSuchPath(let url):
            return "'\(url.path)': no such file or directory"
        case let .invalidSetting(field, message):
            return "\(field) \(message)"
        case let .invalidCheckpoint(url, reason):
            return "'\(url.path)' is not a usable dltrain checkpoint: \(reason)"
        case let .indexOutOfRange(index, count):
            return "dataset index \(index) is outside 0..<\(count)"
        }
    }
}
