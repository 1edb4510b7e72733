/// The processes of a data-parallel run and the two collectives training needs from them.
///
/// Strata's core knows no transport: `StrataDistributed` implements this over Open MPI, and `Trainer`,
/// `GradientBuckets` and `broadcastState(of:from:)` work with any implementation. Every rank must make
/// the same calls in the same order, with buffers of the same size, as with MPI collectives.
public protocol ProcessGroup: AnyObject {
    /// This process's position, `0..<size`. Rank 0 writes checkpoints, metrics and progress.
    var rank: Int { get }
    /// The number of processes.
    var size: Int { get }
    /// Replaces `buffer`'s elements (of type `dtype`) with their elementwise sum over all ranks, in place.
    func allReduceSum(_ buffer: UnsafeMutableRawBufferPointer, dtype: DType)
    /// Replaces `buffer`'s bytes on every rank with those of rank `root`.
    func broadcast(_ buffer: UnsafeMutableRawBufferPointer, root: Int)
}

extension ProcessGroup {
    /// Sums `values` over all ranks, in place.
    public func allReduceSum(_ values: inout [Double]) {
        values.withUnsafeMutableBytes { allReduceSum($0, dtype: .float64) }
    }
}

/// Overwrites every parameter and buffer of `model` with rank `root`'s, so all ranks start from the same weights
/// (PyTorch's DDP does the same when it wraps a model).
public func broadcastState(of model: any Module, from root: Int = 0, in group: any ProcessGroup) {
    for (name, tensor) in model.stateDict().sorted(by: { $0.key < $1.key }) {
        require(tensor.isContiguous, "broadcastState: '\(name)' of shape \(tensor.shape) is not contiguous")
        group.broadcast(UnsafeMutableRawBufferPointer(start: tensor.pointer(UInt8.self), count: tensor.count * tensor.dtype.size),
                        root: root)
    }
}
