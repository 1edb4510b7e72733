import Dispatch
import Foundation
import Synchronization
@testable import Strata
import Testing

// Strata's one thread pool (CStrataKernels/pool) and the gemm split that runs on it: every chunk runs exactly
// once, over many jobs in a row (the path where a worker late from one job meets the next), from inside a chunk
// and from several threads at once; and a split product equals the single OpenBLAS call it replaces.

@Suite struct ThreadPoolTests {
    /// Runs `parallelChunks(count, chunks:)` and returns how many times each item was visited.
    private func visits(_ count: Int, chunks: Int) -> [Int] {
        var seen = [Int](repeating: 0, count: count)
        seen.withUnsafeMutableBufferPointer { seen in
            parallelChunks(count, chunks: chunks) { range in
                for i in range { seen[i] += 1 }
            }
        }
        return seen
    }

    @Test func everyItemRunsExactlyOnceOverManyJobsInARow() {
        for job in 0..<3_000 {
            let (count, chunks) = (1 + job % 97, 1 + job % 5)
            let seen = visits(count, chunks: chunks)
            #expect(seen.allSatisfy { $0 == 1 }, "job \(job): \(count) items in \(chunks) chunks, visits \(seen)")
            if seen.contains(where: { $0 != 1 }) { return }
        }
    }

    @Test func aParallelLoopInsideAChunkRunsAllOfItsItems() {
        var inner = [[Int]](repeating: [], count: 4)
        inner.withUnsafeMutableBufferPointer { inner in
            parallelChunks(4, chunks: 4) { range in
                for i in range { inner[i] = visits(50, chunks: 3) }
            }
        }
        #expect(inner.allSatisfy { $0 == [Int](repeating: 1, count: 50) })
    }

    @Test func callersOnSeveralThreadsAtOnceEachGetTheirWholeJob() {
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { caller in
            for job in 0..<500 where visits(10 + caller + job % 13, chunks: 2 + job % 3).contains(where: { $0 != 1 }) {
                failures.withLock { $0 += 1 }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    /// A product above the split threshold, every transpose, split along columns (n ≥ m) and along rows, against
    /// one OpenBLAS call on the same operands; leading dimensions wider than the matrices, so an offset into the
    /// wrong operand or the wrong stride shows.
    @Test(.enabled(if: KernelThreads.current > 1, "the split needs two threads"),
          arguments: [(m: 48, n: 301, k: 37), (m: 333, n: 40, k: 29), (m: 130, n: 129, k: 64)])
    func aSplitGemmEqualsOneCall(shape: (m: Int, n: Int, k: Int)) {
        let (m, n, k) = shape
        #expect(Double(m * n * k) > BLAS.splitThreshold)
        for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
            let (lda, ldb, ldc) = ((transposeA ? m : k) + 3, (transposeB ? k : n) + 5, n + 7)
            var random = RandomGenerator(seed: UInt64(m * 1_000 + n))
            let a = (0..<(transposeA ? k : m) * lda).map { _ in Float(random.nextUnit() - 0.5) }
            let b = (0..<(transposeB ? n : k) * ldb).map { _ in Float(random.nextUnit() - 0.5) }
            let c0 = (0..<m * ldc).map { _ in Float(random.nextUnit()) }
            var (split, single) = (c0, c0)
            Float.gemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda,
                       b: b, ldb: ldb, beta: 0.5, c: &split, ldc: ldc)
            Float.gemmCall(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 0.75, a: a, lda: lda,
                           b: b, ldb: ldb, beta: 0.5, c: &single, ldc: ldc)
            let worst = zip(split, single).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-5, "[\(m), \(n), \(k)] transposes \(transposeA), \(transposeB): differs by \(worst)")
        }
    }
}
