/// Activation functions as layers, for `Sequential`. Each forwards to the op of the same name.

/// `max(x, 0)`, as `nn.ReLU`.
public final class ReLU: Layer {
    public init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { input.relu() }
}

/// `x` for positive `x`, `negativeSlope·x` otherwise, as `nn.LeakyReLU`.
public final class LeakyReLU: Layer {
    public let negativeSlope: Double
    public init(negativeSlope: Double = 0.01) { self.negativeSlope = negativeSlope }
    public func callAsFunction(_ input: Tensor) -> Tensor { input.leakyRelu(negativeSlope: negativeSlope) }
}

/// `x·Φ(x)` (or its tanh approximation), as `nn.GELU`.
public final class GELU: Layer {
    public let approximate: GELUApproximation
    public init(approximate: GELUApproximation = .none) { self.approximate = approximate }
    public func callAsFunction(_ input: Tensor) -> Tensor { input.gelu(approximate: approximate) }
}

/// `x·σ(x)`, as `nn.SiLU`.
public final class SiLU: Layer {
    public init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { input.silu() }
}

/// `tanh(x)`, as `nn.Tanh`.
public final class Tanh: Layer {
    public init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { input.tanh() }
}

/// `1 / (1 + e^(−x))`, as `nn.Sigmoid`.
public final class Sigmoid: Layer {
    public init() {}
    public func callAsFunction(_ input: Tensor) -> Tensor { input.sigmoid() }
}

/// Softmax along `dim`, as `nn.Softmax`.
public final class Softmax: Layer {
    public let dim: Int
    public init(dim: Int) { self.dim = dim }
    public func callAsFunction(_ input: Tensor) -> Tensor { input.softmax(dim: dim) }
}

/// Log-softmax along `dim`, as `nn.LogSoftmax`.
public final class LogSoftmax: Layer {
    public let dim: Int
    public init(dim: Int) { self.dim = dim }
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
