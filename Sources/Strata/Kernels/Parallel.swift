import CStrataKernels
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

    /// The error for `variable` set to `value`, which is not `expected`.
    public init(variable: String, value: String, expected: String) {
        (self.variable, self.value, self.expected) = (variable, value, expected)
    }

    public var description: String { "\(variable)=\(value) is not \(expected)" }
}

/// The number of threads the kernels use: chunks of `parallelFor` and of a split gemm, all on Strata's pool
/// (OpenBLAS itself runs on one thread, `BLAS.singleThreaded`). `Strata.threads` reads and sets it.
enum KernelThreads {
    /// The most threads Strata runs: OpenBLAS is built for at most a few hundred, and a count beyond the cores
    /// only adds switching.
    static let maximum = 1024
    static let environmentVariable = "STRATA_THREADS"

    private static let count = Atomic<Int>(KernelThreads.initialCount())

    static var current: Int { count.load(ordering: .relaxed) }

    /// Sets the count (`n` in `1...maximum`).
    static func set(_ n: Int) {
        count.store(n, ordering: .relaxed)
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
        _ = BLAS.singleThreaded
        return n
    }
}

/// Splits `0..<count` into at most `KernelThreads.current` contiguous chunks and runs `body` on each,
/// in parallel when the work is large enough to pay for a second core.
///
/// `body` is called once per chunk with its range, never once per element. Callers write disjoint
/// outputs per chunk; the call returns only when every chunk is done.
/// - Parameters:
///   - count: the number of work items.
///   - grain: the minimum number of items worth giving a thread of its own.
@inline(__always)
func parallelFor(_ count: Int, grain: Int = 32_768, _ body: (Range<Int>) -> Void) {
    parallelChunks(count, chunks: min(KernelThreads.current, count / max(grain, 1)), body)
}

/// Splits `0..<count` into `chunks` contiguous ranges (at least 1, at most `count`) and runs `body` on each,
/// concurrently when there are several. For callers that choose the split themselves (the recurrent kernels
/// split by work per row; a gemm splits its output; tests force a split).
///
/// The chunks run on Strata's one thread pool (`CStrataKernels/pool`), the calling thread among them: the same
/// threads run the kernels' loops and the split gemms, and OpenBLAS itself runs on one thread (`BLAS`), so no
/// second pool spins on a core these loops need. A call from inside a chunk, or while another thread's call
/// holds the pool, runs its chunks on its own thread.
func parallelChunks(_ count: Int, chunks: Int, _ body: (Range<Int>) -> Void) {
    let chunks = min(chunks, count)
    if chunks <= 1 {
        if count > 0 { body(0..<count) }
        return
    }
    withoutActuallyEscaping(body) { body in
        var job = PoolJob(run: body, count: count, chunks: chunks)
        withUnsafeMutablePointer(to: &job) { job in
            strata_pool_run(chunks, Int32(min(KernelThreads.current, chunks)), { context, chunk in
                let job = context!.assumingMemoryBound(to: PoolJob.self)
                let (count, chunks, chunk) = (job.pointee.count, job.pointee.chunks, Int(chunk))
                job.pointee.run(count * chunk / chunks..<count * (chunk + 1) / chunks)
            }, job)
        }
    }
}

/// What the pool's chunks read: the body and how the range is split.
private struct PoolJob {
    let run: (Range<Int>) -> Void
    let count: Int
    let chunks: Int
}
