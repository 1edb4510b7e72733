import Foundation
import Strata

/// Why training, evaluation or prediction stopped. Each case's description is one line that names the
/// file, step or value at fault (`dltrain` prints it after `dltrain: error:`).
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The data directory does not exist or is not a directory.
    case dataDirectoryNotFound(URL)
    /// Only MNIST is embedded; other datasets need `--data DIR`.
    case noDefaultData(DatasetKind)
    /// The loss was NaN or infinite at global step `step` (epoch `epoch`, batch `batch`), on `rank` in a
    /// data-parallel run; the optimizer step was not taken and no checkpoint was written.
    case nonFiniteLoss(value: Double, epoch: Int, batch: Int, step: Int, rank: Int?)
    /// A parameter or buffer holds NaN or infinity, so the checkpoint was not written.
    case nonFiniteWeights(name: String)
    /// The file is not a Strata training checkpoint, or one of its metadata entries is missing or malformed.
    case invalidCheckpoint(URL, reason: String)
    /// A checkpoint's weights or optimizer state do not fit the model it describes.
    case checkpointMismatch(URL, reason: String)
    /// A configuration value is out of range (a bad batch size, split, …).
    case invalidConfiguration(String)
    /// A dataset index given to `predict` is out of range.
    case indexOutOfRange(Int, count: Int)
    /// The metrics file could not be written.
    case metricsWriteFailed(URL, reason: String)

    public var description: String {
        switch self {
        case .dataDirectoryNotFound(let url):
            return "dataset directory '\(url.path)' does not exist or is not a directory"
        case .noDefaultData(let kind):
            return "no embedded copy of \(kind.rawValue): give its directory with --data DIR"
        case let .nonFiniteLoss(value, epoch, batch, step, rank):
            let place = rank.map { " on rank \($0)" } ?? ""
            return "loss became \(value)\(place) at step \(step) (epoch \(epoch + 1), batch \(batch + 1)); stopped before the optimizer step, no checkpoint written (try a lower --lr)"
        case .nonFiniteWeights(let name):
            return "parameter '\(name)' holds NaN or infinity; checkpoint not written"
        case let .invalidCheckpoint(url, reason):
            return "'\(url.path)' is not a usable dltrain checkpoint: \(reason)"
        case let .checkpointMismatch(url, reason):
            return "checkpoint '\(url.path)' does not fit its model: \(reason)"
        case .invalidConfiguration(let message):
            return message
        case let .indexOutOfRange(index, count):
            return "dataset index \(index) is outside 0..<\(count)"
        case let .metricsWriteFailed(url, reason):
            return "cannot write metrics file '\(url.path)': \(reason)"
        }
    }
}
