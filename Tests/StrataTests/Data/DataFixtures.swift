import Foundation
import Strata
import Testing

/// A fresh empty directory under the system temporary directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    func write(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: file(name)) }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// IDX bytes: magic `00 00 <type> <rank>`, big-endian UInt32 dimensions, then `body`.
func idx(type: UInt8 = 0x08, dims: [UInt32], body: [UInt8], magicHigh: [UInt8] = [0, 0]) -> [UInt8] {
    var bytes = magicHigh + [type, UInt8(dims.count)]
    for d in dims {
        for shift: UInt32 in [24, 16, 8, 0] { bytes.append(UInt8(truncatingIfNeeded: d >> shift)) }
    }
    return bytes + body
}

/// `n` 28 × 28 images whose pixel k of image i is `(i · 7 + k) mod 256`.
func imageBody(_ n: Int) -> [UInt8] {
    (0..<n * 784).map { (k: Int) -> UInt8 in UInt8(truncatingIfNeeded: k / 784 * 7 + k % 784) }
}

func gzipped(_ bytes: [UInt8]) -> [UInt8] { [UInt8](Gzip.compress(bytes)) }

/// Runs an executable and returns its exit status and standard output.
func run(_ executable: String, _ arguments: [String], in directory: URL? = nil) throws -> (status: Int32, output: Data) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, output)
}

/// The `DatasetError` that `body` throws, or nil (recording an issue) if it throws something else or nothing.
func datasetError(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> DatasetError? {
    do {
        try body()
        Issue.record("expected a DatasetError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as DatasetError {
        return error
    } catch {
        Issue.record("expected a DatasetError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

/// A dataset of `count` examples: example i has input `[i, −i]` and label `i mod classes`.
struct CountingDataset: Dataset {
    let count: Int
    var classes = 3
    var exampleShape: [Int] { [2] }
    var classCount: Int { classes }
    func label(at index: Int) -> Int { index % classes }
    func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>) {
        for (row, i) in indices.enumerated() {
            inputs[2 * row] = Float(i)
            inputs[2 * row + 1] = -Float(i)
            labels[row] = Int64(label(at: i))
        }
    }
}
