/// Averages the gradients of a set of parameters over the ranks of a `ProcessGroup`, as PyTorch's DDP does:
/// the gradients are packed into a few large flat buckets, each bucket is summed across ranks with one
/// all-reduce, and divided by the number of ranks.
///
/// Call `average()` after `backward()` and before the optimizer step, on every rank. Afterwards each
/// parameter's `grad` is a view into its bucket, which is allocated once and reused on every step (the
/// next `average()` overwrites it, so do not keep a gradient across steps). A parameter without a gradient
/// on this rank counts as zeros in the mean, and receives the mean like every other parameter.
///
/// The all-reduces run after the whole backward pass rather than overlapped with it. On one machine the
/// ranks already use every core for backward, and Open MPI's shared-memory reduction needs a core to make
/// progress, so an overlapped reduction would only wait; see Docs/Distributed.md for the measured share.
public final class GradientBuckets {
    /// The ranks the gradients are averaged over.
    public let group: any ProcessGroup
    /// The parameters whose gradients are averaged, in bucket order.
    public let parameters: [Tensor]
    /// The buckets' sizes in elements, in the order they are reduced.
    public var bucketSizes: [Int] { buckets.map(\.storage.count) }

    private struct Bucket {
        let storage: Tensor            // [elements], contiguous, one dtype
        let members: [(parameter: Int, view: Tensor)]
    }
    private let buckets: [Bucket]

    /// Buckets for `parameters` (floating-point, any shapes), each holding at most `bucketBytes` bytes unless a
    /// single parameter is larger (DDP's default cap is 25 MiB).
    public init(_ parameters: [Tensor], group: any ProcessGroup, bucketBytes: Int = 25 << 20) {
        require(bucketBytes > 0, "GradientBuckets: bucketBytes must be positive, got \(bucketBytes)")
        self.group = group
        self.parameters = parameters
        var buckets: [Bucket] = []
        var pending: [Int] = []
        func close() {
            guard let first = pending.first else { return }
            let dtype = parameters[first].dtype
            let storage = Tensor.zeros([pending.reduce(0) { $0 + parameters[$1].count }], dtype: dtype)
            var offset = 0, members: [(Int, Tensor)] = []
            for index in pending {
                let p = parameters[index]
                members.append((index, Tensor(storage: storage.storage, shape: p.shape, strides: Shape.contiguousStrides(p.shape),
                                              offset: offset, dtype: dtype)))
                offset += p.count
            }
            buckets.append(Bucket(storage: storage, members: members))
            pending = []
        }
        var bytes = 0
        for (index, p) in parameters.enumerated() {
            require(p.dtype.isFloatingPoint, "GradientBuckets: parameter \(index) of shape \(p.shape) is \(p.dtype), not floating-point")
            if let first = pending.first, parameters[first].dtype != p.dtype || bytes + p.count * p.dtype.size > bucketBytes {
                close()
                bytes = 0
            }
            pending.append(index)
            bytes += p.count * p.dtype.size
        }
        close()
        self.buckets = buckets
    }

    /// Replaces every parameter's gradient with its mean over the ranks.
    public func average() {
        let scale = 1 / Double(group.size)
        for bucket in buckets {
            for (index, view) in bucket.members {
                if let grad = parameters[index].grad {
                    require(grad.shape == view.shape && grad.dtype == view.dtype,
                            "GradientBuckets: gradient \(grad.shape) \(grad.dtype) of a parameter \(view.shape) \(view.dtype)")
                    view.assign(grad)
                } else {
                    view.pointer(UInt8.self).initialize(repeating: 0, count: view.count * view.dtype.size)
                }
            }
            let storage = bucket.storage
            group.allReduceSum(UnsafeMutableRawBufferPointer(start: storage.pointer(UInt8.self), count: storage.count * storage.dtype.size),
                               dtype: storage.dtype)
            switch storage.dtype {
            case .float32: scaleInPlace(storage.pointer(Float.self), count: storage.count, by: Float(scale))
            default: scaleInPlace(storage.pointer(Double.self), count: storage.count, by: scale)
            }
            for (index, view) in bucket.members { parameters[index].grad = view }
        }
    }
}

private func scaleInPlace<T: FloatElement>(_ x: UnsafeMutablePointer<T>, count: Int, by factor: T) {
    for i in 0..<count { x[i] *= factor }
}
