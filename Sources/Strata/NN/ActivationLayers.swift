/// Activation functions as layers, for `Sequential`. Each forwards to the op of the same name.

/// `max(x, 0)`, as `nn.ReLU`.
public final class ReLU: Layer {
    /// A ReLU layer.
    public init() {}
    /// `max(x, 0)` elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.relu() }
}

/// `x` for positive `x`, `negativeSlope·x` otherwise, as `nn.LeakyReLU`.
public final class LeakyReLU: Layer {
    /// The slope for negative inputs.
    public let negativeSlope: Double
    /// A leaky ReLU with the given slope for negative inputs (PyTorch's default 0.01).
    public init(negativeSlope: Double = 0.01) { self.negativeSlope = negativeSlope }
    /// `x` where `x ≥ 0`, else `negativeSlope · x`.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.leakyRelu(negativeSlope: negativeSlope) }
}

/// `x·Φ(x)` (or its tanh approximation), as `nn.GELU`.
public final class GELU: Layer {
    /// The exact erf form (`.none`) or the tanh approximation.
    public let approximate: GELUApproximation
    /// A GELU layer, exact unless `approximate` is `.tanh`.
    public init(approximate: GELUApproximation = .none) { self.approximate = approximate }
    /// `x · Φ(x)`, or its tanh approximation.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.gelu(approximate: approximate) }
}

/// `x·σ(x)`, as `nn.SiLU`.
public final class SiLU: Layer {
    /// A SiLU layer.
    public init() {}
    /// `x · σ(x)` elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.silu() }
}

/// `tanh(x)`, as `nn.Tanh`.
public final class Tanh: Layer {
    /// A tanh layer.
    public init() {}
    /// `tanh(x)` elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.tanh() }
}

/// `1 / (1 + e^(−x))`, as `nn.Sigmoid`.
public final class Sigmoid: Layer {
    /// A sigmoid layer.
    public init() {}
    /// `1 / (1 + e^−x)` elementwise.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.sigmoid() }
}

/// Softmax along `dim`, as `nn.Softmax`.
public final class Softmax: Layer {
    /// The dimension normalised over.
    public let dim: Int
    /// A softmax over dimension `dim` (negative counts from the end).
    public init(dim: Int) { self.dim = dim }
    /// `exp(x) / Σ exp(x)` along `dim`.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.softmax(dim: dim) }
}

/// Log-softmax along `dim`, as `nn.LogSoftmax`.
public final class LogSoftmax: Layer {
    /// The dimension normalised over.
    public let dim: Int
    /// A log-softmax over dimension `dim` (negative counts from the end).
    public init(dim: Int) { self.dim = dim }
    /// `x − log Σ exp(x)` along `dim`.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.logSoftmax(dim: dim) }
}

// Element-wise: the shape passes through and no multiply-adds are counted.
extension ReLU: ShapeInferring, ShapePreserving {}
extension LeakyReLU: ShapeInferring, ShapePreserving {}
extension GELU: ShapeInferring, ShapePreserving {}
extension SiLU: ShapeInferring, ShapePreserving {}
extension Tanh: ShapeInferring, ShapePreserving {}
extension Sigmoid: ShapeInferring, ShapePreserving {}

extension Softmax: ShapeInferring, ShapePreserving {
    func checkInput(_ rule: ShapeRule) throws(ShapeError) { try checkSoftmaxDim(dim, rule) }
}

extension LogSoftmax: ShapeInferring, ShapePreserving {
    func checkInput(_ rule: ShapeRule) throws(ShapeError) { try checkSoftmaxDim(dim, rule) }
}

/// `dim` must name a dimension of the input (0 or −1 for a 0-d one), as `Tensor.softmax(dim:)` requires.
private func checkSoftmaxDim(_ dim: Int, _ rule: ShapeRule) throws(ShapeError) {
    let rank = rule.input.count
    let d = dim < 0 ? dim + rank : dim
    guard d >= 0 && d < max(rank, 1) else { throw rule.error(.rank, "dim", "dim \(dim) is out of range for rank \(rank)") }
}
