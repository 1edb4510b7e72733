import Foundation
import Strata

/// Writes a row every `every` optimizer steps (0: epoch rows only) and one per epoch, as CSV (a `.csv` path)
/// or JSON Lines (any other extension, e.g. `.jsonl`); rank 0 only. Each line is flushed as it is written, so a
/// crashed run keeps every row written before the crash.
///
/// Columns, in order: `kind` (`step`: running values since the epoch began; `epoch`: the whole epoch, plus
/// validation), `epoch` (from 1), `step` (optimizer steps so far), `loss`, each metric's name, `val_loss`,
/// `val_` + each metric's name, `lr` and `elapsed_s` (seconds since the trainer was made). CSV: a header line,
/// then empty fields for missing values. JSONL: one object per line with those keys, `null` for missing or
/// non-finite values, `kind` a string and the rest numbers.
public final class MetricsLogger: TrainingCallback {
    /// The file written.
    public let url: URL
    /// Steps between step rows (0: none).
    public let every: Int
    /// Whether rows are CSV (else JSON Lines).
    public let isCSV: Bool
    private let handle: FileHandle
    private var needsHeader: Bool

    /// Creates (or truncates) `url`; with `append`, adds to an existing file instead (a resumed run).
    /// - Throws: `TrainingError.logWriteFailed` when the file cannot be opened.
    public init(url: URL, every: Int, append: Bool = false) throws {
        guard every >= 0 else { fatalError("MetricsLogger: every must be non-negative, got \(every)") }
        (self.url, self.every) = (url, every)
        isCSV = url.pathExtension.lowercased() == "csv"
        let exists = FileManager.default.fileExists(atPath: url.path)
        needsHeader = isCSV && !(append && exists)
        if !(append && exists) {
            guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
                throw TrainingError.logWriteFailed(url, reason: "cannot create the file (does its directory exist?)")
            }
        }
        do {
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        } catch {
            throw TrainingError.logWriteFailed(url, reason: error.localizedDescription)
        }
    }

    deinit { try? handle.close() }

    /// The columns for `metrics`, in order.
    public static func columns(for metrics: [any Metric]) -> [String] {
        ["kind", "epoch", "step", "loss"] + metrics.map(\.name) + ["val_loss"] + metrics.map { "val_" + $0.name } + ["lr", "elapsed_s"]
    }

    public func stepDidEnd(_ trainer: Trainer, _ progress: StepProgress) throws {
        guard trainer.isPrimary, every > 0, progress.globalStep % every == 0 else { return }
        try writeRow(kind: "step", epoch: progress.epoch, step: progress.globalStep, loss: progress.loss,
                     metrics: progress.metrics, validation: nil, trainer: trainer)
    }

    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) throws {
        guard trainer.isPrimary else { return }
        try writeRow(kind: "epoch", epoch: record.epoch, step: record.globalStep, loss: record.loss,
                     metrics: record.metrics, validation: record.validation, trainer: trainer)
    }

    private func writeRow(kind: String, epoch: Int, step: Int, loss: Double, metrics: [String: Double],
                          validation: Evaluation?, trainer: Trainer) throws {
        let names = trainer.metrics.map(\.name), columns = Self.columns(for: trainer.metrics)
        if needsHeader {
            try writeLine(columns.joined(separator: ","))
            needsHeader = false
        }
        var values: [String?] = [kind, String(epoch + 1), String(step), format(loss)]
        values += names.map { metrics[$0].map(format) }
        values.append(validation.map { format($0.loss) })
        values += names.map { name in validation?.metrics[name].map(format) }
        values += [format(trainer.optimizer.learningRate), String(format: "%.3f", trainer.elapsedSeconds)]
        if isCSV {
            try writeLine(values.map { $0 ?? "" }.joined(separator: ","))
        } else {
            let fields = zip(columns, values).map { key, value -> (key: String, value: JSONValue) in
                (key, key == "kind" ? .string(value!) : value.flatMap { Double($0)?.isFinite == true ? .number($0) : nil } ?? .null)
            }
            try writeLine(JSONValue.object(fields).serialized())
        }
    }

    private func format(_ x: Double) -> String { x.isFinite ? String(format: "%.6g", x) : "\(x)" }

    private func writeLine(_ line: String) throws {
        do { try handle.write(contentsOf: Data((line + "\n").utf8)) } catch {
            throw TrainingError.logWriteFailed(url, reason: error.localizedDescription)
        }
    }
}
