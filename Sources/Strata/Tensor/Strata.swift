import Foundation

/// Library-wide settings: threads, the kernels' instruction-set level, the random seed and the buffer pool's counters.
public enum Strata {
    /// Threads of Strata's pool, which runs the kernels' parallel loops and the parts of a large gemm, from 1 to
    /// `maximumThreads`.
    ///
    /// Defaults to the number of cores, or to `STRATA_THREADS` when that is set to an integer in that range (any
    /// other value falls back to the cores with a warning; `requestedThreads()` throws for it).
    /// OpenBLAS itself runs every call on one thread: a large product is split over the pool instead, so one
    /// number governs all the threads and no second pool competes for the cores.
    public static var threads: Int {
        get { KernelThreads.current }
        set {
            require((1...maximumThreads).contains(newValue), "Strata.threads: must be from 1 to \(maximumThreads), got \(newValue)")
            KernelThreads.set(newValue)
        }
    }

    /// The most threads `threads` and `STRATA_THREADS` may ask for: 1024.
    public static var maximumThreads: Int { KernelThreads.maximum }

    /// The thread count `STRATA_THREADS` asks for, or nil when it is unset or empty.
    ///
    /// Call it at start-up to refuse a bad value instead of running on the fallback: `dltrain` exits with status
    /// 64 naming the variable and its value.
    /// - Throws: `EnvironmentError` when the value is not an integer from 1 to `maximumThreads`.
    public static func requestedThreads(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(EnvironmentError) -> Int? {
        try KernelThreads.requested(environment: environment)
    }

    /// Reseeds the global random generator. The same seed gives the same numbers on every run.
    public static func seed(_ value: UInt64) {
        RandomGenerator.global.withLock { $0 = RandomGenerator(seed: value) }
    }

    /// The global generator's state, to save with a checkpoint and restore on resume.
    public static var randomState: RandomGenerator {
        get { RandomGenerator.global.withLock { $0 } }
        set { RandomGenerator.global.withLock { $0 = newValue } }
    }

    /// The instruction-set level Strata's Float32 kernels run at, chosen once at first use: the widest this
    /// CPU runs, or the level `STRATA_ISA` (`baseline`, `avx2`, `avx512`) names. A value it cannot use falls
    /// back to the widest level with a warning on standard error; `KernelISA.requested()` throws for it.
    public static var instructionSet: KernelISA { KernelISA.selected }

    /// The OpenBLAS build in use, as `openblas_get_config()` describes it.
    public static var blasConfiguration: String { BLAS.configuration }

    /// Counters of the tensor buffer pool: how many buffers came from `malloc` and how many were reused.
    public static var memoryStatistics: MemoryStatistics { BufferPool.shared.statistics }

    /// Frees every cached buffer the pool holds.
    public static func releaseCachedMemory() { BufferPool.shared.releaseCached() }
}
