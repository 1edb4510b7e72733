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

    /// The examples `inputs[i]`, `targets[i]` for `i` in `0..<N`; both are read as they are now (detached).
    public init(inputs: Tensor, targets: Tensor) {
        require(inputs.rank >= 1 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
                "TensorDataset: inputs \(inputs.shape) and targets \(targets.shape) must have the same first dimension")
        (self.inputs, self.targets) = (inputs.detached().contiguous(), targets.detached().contiguous())
    }

    public var count: Int { inputs.shape[0] }

    public func batch(_ indices: [Int]) -> (inputs: Tensor, targets: Tensor) {
        let index = Tensor(indices.map(Int64.init))
        return withNoGrad { (inputs.indexSelect(dim: 0, index: index), targets.indexSelect(dim: 0, index: index)) }
    }
}
