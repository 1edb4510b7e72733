import Foundation

/// Positional encodings added to batch-first token sequences. Shapes: `B` = batch, `T` = length (≤ `maxLength`),
/// `D` = feature size.

/// A learned vector per position, added to the input: `y[b, t] = x[b, t] + weight[t]`.
///
/// - `weight`: `[maxLength, D]`, initialised N(0, std²) (std 1 by default, as `nn.Embedding`).
public final class LearnedPositionalEmbedding: Layer {
    public let maxLength: Int
    public let dim: Int
    public var weight: Tensor

    /// - Parameters:
    ///   - maxLength: the longest sequence accepted.
    ///   - dim: `D`.
    ///   - std: the standard deviation of the initial values.
    public init(maxLength: Int, dim: Int, std: Double = 1, dtype: DType = .float32) {
        let state = requireSettings { try Self.stateShapes(maxLength: maxLength, dim: dim, dtype: dtype) }
        (self.maxLength, self.dim) = (maxLength, dim)
        weight = Init.normal(state[0].shape, std: std, dtype: dtype)
        weight.requiresGrad = true
    }

    /// The state `init` makes, before making it: `weight` `[maxLength, D]`.
    /// - Throws: `ShapeError` for a negative size (`.setting`) or a table with more elements than fit in `Int`.
    public static func stateShapes(maxLength: Int, dim: Int, dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule("LearnedPositionalEmbedding")
        try rule.size("max_length", maxLength, atLeast: 0)
        try rule.size("dim", dim, atLeast: 0)
        return [try rule.entry("weight", [maxLength, dim], dtype)]
    }

    /// `[B, T, D]` (or `[T, D]`) → the same shape.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(input.rank >= 2 && input.shape[input.rank - 1] == dim && input.shape[input.rank - 2] <= maxLength,
                "LearnedPositionalEmbedding: input \(input.shape) must be [B, T, \(dim)] with T ≤ \(maxLength)")
        return input + weight.slice(0, 0..<input.shape[input.rank - 2])     // [B, T, D] + [T, D]
    }
}

/// The fixed sinusoidal encoding of "Attention Is All You Need" (Vaswani et al., 2017, §3.5), added to the input.
///
/// `pe[t, 2i] = sin(t / 10000^(2i/D))`, `pe[t, 2i+1] = cos(t / 10000^(2i/D))`.
/// - Buffer `pe`: `[maxLength, D]`, saved in the state dict but not trained.
public final class SinusoidalPositionalEncoding: Layer {
    public let maxLength: Int
    public let dim: Int
    @Buffer public var pe: Tensor

    /// - Parameters:
    ///   - maxLength: the longest sequence accepted.
    ///   - dim: `D`.
    public init(maxLength: Int, dim: Int, dtype: DType = .float32) {
        (self.maxLength, self.dim) = (maxLength, dim)
        var values = [Double](repeating: 0, count: maxLength * dim)
        for t in 0..<maxLength {
            for j in 0..<dim {
                let angle = Double(t) / Foundation.pow(10_000, Double(j - j % 2) / Double(dim))
                values[t * dim + j] = j % 2 == 0 ? Foundation.sin(angle) : Foundation.cos(angle)
            }
        }
        pe = Tensor(values, shape: [maxLength, dim]).to(dtype)
    }

    /// `[B, T, D]` (or `[T, D]`) → the same shape.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(input.rank >= 2 && input.shape[input.rank - 1] == dim && input.shape[input.rank - 2] <= maxLength,
                "SinusoidalPositionalEncoding: input \(input.shape) must be [B, T, \(dim)] with T ≤ \(maxLength)")
        return input + pe.slice(0, 0..<input.shape[input.rank - 2])         // [B, T, D] + [T, D]
    }
}

/// `[B, T, D]` (or `[T, D]`) with `D = dim` and `T ≤ maxLength` keeps its shape; an addition counts no FLOPs.
private func checkPositions(_ rule: ShapeRule, maxLength: Int, dim: Int) throws(ShapeError) {
    try rule.rank(atLeast: 2, "[B, T, \(dim)] or [T, \(dim)]")
    try rule.dimension(-1, is: dim, argument: "dim")
    let length = rule.input[rule.input.count - 2]
    guard length <= maxLength else {
        throw rule.error(.size, "max_length", "the sequence length \(length) is longer than max_length \(maxLength)")
    }
}

extension LearnedPositionalEmbedding: ShapeInferring, ShapePreserving {
    func checkInput(_ rule: ShapeRule) throws(ShapeError) { try checkPositions(rule, maxLength: maxLength, dim: dim) }
}

extension SinusoidalPositionalEncoding: ShapeInferring, ShapePreserving {
    func checkInput(_ rule: ShapeRule) throws(ShapeError) { try checkPositions(rule, maxLength: maxLength, dim: dim) }
}
