import Foundation

/// Counters kept by the tensor buffer pool.
public struct MemoryStatistics: Sendable, Equatable {
    /// Buffers obtained from the system allocator since the process started.
    public var allocations: Int
    /// Buffer requests served from the pool's cache instead.
    public var reuses: Int
    /// Bytes currently held in the cache, ready for reuse.
    public var cachedBytes: Int
}

/// A reference-counted block of raw memory behind one or more tensors (views share it).
///
/// Its memory comes from, and returns to, `BufferPool.shared`, so that a training step that makes the
/// same intermediates every time reuses last step's buffers instead of calling `malloc`.
final class TensorStorage: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    /// Usable bytes: at least what was asked for, rounded up to the pool's bucket size.
    let capacity: Int

    init(byteCount: Int) {
        (base, capacity) = BufferPool.shared.acquire(byteCount)
    }

    deinit {
        BufferPool.shared.release(base, capacity: capacity)
    }
}

/// A size-bucketed cache of 64-byte-aligned buffers. Buckets are powers of two from 64 bytes.
final class BufferPool: @unchecked Sendable {
    static let shared = BufferPool()

    private let lock = NSLock()
    private var free: [Int: [UnsafeMutableRawPointer]] = [:]
    private var counters = MemoryStatistics(allocations: 0, reuses: 0, cachedBytes: 0)

    private static func bucket(for byteCount: Int) -> Int {
        let size = max(byteCount, 64)
        return size.nonzeroBitCount == 1 ? size : 1 << (Int.bitWidth - (size - 1).leadingZeroBitCount)
    }

    func acquire(_ byteCount: Int) -> (UnsafeMutableRawPointer, Int) {
        let capacity = Self.bucket(for: byteCount)
        lock.lock()
        if let pointer = free[capacity]?.popLast() {
            counters.reuses += 1
            counters.cachedBytes -= capacity
            lock.unlock()
            return (pointer, capacity)
        }
        counters.allocations += 1
        lock.unlock()
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, capacity) == 0, let pointer = raw else {
            fatalError("Strata: out of memory allocating a \(capacity)-byte tensor buffer")
        }
        return (pointer, capacity)
    }

    func release(_ pointer: UnsafeMutableRawPointer, capacity: Int) {
        lock.lock()
        free[capacity, default: []].append(pointer)
        counters.cachedBytes += capacity
        lock.unlock()
    }

    var statistics: MemoryStatistics {
        lock.lock()
        defer { lock.unlock() }
        return counters
    }

    func releaseCached() {
        lock.lock()
        let cached = free
        free = [:]
        counters.cachedBytes = 0
        lock.unlock()
        for pointers in cached.values { pointers.forEach { Foundation.free($0) } }
    }
}
