import Foundation
import Strata

/// Why training stopped or a checkpoint was refused. Each case's description is one line that names the file,
/// step or value at fault.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// The loss was NaN or infinite at global step `step` (epoch `epoch`, batch `batch`, both from 0), on `rank`
    /// in a data-parallel run; the optimizer step was not taken.
    case nonFiniteLoss(value: Double, epoch: Int, batch: Int, step: Int, rank: Int?)
    /// A parameter or buffer holds NaN or infinity, so the checkpoint was not written.
    case nonFiniteWeights(name: String)
    /// The file is not a Strata training checkpoint, or one of its metadata entries is missing or malformed.
    case invalidCheckpoint(URL, reason: String)
    /// A checkpoint's weights, optimizer state or position do not fit the trainer or model.
    case checkpointMismatch(URL, reason: String)
    /// A setting is out of range (epochs, accumulation steps, a batch size, a split, …).
    case invalidConfiguration(String)
    /// A metrics or plot file could not be written.
    case logWriteFailed(URL, reason: String)
    /// The model's shape rule refuses the training batches' inputs (their shape or dtype).
    case modelDoesNotFit(ShapeError)

    public var description: String {
        switch self {
        case let .nonFiniteLoss(value, epoch, batch, step, rank):
            let place = rank.map { " on rank \($0)" } ?? ""
            return "loss became \(value)\(place) at step \(step) (epoch \(epoch + 1), batch \(batch + 1)); stopped before the optimizer step, no checkpoint written (try a lower learning rate)"
        case .nonFiniteWeights(let name):
            return "parameter '\(name)' holds NaN or infinity; checkpoint not written"
        case let .invalidCheckpoint(url, reason):
            return "'\(url.path)' is not a usable training checkpoint: \(reason)"
        case let .checkpointMismatch(url, reason):
            return "checkpoint '\(url.path)' does not fit its model: \(reason)"
        case .invalidConfiguration(let message):
            return message
        case let .logWriteFailed(url, reason):
            return "cannot write '\(url.path)': \(reason)"
        case .modelDoesNotFit(let error):
            return "the model does not take the training inputs: \(error)"
        }
    }
}
