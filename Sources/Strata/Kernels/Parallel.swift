import Dispatch
import Foundation
import Synchronization

/// The number of threads the kernels use: chunks of `parallelFor` and OpenBLAS's thread count. `Strata.threads`
/// reads and sets it.
enum KernelThreads {
    private static let count = Atomic<Int>(KernelThreads.initialCount())

    static var current: Int { count.load(ordering: .relaxed) }

    /// Sets both counts (`n` ≥ 1).
    static func set(_ n: Int) {
        count.store(n, ordering: .relaxed)
        BLAS.setThreads(n)
    }

    /// The number of cores, or `STRATA_THREADS` when that is set.
    private static func initialCount() -> Int {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let fromEnvironment = ProcessInfo.processInfo.environment["STRATA_THREADS"].flatMap(Int.init)
        let n = max(1, fromEnvironment ?? cores)
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
    parallelChunks(count, chunks: min(KernelThreads.current, count / max(grain, 1)), body)
}

/// Splits `0..<count` into `chunks` contiguous ranges (at least 1, at most `count`) and runs `body` on each,
/// concurrently when there are several. For callers that choose the split themselves (the recurrent kernels
/// split by work per row; tests force a split).
func parallelChunks(_ count: Int, chunks: Int, _ body: (Range<Int>) -> Void) {
    let chunks = min(chunks, count)
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
