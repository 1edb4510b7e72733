import Foundation
import Strata

/// One row of a metrics file: a training-step row every `logEvery` steps, or an epoch row.
public struct MetricsRow: Equatable, Sendable {
    /// `step` (running averages since the epoch began) or `epoch` (the whole epoch, plus validation).
    public enum Kind: String, Sendable { case step, epoch }
    public var kind: Kind
    /// The epoch, from 1.
    public var epoch: Int
    /// Optimizer steps taken so far in the run.
    public var step: Int
    /// Mean training loss and accuracy over the epoch's batches so far.
    public var loss: Double, accuracy: Double
    /// Validation loss and accuracy (epoch rows with a validation split only).
    public var validationLoss: Double?, validationAccuracy: Double?
    /// The learning rate of the last step.
    public var learningRate: Double
    /// Seconds since the run (or the resumed run) started.
    public var elapsed: Double

    /// The columns, in order, of both formats.
    public static let columns = ["kind", "epoch", "step", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "elapsed_s"]

    var values: [String?] {
        [kind.rawValue, String(epoch), String(step), format(loss), format(accuracy), validationLoss.map(format),
         validationAccuracy.map(format), format(learningRate), String(format: "%.3f", elapsed)]
    }

    private func format(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "\(x)" }
}

/// Writes metrics rows as CSV (a `.csv` path) or JSON Lines (any other extension, e.g. `.jsonl`), one
/// line per row, flushed as it is written so a crashed run keeps every row written before the crash.
///
/// CSV: a header line of `MetricsRow.columns`, then values with empty fields for missing ones. JSONL: one
/// object per line with those keys, `null` for missing values, `kind` a string and the rest numbers.
public final class MetricsWriter {
    /// The file written.
    public let url: URL
    /// Whether rows are CSV (else JSON Lines).
    public let isCSV: Bool
    private let handle: FileHandle

    /// Creates (or truncates) `url`; with `append`, adds to an existing file instead (a resumed run).
    public init(url: URL, append: Bool = false) throws {
        self.url = url
        isCSV = url.pathExtension.lowercased() == "csv"
        let exists = FileManager.default.fileExists(atPath: url.path)
        if !(append && exists) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw TrainingError.metricsWriteFailed(url, reason: "cannot create the file (does its directory exist?)")
            }
        }
        do { handle = try FileHandle(forWritingTo: url) } catch {
            throw TrainingError.metricsWriteFailed(url, reason: error.localizedDescription)
        }
        do { try handle.seekToEnd() } catch { throw TrainingError.metricsWriteFailed(url, reason: error.localizedDescription) }
        if isCSV && !(append && exists) { try writeLine(MetricsRow.columns.joined(separator: ",")) }
    }

    deinit { try? handle.close() }

    /// Appends one row.
    public func write(_ row: MetricsRow) throws {
        let values = row.values
        if isCSV {
            try writeLine(values.map { $0 ?? "" }.joined(separator: ","))
        } else {
            let fields = zip(MetricsRow.columns, values).map { key, value -> String in
                let json = key == "kind" ? "\"\(value!)\"" : (value.flatMap { Double($0)?.isFinite == true ? $0 : nil } ?? "null")
                return "\"\(key)\":\(json)"
            }
            try writeLine("{" + fields.joined(separator: ",") + "}")
        }
    }

    private func writeLine(_ line: String) throws {
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch {
            throw TrainingError.metricsWriteFailed(url, reason: error.localizedDescription)
        }
    }
}
