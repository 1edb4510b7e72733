import Foundation
import Strata

/// An ordered JSON object: one line of dlbench's output.
struct Record {
    var fields: [(key: String, value: JSONValue)] = []

    mutating func append(_ key: String, _ value: JSONValue) { fields.append((key, value)) }

    /// `{"key": value, …}` on one line, with `json.dumps`'s `", "` and `": "` separators.
    var line: String { JSONValue.object(fields).serialized(itemSeparator: ", ", keySeparator: ": ") }
}

/// `x` rounded to `digits` decimals, as Python's `round(x, digits)` (up to ties).
func rounded(_ x: Double, _ digits: Int) -> Double {
    let scale = pow(10, Double(digits))
    return (x * scale).rounded() / scale
}

/// Writes report lines to stdout, flushed per line, and optionally to a file.
struct ReportSink {
    private var file: FileHandle?

    init(path: String?) throws {
        guard let path else { return }
        guard FileManager.default.createFile(atPath: path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        file = FileHandle(forWritingAtPath: path)
    }

    mutating func emit(_ record: Record) {
        let line = record.line + "\n"
        FileHandle.standardOutput.write(Data(line.utf8))
        file?.write(Data(line.utf8))
    }
}

/// The process's resident-set high-water mark (`VmHWM` in /proc/self/status), in MiB; nil off Linux.
func peakResidentMegabytes() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
        let kilobytes = line.split(separator: " ").compactMap { Double($0) }.first
        return kilobytes.map { $0 / 1024 }
    }
    return nil
}

/// Resets the high-water mark to the current RSS, so the next `peakResidentMegabytes()` is one workload's
/// peak rather than the process's. Best effort: writing 5 to /proc/self/clear_refs needs Linux 4.0+.
func resetPeakResident() {
    if let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
        handle.write(Data("5".utf8))
        try? handle.close()
    }
}
