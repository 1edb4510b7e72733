import Foundation
import Strata
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prints a `Trainer`'s progress: on a terminal a live single-line bar per epoch redrawn with `\r`
/// (at most 10 times a second); when piped, a plain line on every `logEvery` step. Each epoch ends with one
/// summary line.
public final class ProgressPrinter {
    /// Whether the live bar is drawn (standard output is a terminal).
    public let isTerminal: Bool
    private var lastDraw: UInt64 = 0
    private var barShown = false

    /// A printer for standard output; `isTerminal` defaults to `isatty(1)`.
    public init(isTerminal: Bool = isatty(1) == 1) { self.isTerminal = isTerminal }

    /// Handles one event (use as `trainer.observer = printer.handle`).
    public func handle(_ event: TrainingEvent) {
        switch event {
        case .epochStarted(let epoch, let epochs, let batches, let startBatch):
            if startBatch > 0 { emit("epoch \(epoch + 1)/\(epochs): resuming at batch \(startBatch + 1) of \(batches)") }
        case .step(let p):
            if isTerminal {
                let now = DispatchTime.now().uptimeNanoseconds
                guard p.batch == p.batches || now - lastDraw > 100_000_000 else { return }
                lastDraw = now
                let width = 24, filled = p.batches > 0 ? width * p.batch / p.batches : width
                let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
                let line = "epoch \(p.epoch + 1)/\(p.epochs) \(bar) \(p.batch)/\(p.batches)  loss \(f4(p.loss))  acc \(pct(p.accuracy))  \(Int(p.samplesPerSecond)) samples/s  ETA \(duration(p.secondsRemaining))"
                FileHandle.standardOutput.write(Data(("\r\u{1B}[2K" + line).utf8))
                barShown = true
            } else if p.isLogStep {
                emit("epoch \(p.epoch + 1)/\(p.epochs) step \(p.batch)/\(p.batches)  loss \(f4(p.loss))  acc \(pct(p.accuracy))  \(Int(p.samplesPerSecond)) samples/s  ETA \(duration(p.secondsRemaining))")
            }
        case .epochEnded(let s):
            var line = "epoch \(s.epoch + 1)/\(s.epochs): loss \(f4(s.loss))  acc \(pct(s.accuracy))"
            if let v = s.validation { line += "  val_loss \(f4(v.loss))  val_acc \(pct(v.accuracy))" }
            line += "  lr \(String(format: "%.3g", s.learningRate))  \(String(format: "%.1f", s.seconds))s  \(Int(s.samplesPerSecond)) samples/s"
            emit(line)
        case .checkpointSaved(let url):
            emit("  checkpoint written: \(url.path)")
        }
    }

    /// Prints `line` on its own line (ending any live bar first).
    public func emit(_ line: String) {
        let prefix = barShown ? "\r\u{1B}[2K" : ""
        barShown = false
        FileHandle.standardOutput.write(Data((prefix + line + "\n").utf8))
    }

    private func f4(_ x: Double) -> String { String(format: "%.4f", x) }
    private func pct(_ x: Double) -> String { String(format: "%.2f%%", 100 * x) }
    private func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        return t >= 60 ? "\(t / 60)m\(String(format: "%02d", t % 60))s" : "\(t)s"
    }
}
