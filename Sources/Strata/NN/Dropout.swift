/// The dropout layer, as `nn.Dropout`; the op (`Tensor.dropout`) is in Ops/DropoutOps.swift.

/// Randomly zeroes elements during training, as `nn.Dropout`; the identity in evaluation mode.
///
/// Training: `y = x·m/(1 − p)`, `m ~ Bernoulli(1 − p)` from the global generator. `train()`/`eval()` on any
/// enclosing module switch it.
public final class Dropout: Layer, ModeDependent {
    /// The probability of zeroing an element.
    public let p: Double
    /// Whether to drop (training) or pass the input through (evaluation); see `train()`/`eval()`.
    public var isTraining = true

    /// A dropout layer that zeroes each element with probability `p` in training (PyTorch's default 0.5).
    public init(p: Double = 0.5) {
        require((0...1).contains(p), "Dropout: probability \(p) must be in [0, 1]")
        self.p = p
    }

    /// Any shape → the same shape.
    public func callAsFunction(_ input: Tensor) -> Tensor { input.dropout(p: p, training: isTraining) }
}

extension Dropout: ShapeInferring, ShapePreserving {}
