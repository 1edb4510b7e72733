import Foundation

/// Weight initialisers with PyTorch's `torch.nn.init` semantics. Each returns a new tensor drawn from the
/// global generator (`Strata.seed(_:)`).
public enum Init {
    /// Whether a Kaiming initialiser preserves the variance of the forward pass (fan in) or the backward pass (fan out).
    public enum FanMode: Sendable {
        /// Scale by the weight's inputs: preserves the forward pass's variance.
        case fanIn
        /// Scale by the weight's outputs: preserves the backward pass's variance.
        case fanOut
    }

    /// `(fan_in, fan_out)` of a weight: `[out, in, k…]` → `(in·Πk, out·Πk)`, as PyTorch computes them.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        require(shape.count >= 2, "Init.fans: needs at least 2 dims, got shape \(shape)")
        let receptive = shape.dropFirst(2).reduce(1, *)
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// The recommended gain for a nonlinearity: 1 for linear/sigmoid, 5/3 for tanh, √2 for ReLU,
    /// √(2 / (1 + slope²)) for leaky ReLU.
    public static func gain(nonlinearity: String, negativeSlope: Double = 0.01) -> Double {
        switch nonlinearity {
        case "tanh": 5.0 / 3
        case "relu": 2.0.squareRoot()
        case "leaky_relu": (2 / (1 + negativeSlope * negativeSlope)).squareRoot()
        default: 1
        }
    }

    /// U(low, high).
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32) -> Tensor {
        Tensor.uniform(shape, low: low, high: high, dtype: dtype)
    }

    /// N(mean, std²).
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32) -> Tensor {
        Tensor.normal(shape, mean: mean, std: std, dtype: dtype)
    }

    /// Glorot uniform: U(−a, a) with a = gain·√(6 / (fan_in + fan_out)).
    public static func xavierUniform(_ shape: [Int], gain: Double = 1, dtype: DType = .float32) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        let bound = gain * (6.0 / Double(fanIn + fanOut)).squareRoot()
        return uniform(shape, low: -bound, high: bound, dtype: dtype)
    }

    /// Glorot normal: N(0, gain²·2 / (fan_in + fan_out)).
    public static func xavierNormal(_ shape: [Int], gain: Double = 1, dtype: DType = .float32) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        return normal(shape, std: gain * (2.0 / Double(fanIn + fanOut)).squareRoot(), dtype: dtype)
    }

    /// He uniform: U(−b, b) with b = gain·√(3 / fan), gain = √(2 / (1 + a²)) for leaky ReLU slope `a`.
    public static func kaimingUniform(_ shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
                                      nonlinearity: String = "leaky_relu", dtype: DType = .float32) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        let fan = Double(mode == .fanIn ? fanIn : fanOut)
        let bound = gain(nonlinearity: nonlinearity, negativeSlope: a) * (3 / fan).squareRoot()
        return uniform(shape, low: -bound, high: bound, dtype: dtype)
    }

    /// He normal: N(0, (gain / √fan)²).
    public static func kaimingNormal(_ shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
                                     nonlinearity: String = "leaky_relu", dtype: DType = .float32) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        let fan = Double(mode == .fanIn ? fanIn : fanOut)
        return normal(shape, std: gain(nonlinearity: nonlinearity, negativeSlope: a) / fan.squareRoot(), dtype: dtype)
    }

    /// A (semi-)orthogonal matrix from the QR factorisation of a Gaussian matrix (LAPACKE `?geqrf`/`?orgqr`),
    /// with the signs of R's diagonal folded in so the distribution is uniform, as `torch.nn.init.orthogonal_`.
    /// Dims after the first are flattened: `[rows, cols]`.
    public static func orthogonal(_ shape: [Int], gain: Double = 1, dtype: DType = .float32) -> Tensor {
        require(shape.count >= 2, "Init.orthogonal: needs at least 2 dims, got shape \(shape)")
        let rows = shape[0], cols = shape.dropFirst().reduce(1, *)
        // Factor the tall orientation [m, n] with m ≥ n, then transpose back if rows < cols.
        let (m, n) = (max(rows, cols), min(rows, cols))
        let a = normal([m, n], dtype: .float64).contiguousData()
        let p = a.pointer(Double.self)
        var tau = [Double](repeating: 0, count: n)
        let qrStatus = Double.geqrf(m: m, n: n, a: p, lda: n, tau: &tau)
        require(qrStatus == 0, "Init.orthogonal: dgeqrf failed with info \(qrStatus)")
        let signs = (0..<n).map { p[$0 * n + $0] < 0 ? -1.0 : 1.0 }
        let orgStatus = Double.orgqr(m: m, n: n, k: n, a: p, lda: n, tau: tau)
        require(orgStatus == 0, "Init.orthogonal: dorgqr failed with info \(orgStatus)")
        for r in 0..<m { for c in 0..<n { p[r * n + c] *= signs[c] * gain } }
        let q = rows < cols ? a.transposed().contiguous() : a
        return q.reshaped(shape).to(dtype)
    }
}
