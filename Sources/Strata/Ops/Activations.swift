/// Activation functions. Each pullback multiplies the incoming gradient by the derivative at the input.

enum ReLUFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .relu
    static func apply<T: FloatElement>(_ x: T) -> T { x > 0 ? x : 0 }
}
enum ReLUGradFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .reluGradX
    /// `g · 1[x > 0]`: the gradient `g` where the input `x` was positive.
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T { x > 0 ? g : 0 }
}

extension Tensor {
    /// `max(x, 0)`.
    public func relu() -> Tensor {
        let x = detached()
        return Tensor.differentiable("relu", inputs: [self], output: unary(ReLUFunction.self, op: "relu")) { g in
            [Tensor.binary(ReLUGradFunction.self, g, x, op: "relu backward")]
        }
    }
}

enum LeakyReLUFunction: ParameterizedUnaryFunction {
    static let kernel: UnaryKernel? = .leakyRelu
    /// `x` if positive, else `slope · x` (`slope = p.a`).
    static func apply<T: FloatElement>(_ x: T, _ p: MapParameters<T>) -> T { x > 0 ? x : x * p.a }
}
enum LeakyReLUGradFunction: ParameterizedBinaryFunction {
    static let kernel: BinaryKernel? = .leakyReluGradX
    /// `g` where `x > 0`, else `slope · g`.
    static func apply<T: FloatElement>(_ g: T, _ x: T, _ p: MapParameters<T>) -> T { x > 0 ? g : g * p.a }
}

enum TanhFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .tanh
    static func apply<T: FloatElement>(_ x: T) -> T { T.tanh(x) }
}
enum TanhGradFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .tanhGradY
    /// `g · (1 − y²)` from the output `y = tanh x`.
    static func apply<T: FloatElement>(_ g: T, _ y: T) -> T { g * (1 - y * y) }
}

/// `1 / (1 + e⁻ˣ)`, evaluated so that `exp` never overflows: for `x < 0` as `eˣ / (1 + eˣ)`.
/// Saturates to exactly 0 and 1 for large |x| with no NaN.
@inline(__always)
func logistic<T: FloatElement>(_ x: T) -> T {
    if x >= 0 { return 1 / (1 + T.exp(-x)) }
    let e = T.exp(x)
    return e / (1 + e)
}

enum SigmoidFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .sigmoid
    static func apply<T: FloatElement>(_ x: T) -> T { logistic(x) }
}
enum SigmoidGradFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .sigmoidGradY
    /// `g · y(1 − y)` from the output `y = σ(x)`.
    static func apply<T: FloatElement>(_ g: T, _ y: T) -> T { g * y * (1 - y) }
}

enum SiLUFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .silu
    static func apply<T: FloatElement>(_ x: T) -> T { x * logistic(x) }
}
enum SiLUGradFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .siluGradX
    /// `g · σ(x)(1 + x(1 − σ(x)))`, the derivative of `x·σ(x)`.
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T {
        let s = logistic(x)
        return g * s * (1 + x * (1 - s))
    }
}

/// Constants of the two GELU forms.
enum GELUConstants {
    static let inverseSqrt2 = 0.7071067811865476        // 1/√2
    static let inverseSqrt2Pi = 0.3989422804014327      // 1/√(2π), the normal density's factor
    static let sqrt2OverPi = 0.7978845608028654         // √(2/π)
    static let cubic = 0.044715                         // Hendrycks & Gimpel (2016), eq. for the tanh form
}

/// Exact GELU: Float32 through the `gelu` kernel (a scalar `erff` call per element was a fifth of a
/// transformer step), Float64 through libm's `erf` and `exp`.
enum GELUFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .gelu
    /// `x · Φ(x) = ½x(1 + erf(x/√2))`.
    static func apply<T: FloatElement>(_ x: T) -> T {
        let half = T(fromDouble: 0.5)
        return half * x * (1 + T.erf(x * T(fromDouble: GELUConstants.inverseSqrt2)))
    }
}
enum GELUGradFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .geluGradX
    /// `g · (Φ(x) + x·φ(x))` with `φ(x) = e^(−x²/2)/√(2π)`.
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T {
        let half = T(fromDouble: 0.5)
        let cdf = half * (1 + T.erf(x * T(fromDouble: GELUConstants.inverseSqrt2)))
        let pdf = T(fromDouble: GELUConstants.inverseSqrt2Pi) * T.exp(-half * x * x)
        return g * (cdf + x * pdf)
    }
}

enum GELUTanhFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .geluTanh
    /// `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    static func apply<T: FloatElement>(_ x: T) -> T {
        let u = T(fromDouble: GELUConstants.sqrt2OverPi) * (x + T(fromDouble: GELUConstants.cubic) * x * x * x)
        return T(fromDouble: 0.5) * x * (1 + T.tanh(u))
    }
}
enum GELUTanhGradFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .geluTanhGradX
    /// `g · (½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²))` with `t = tanh(√(2/π)(x + 0.044715x³))`.
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T {
        let k = T(fromDouble: GELUConstants.sqrt2OverPi), c = T(fromDouble: GELUConstants.cubic)
        let half = T(fromDouble: 0.5)
        let t = T.tanh(k * (x + c * x * x * x))
        return g * (half * (1 + t) + half * x * (1 - t * t) * k * (1 + 3 * c * x * x))
    }
}

/// The two forms of GELU, as `torch.nn.functional.gelu`'s `approximate` argument.
public enum GELUApproximation: Sendable {
    /// The exact form `x·Φ(x)` with the normal CDF written through `erf`.
    case none
    /// The tanh approximation of Hendrycks & Gimpel, used by GPT-2 and BERT.
    case tanh
}

extension Tensor {
    /// `x` where positive, else `negativeSlope · x`, as `torch.nn.functional.leaky_relu`.
    /// The gradient is 1 for `x > 0`, else `negativeSlope`.
    public func leakyRelu(negativeSlope: Double = 0.01) -> Tensor {
        let x = detached()
        let out = unary(LeakyReLUFunction.self, negativeSlope, op: "leakyRelu")
        return Tensor.differentiable("leakyRelu", inputs: [self], output: out) { g in
            [Tensor.binary(LeakyReLUGradFunction.self, g, x, negativeSlope, op: "leakyRelu backward")]
        }
    }

    /// The hyperbolic tangent elementwise. `d/dx tanh x = 1 − tanh²x`.
    public func tanh() -> Tensor {
        let out = unary(TanhFunction.self, op: "tanh")
        let y = out.detached()
        return Tensor.differentiable("tanh", inputs: [self], output: out) { g in
            [Tensor.binary(TanhGradFunction.self, g, y, op: "tanh backward")]
        }
    }

    /// The logistic function `σ(x) = 1 / (1 + e⁻ˣ)`, stable for any `x` (exactly 0 or 1 far out, never NaN).
    /// `σ'(x) = σ(x)(1 − σ(x))`.
    public func sigmoid() -> Tensor {
        let out = unary(SigmoidFunction.self, op: "sigmoid")
        let y = out.detached()
        return Tensor.differentiable("sigmoid", inputs: [self], output: out) { g in
            [Tensor.binary(SigmoidGradFunction.self, g, y, op: "sigmoid backward")]
        }
    }

    /// The Gaussian error linear unit, as `torch.nn.functional.gelu`.
    ///
    /// `.none`: `x·Φ(x) = ½x(1 + erf(x/√2))`; `.tanh`: `½x(1 + tanh(√(2/π)(x + 0.044715x³)))`.
    /// Reference: Hendrycks & Gimpel, "Gaussian Error Linear Units (GELUs)", 2016.
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        let x = detached()
        switch approximate {
        case .none:
            return Tensor.differentiable("gelu", inputs: [self], output: unary(GELUFunction.self, op: "gelu")) { g in
                [Tensor.binary(GELUGradFunction.self, g, x, op: "gelu backward")]
            }
        case .tanh:
            return Tensor.differentiable("gelu(tanh)", inputs: [self], output: unary(GELUTanhFunction.self, op: "gelu")) { g in
                [Tensor.binary(GELUTanhGradFunction.self, g, x, op: "gelu backward")]
            }
        }
    }

    /// The sigmoid linear unit (swish) `x·σ(x)`, as `torch.nn.functional.silu`.
    /// `d/dx = σ(x)(1 + x(1 − σ(x)))`.
    public func silu() -> Tensor {
        let x = detached()
        return Tensor.differentiable("silu", inputs: [self], output: unary(SiLUFunction.self, op: "silu")) { g in
            [Tensor.binary(SiLUGradFunction.self, g, x, op: "silu backward")]
        }
    }
}
