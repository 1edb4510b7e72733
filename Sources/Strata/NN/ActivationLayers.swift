/// Activation functions as layers, for `Sequential`. Each forwards to the op of the same name.

/// `max(x, 0)`, as `nn.ReLU`.
public final class ReLU: Layer {
    public init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { input.relu() }
}
