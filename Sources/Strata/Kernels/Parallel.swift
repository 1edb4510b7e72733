import Dispatch
import Foundation
import Synchronization

/// An environment variable Strata reads whose value it cannot use: `STRATA_THREADS=lots`,
/// `STRATA_MEMORY_BUDGET=-1`, `OMPI_COMM_WORLD_SIZE=0`. The library falls back to its default with a warning;
/// a program that wants to refuse the value instead calls the variable's `requested…` function and gets this.
public struct EnvironmentError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The variable, e.g. `STRATA_THREADS`.
    public var variable: String
    /// Its value, as set.
    public var value: String
    /// What the variable takes, e.g. `an integer from 1 to 1024`.
    public var expected: String

    public init(variable: String, value: String, expected: String) {
        (self.variable, self.value, self.expected) = (variable, value, expected)
    }

    public var description: String { "\(variable)=\(value) is not \(expected)" }
}

/// The number of threads the kernels use: chunks of `parallelFor` and OpenBLAS's thread count. `Strata.threads`
/// reads and sets it.
enum KernelThreads {
    /// The most threads Strata runs: OpenBLAS is built for at most a few hundred, and a count beyond the cores
    /// only adds switching.
    static let maximum = 1024
    static let environmentVariable = "STRATA_THREADS"

    private static let count = Atomic<Int>(KernelThreads.initialCount())

    static var current: Int { count.load(ordering: .relaxed) }

    /// Sets both counts (`n` in `1...maximum`).
    static func set(_ n: Int) {
        count.store(n, ordering: .relaxed)
        BLAS.setThreads(n)
    }

    /// The count `STRATA_THREADS` asks for, or nil when it is unset or empty.
    /// - Throws: `EnvironmentError` when the value is not an integer in `1...maximum`.
    static func requested(environment: [String: String]) throws(EnvironmentError) -> Int? {
        guard let value = environment[environmentVariable], !value.isEmpty else { return nil }
        guard value.allSatisfy(\.isASCII), let n = Int(value), (1...maximum).contains(n) else {
            throw EnvironmentError(variable: environmentVariable, value: value, expected: "an integer from 1 to \(maximum)")
        }
        return n
    }

    /// The number of cores (at most `maximum`), or `STRATA_THREADS` when that is set; a value that cannot be used
    /// falls back to the cores with a one-line warning on standard error.
    private static func initialCount() -> Int {
        let cores = min(max(1, ProcessInfo.processInfo.activeProcessorCount), maximum)
        var n = cores
        do { n = try requested(environment: ProcessInfo.processInfo.environment) ?? cores } catch {
            FileHandle.standardError.write(Data("strata: warning: \(error); using \(cores) threads (the cores)\n".utf8))
        }
        BLAS.setThreads(n)
        return n
    }
}

/// Splits `0..<count` into at most `KernelThreads.current` contiguous chunks and runs `body` on each,
/// in parallel when the work is large enough to pay for waking a second core.
///
/// `body` is called once per chunk with its range, never once per element. Callers write disjoint
/// outputs per chunk; `concurrentPerform` returns only when every chunk is done.
/// - Parameters:
///   - count: the number of work items.
///   - grain: the minimum number of items worth giving a thread of its own.
@inline(__always)
func parallelFor(_ count: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
    let chunks = min(KernelThreads.current, count / max(grain, 1))
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        let chunkBody = ChunkBody(run: body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            chunkBody.run(count * chunk / chunks..<count * (chunk + 1) / chunks)
        }
    }
}

/// Carries a chunk body, which captures raw buffer pointers, into `concurrentPerform`. Safe because the
/// chunks write disjoint ranges and the call does not return before they finish.
private struct ChunkBody: @unchecked Sendable {
    let run: (Range<Int>) -> Void
}
