import Foundation
import Strata
import StrataTraining
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `dltrain train`'s progress: on a terminal a live single-line bar per epoch redrawn with `\r` (at most 10 times
/// a second); when piped, `ProgressLogger`'s plain line every `every` steps. Each epoch ends with
/// `ProgressLogger`'s summary line. Rank 0 only.
public final class TerminalProgress: TrainingCallback {
    /// Whether the live bar is drawn (standard output is a terminal).
    public let isTerminal: Bool
    private var lines: ProgressLogger!
    private var lastDraw: UInt64 = 0
    private var barShown = false

    /// A printer for standard output; `isTerminal` defaults to `isatty(1)`.
    public init(every: Int, isTerminal: Bool = isatty(1) == 1) {
        self.isTerminal = isTerminal
        lines = ProgressLogger(every: isTerminal ? 0 : every) { [unowned self] in emit($0) }
    }

    public func epochWillStart(_ trainer: Trainer, epoch: Int, startBatch: Int) {
        lines.epochWillStart(trainer, epoch: epoch, startBatch: startBatch)
    }

    public func stepDidEnd(_ trainer: Trainer, _ p: StepProgress) {
        guard trainer.isPrimary else { return }
        guard isTerminal else { return lines.stepDidEnd(trainer, p) }
        let now = DispatchTime.now().uptimeNanoseconds
        guard p.batch == p.batches || now - lastDraw > 100_000_000 else { return }
        lastDraw = now
        let width = 24, filled = p.batches > 0 ? width * p.batch / p.batches : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let line = ProgressLogger.stepLine(p, metrics: trainer.metrics, bar: bar)
        FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
        barShown = true
    }

    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) { lines.epochDidEnd(trainer, record) }

    public func checkpointDidSave(_ trainer: Trainer, to url: URL) { lines.checkpointDidSave(trainer, to: url) }

    /// Prints `line` on its own line (ending any live bar first).
    public func emit(_ line: String) {
        let prefix = barShown ? "\r\u{1B}[2K" : ""
        barShown = false
        FileHandle.standardOutput.write(Data((prefix + line + "\n").utf8))
    }
}
