/// A fully connected layer, `y = x · Wᵀ + b`, as PyTorch's `nn.Linear`.
///
/// - `weight`: `[out, in]`, initialised U(−1/√in, 1/√in) (Kaiming uniform with a = √5, PyTorch's default).
/// - `bias`: `[out]`, initialised U(−1/√in, 1/√in).
public final class Linear: Layer {
    public var weight: Tensor
    public var bias: Tensor?

    /// - Parameters:
    ///   - inFeatures: size of each input's last dimension.
    ///   - outFeatures: size of each output's last dimension.
    ///   - bias: whether to learn an additive bias.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .float32) {
        weight = Init.kaimingUniform([outFeatures, inFeatures], a: 5.0.squareRoot(), dtype: dtype)
        weight.requiresGrad = true
        let bound = inFeatures > 0 ? 1 / Double(inFeatures).squareRoot() : 0
        self.bias = bias ? Init.uniform([outFeatures], low: -bound, high: bound, dtype: dtype) : nil
        self.bias?.requiresGrad = true
    }

    /// `[..., in] → [..., out]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.linear(input, weight: weight, bias: bias)
    }
}

/// Flattens dimensions `startDim...endDim` (by default all but the batch dimension), as `nn.Flatten`.
public final class Flatten: Layer {
    public let startDim: Int
    public let endDim: Int

    public init(startDim: Int = 1, endDim: Int = -1) {
        (self.startDim, self.endDim) = (startDim, endDim)
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { input.flattened(from: startDim, to: endDim) }
}
