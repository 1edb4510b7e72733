// Shapes: N = examples, B = batch. Inputs [N, …] and targets [N, …] of any dtypes.

/// Examples held as two tensors whose first dimension indexes them, as PyTorch's `TensorDataset(x, y)`: the
/// batch of indices `[i, j, …]` is `(inputs[[i, j, …]], targets[[i, j, …]])`.
///
/// Any dtypes: float32 features and targets for a regression, int64 token windows for a language model.
public struct TensorDataset: BatchDataset {
    /// `[N, …]`.
    public let inputs: Tensor
    /// `[N, …]`.
    public let targets: Tensor

    /// The examples `inputs[i]`, `targets[i]` for `i` in `0..<N`. Batches are copies, never on the tape.
    public init(inputs: Tensor, targets: Tensor) {
        require(inputs.rank >= 1 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
                "TensorDataset: inputs \(inputs.shape) and targets \(targets.shape) must have the same first dimension")
        (self.inputs, self.targets) = (inputs.contiguousData(), targets.contiguousData())
    }

    public var count: Int { inputs.shape[0] }

    public func batch(_ indices: [Int]) -> (inputs: Tensor, targets: Tensor) {
        (Self.rows(indices, of: inputs), Self.rows(indices, of: targets))
    }

    /// Rows `indices` of the contiguous `source` `[N, …]`, as a new `[indices.count, …]` tensor.
    private static func rows(_ indices: [Int], of source: Tensor) -> Tensor {
        let out = Tensor(uninitialized: [indices.count] + Array(source.shape.dropFirst()), dtype: source.dtype)
        let rowBytes = source.count / Swift.max(source.shape[0], 1) * source.dtype.size
        let (from, to) = (UnsafeRawPointer(source.pointer(UInt8.self)), UnsafeMutableRawPointer(out.pointer(UInt8.self)))
        for (row, index) in indices.enumerated() {
            require((0..<source.shape[0]).contains(index), "TensorDataset: index \(index) outside 0..<\(source.shape[0])")
            (to + row * rowBytes).copyMemory(from: from + index * rowBytes, byteCount: rowBytes)
        }
        return out
    }
}
