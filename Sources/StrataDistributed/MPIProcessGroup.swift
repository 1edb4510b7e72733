import CMPI
import Foundation
import Strata

/// Why MPI could not be started.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// `MPI_Init_thread` returned an error code.
    case initializationFailed(code: Int32)
    /// MPI was started without the thread support Strata needs (MPI calls from the main thread while
    /// Strata's worker threads compute).
    case insufficientThreadSupport(provided: Int32)

    public var description: String {
        switch self {
        case .initializationFailed(let code):
            return "MPI_Init_thread failed with error code \(code)"
        case .insufficientThreadSupport(let provided):
            return "MPI provides thread level \(provided), below MPI_THREAD_FUNNELED"
        }
    }
}

/// The processes of an `mpirun` launch (`MPI_COMM_WORLD`) as a Strata `ProcessGroup`, over Open MPI.
///
/// ```swift
/// let group = MPIProcessGroup.isLaunchedByMPI ? try MPIProcessGroup.start() : nil
/// let shard = group.map { DataShard(index: $0.rank, count: $0.size) } ?? .whole
/// let trainer = try Trainer(model: model, loss: loss, optimizer: optimizer,
///                           train: DataLoader(data, batchSize: 64, shuffle: true, shard: shard), epochs: 3,
///                           processGroup: group)
/// try trainer.fit()
/// group?.finish()
/// ```
///
/// Only the thread that started MPI may use the group (`MPI_THREAD_FUNNELED`); Strata's worker threads
/// never call MPI. MPI's default error handler stays in place, so a failed collective ends the whole job.
public final class MPIProcessGroup: ProcessGroup {
    public let rank: Int
    public let size: Int
    /// The ranks on this host (from the launcher's environment).
    public let localSize: Int

    /// Whether `mpirun` (or another PMIx launcher) started this process: Open MPI's launcher sets
    /// `OMPI_COMM_WORLD_SIZE`, PMIx launchers `PMIX_RANK`.
    public static var isLaunchedByMPI: Bool {
        let environment = ProcessInfo.processInfo.environment
        return environment["OMPI_COMM_WORLD_SIZE"] != nil || environment["PMIX_RANK"] != nil
    }

    /// Starts MPI in this process (once) and joins `MPI_COMM_WORLD`.
    /// - Throws: `DistributedError` when MPI cannot start.
    public static func start() throws -> MPIProcessGroup {
        var provided: Int32 = 0
        let code = MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided)
        guard code == MPI_SUCCESS else { throw DistributedError.initializationFailed(code: code) }
        guard provided >= Int32(MPI_THREAD_FUNNELED) else {
            throw DistributedError.insufficientThreadSupport(provided: provided)
        }
        var rank: Int32 = 0, size: Int32 = 0
        MPI_Comm_rank(strata_mpi_comm_world(), &rank)
        MPI_Comm_size(strata_mpi_comm_world(), &size)
        var localSize = 1
        do { localSize = try requestedLocalSize(worldSize: Int(size)) ?? 1 } catch {
            FileHandle.standardError.write(Data("strata: warning: \(error); dividing the cores as if this rank were alone on its host\n".utf8))
        }
        return MPIProcessGroup(rank: Int(rank), size: Int(size), localSize: localSize)
    }

    /// The job size `OMPI_COMM_WORLD_SIZE` announces, or nil when it is unset.
    ///
    /// Call it before `start()` to refuse a launch environment that is not Open MPI's: `dltrain` exits with
    /// status 64 naming the variable and its value.
    /// - Throws: `EnvironmentError` when the value is not an integer from 1 to 2³¹ − 1 (MPI counts ranks in 32 bits).
    public static func requestedWorldSize(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(EnvironmentError) -> Int? {
        try rankCount("OMPI_COMM_WORLD_SIZE", environment, upTo: Int(Int32.max))
    }

    /// The ranks on this host, `OMPI_COMM_WORLD_LOCAL_SIZE`, or nil when it is unset. It only divides the host's
    /// cores among its ranks (`threadsPerRank`), so `start()` treats a value it cannot use as 1, with a warning.
    /// - Throws: `EnvironmentError` when the value is not an integer from 1 to `worldSize`.
    public static func requestedLocalSize(environment: [String: String] = ProcessInfo.processInfo.environment,
                                          worldSize: Int) throws(EnvironmentError) -> Int? {
        try rankCount("OMPI_COMM_WORLD_LOCAL_SIZE", environment, upTo: worldSize)
    }

    private static func rankCount(_ variable: String, _ environment: [String: String], upTo maximum: Int) throws(EnvironmentError) -> Int? {
        guard let value = environment[variable] else { return nil }
        guard value.allSatisfy(\.isASCII), let n = Int(value), (1...Swift.max(1, maximum)).contains(n) else {
            throw EnvironmentError(variable: variable, value: value, expected: "an integer from 1 to \(Swift.max(1, maximum))")
        }
        return n
    }

    private init(rank: Int, size: Int, localSize: Int) {
        (self.rank, self.size, self.localSize) = (rank, size, localSize)
    }

    /// Each rank's share of this host's cores: `cores / localSize`, at least 1.
    public var threadsPerRank: Int { Swift.max(1, ProcessInfo.processInfo.processorCount / Swift.max(1, localSize)) }

    public func allReduceSum(_ buffer: UnsafeMutableRawBufferPointer, dtype: DType) {
        let type: MPI_Datatype
        switch dtype {
        case .float32: type = strata_mpi_float()
        case .float64: type = strata_mpi_double()
        case .int64: type = strata_mpi_int64()
        case .bool: fatalError("MPIProcessGroup.allReduceSum: bool tensors cannot be summed")
        }
        forEachChunk(of: buffer, elementSize: dtype.size) { start, count in
            MPI_Allreduce(strata_mpi_in_place(), start, count, type, strata_mpi_sum(), strata_mpi_comm_world())
        }
    }

    public func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int) {
        forEachChunk(of: buffer, elementSize: 1) { start, count in
            MPI_Bcast(start, count, strata_mpi_byte(), Int32(root), strata_mpi_comm_world())
        }
    }

    /// Leaves MPI after a run every rank finished (or stopped at the same step); call it once, last.
    public func finish() { MPI_Finalize() }

    /// Ends every rank of the job at once, with exit status `code`: for an error only this rank has met, which
    /// would otherwise leave the others waiting in their next collective.
    public func abortAll(code: Int32) -> Never {
        MPI_Abort(strata_mpi_comm_world(), code)
        exit(code)
    }

    /// Calls `body` on consecutive pieces of `buffer` small enough for MPI's 32-bit element counts.
    private func forEachChunk(of buffer: UnsafeMutableRawBufferPointer, elementSize: Int,
                              _ body: (UnsafeMutableRawPointer, Int32) -> Int32) {
        guard let base = buffer.baseAddress else { return }
        let total = buffer.count / elementSize, chunk = Int(Int32.max) / 2
        var start = 0
        while start < total {
            let count = Swift.min(chunk, total - start)
            let code = body(base + start * elementSize, Int32(count))
            if code != MPI_SUCCESS { fatalError("MPI collective failed with error code \(code) on rank \(rank)") }
            start += count
        }
    }
}
