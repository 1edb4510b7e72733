import RealModule

/// Elementwise math: powers, exp/log/sqrt, abs, clamp, maximum/minimum and `where`.
/// Binary ops broadcast as NumPy does; a pullback sums its gradient back to each operand's shape
/// (`sum(toShape:)`). Pullbacks that need the output (exp, sqrt, pow) capture a detached view of it.

// MARK: Kernels

/// `out = c ? a : b` elementwise, all three broadcast to `out`'s shape. `E` is any element type of the
/// right size: the kernel only moves bits.
func selectMap<E>(_: E.Type, _ c: Tensor, _ a: Tensor, _ b: Tensor, into out: Tensor) {
    let pc = c.pointer(UInt8.self), pa = a.pointer(E.self), pb = b.pointer(E.self), dst = out.pointer(E.self)
    let operands = [c, a, b].map { Shape.broadcastStrides(shape: $0.shape, strides: $0.strides, to: out.shape) }
    let (shape, strides) = Shape.coalesce(out.shape, operands + [out.strides])
    let n = shape[shape.count - 1]
    let ic = strides[0][strides[0].count - 1], ia = strides[1][strides[1].count - 1]
    let ib = strides[2][strides[2].count - 1]
    Shape.forEachRow(shape, strides, grain: elementwiseGrain) { offsets in
        let m = pc + offsets[0], x = pa + offsets[1], y = pb + offsets[2], d = dst + offsets[3]
        for i in 0..<n { d[i] = m[i * ic] != 0 ? x[i * ia] : y[i * ib] }
    }
}

// MARK: Functions

/// `x^n` for an integral exponent `n` (stored in `p.a`): libm's `pow`, so negative bases give real
/// results (`(-2)² = 4`) and `0⁰ = 1`, as in PyTorch.
enum PowIntegerFunction: ParameterizedUnaryFunction {
    static func apply<T: FloatElement>(_ x: T, _ p: MapParameters<T>) -> T {
        p.a == 2 ? x * x : T.pow(x, Int(p.a))
    }
}

/// `x^y` for a non-integral exponent `y` (in `p.a`): NaN for negative `x`.
enum PowRealFunction: ParameterizedUnaryFunction {
    static func apply<T: FloatElement>(_ x: T, _ p: MapParameters<T>) -> T { T.pow(x, p.a) }
}

/// `a^b` elementwise with libm's conventions (see `PowIntegerFunction`).
enum PowFunction: BinaryFunction {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T {
        isIntegral(b) ? T.pow(a, Int(b)) : T.pow(a, b)
    }
}

/// Whether `y` is a whole number small enough to be an `Int` exponent.
@inline(__always)
func isIntegral<T: FloatElement>(_ y: T) -> Bool {
    y.rounded(.towardZero) == y && y.magnitude < 1e15
}

enum ExpFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .exp
    static func apply<T: FloatElement>(_ x: T) -> T { T.exp(x) }
}
/// Natural logarithm: `log(0) = -inf`, `log(x < 0) = NaN`.
enum LogFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .log
    static func apply<T: FloatElement>(_ x: T) -> T { T.log(x) }
}
/// The error function: Float32 through the `erf` kernel, Float64 with libm's `erf`.
enum ErfFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .erf
    static func apply<T: FloatElement>(_ x: T) -> T { T.erf(x) }
}
enum SqrtFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .sqrt
    static func apply<T: FloatElement>(_ x: T) -> T { x.squareRoot() }
}
enum AbsFunction: UnaryFunction { static func apply<T: FloatElement>(_ x: T) -> T { x.magnitude } }
enum AbsGradFunction: BinaryFunction {
    /// `g · sign(x)`, with `sign(0) = 0` as in PyTorch.
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T { x > 0 ? g : (x < 0 ? -g : 0) }
}

/// `min(max(x, lo), hi)` with `lo = p.a`, `hi = p.b` (±inf when absent). NaN stays NaN; when
/// `lo > hi` every element becomes `hi`, as `torch.clamp`.
enum ClampFunction: ParameterizedUnaryFunction {
    static func apply<T: FloatElement>(_ x: T, _ p: MapParameters<T>) -> T {
        let y = x < p.a ? p.a : x
        return y > p.b ? p.b : y
    }
}
enum ClampGradFunction: ParameterizedBinaryFunction {
    /// `g · 1[lo ≤ x ≤ hi]`, PyTorch's `clamp_backward`.
    static func apply<T: FloatElement>(_ g: T, _ x: T, _ p: MapParameters<T>) -> T {
        x >= p.a && x <= p.b ? g : 0
    }
}

/// The larger element; NaN if either is NaN, as `torch.maximum`.
enum MaximumFunction: BinaryFunction {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a > b || a.isNaN ? a : b }
}
/// The smaller element; NaN if either is NaN, as `torch.minimum`.
enum MinimumFunction: BinaryFunction {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a < b || a.isNaN ? a : b }
}
/// The share of `maximum(a, b)`'s gradient that goes to `a`: 1 if `a` is larger, ½ on a tie, 0 if smaller.
enum MaximumWeightFunction: BinaryFunction {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a < b ? 0 : (a == b ? T(fromDouble: 0.5) : 1) }
}
/// The share of `minimum(a, b)`'s gradient that goes to `a`: 1 if `a` is smaller, ½ on a tie, 0 if larger.
enum MinimumWeightFunction: BinaryFunction {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a > b ? 0 : (a == b ? T(fromDouble: 0.5) : 1) }
}

// MARK: Ops

extension Tensor {
    /// Runs a parameterised unary floating-point kernel, off the tape.
    func unary<F: ParameterizedUnaryFunction>(_ f: F.Type, _ a: Double, _ b: Double = 0, op: String) -> Tensor {
        let out = Tensor(uninitialized: shape, dtype: dtype)
        guard count > 0 else { return out }
        switch dtype {
        case .float32: unaryMap(f, Float.self, self, parameters: MapParameters(a, b), into: out)
        case .float64: unaryMap(f, Double.self, self, parameters: MapParameters(a, b), into: out)
        default: unsupported(op, dtype)
        }
        return out
    }

    /// Runs a parameterised binary floating-point kernel with broadcasting, off the tape.
    static func binary<F: ParameterizedBinaryFunction>(_ f: F.Type, _ x: Tensor, _ y: Tensor,
                                                       _ a: Double, _ b: Double = 0, op: String) -> Tensor {
        require(x.dtype == y.dtype, "\(op): dtypes \(x.dtype) and \(y.dtype) differ (shapes \(x.shape) and \(y.shape))")
        let out = Tensor(uninitialized: Shape.broadcast(x.shape, y.shape, op: op), dtype: x.dtype)
        guard out.count > 0 else { return out }
        switch x.dtype {
        case .float32: binaryMap(f, Float.self, x, y, parameters: MapParameters(a, b), into: out)
        case .float64: binaryMap(f, Double.self, x, y, parameters: MapParameters(a, b), into: out)
        default: unsupported(op, x.dtype)
        }
        return out
    }

    /// Each element raised to the power `exponent`, as `torch.pow(x, exponent)`.
    ///
    /// Integral exponents accept negative bases (`(-2)³ = -8`); other exponents give NaN for them.
    /// `d/dx xᵉ = e·xᵉ⁻¹` (zero when `e = 0`).
    public func pow(_ exponent: Double) -> Tensor {
        let out = isIntegral(exponent) ? unary(PowIntegerFunction.self, exponent, op: "pow")
                                       : unary(PowRealFunction.self, exponent, op: "pow")
        let x = detached()
        return Tensor.differentiable("pow", inputs: [self], output: out) { g in
            if exponent == 0 { return [Tensor.zeros(like: g)] }
            return [g * exponent * x.pow(exponent - 1)]
        }
    }

    /// `self^exponent` elementwise with broadcasting, as `torch.pow(x, y)` for two tensors.
    ///
    /// `∂/∂a aᵇ = b·aᵇ⁻¹` (zero where `b = 0`) and `∂/∂b aᵇ = aᵇ·log a` (zero where `a = 0` and `b ≥ 0`,
    /// PyTorch's convention), so the exponent's gradient is only finite for positive bases.
    public func pow(_ exponent: Tensor) -> Tensor {
        let (a, b) = (detached(), exponent.detached())
        let out = Tensor.binary(PowFunction.self, a, b, op: "pow")
        let y = out.detached()
        let (wantsBase, wantsExponent) = (isTracked, exponent.isTracked)
        return Tensor.differentiable("pow", inputs: [self, exponent], output: out) { g in
            let zero = g.scalarLike(0)
            let dA = wantsBase ? Tensor.where(b.eq(0), zero, b * a.pow(b - 1)) : nil                    // b·aᵇ⁻¹
            let dB = wantsExponent ? Tensor.where(a.eq(0).logicalAnd(b.ge(0)), zero, y * a.log()) : nil  // aᵇ·log a
            return [dA.map { (g * $0).sum(toShape: a.shape) }, dB.map { (g * $0).sum(toShape: b.shape) }]
        }
    }

    /// `eˣ` elementwise; overflows to `+inf`. `d/dx eˣ = eˣ`.
    public func exp() -> Tensor {
        let out = unary(ExpFunction.self, op: "exp")
        let y = out.detached()
        return Tensor.differentiable("exp", inputs: [self], output: out) { g in [g * y] }
    }

    /// The error function `erf x = (2/√π)∫₀ˣ e^(−t²) dt` elementwise, as `torch.erf`; ±1 at ±inf.
    /// `d/dx erf x = (2/√π)·e^(−x²)`. Float32 is within 1e-7 (relative) of the exact value of each input.
    public func erf() -> Tensor {
        let x = detached()
        return Tensor.differentiable("erf", inputs: [self], output: unary(ErfFunction.self, op: "erf")) { g in
            [g * (-(x * x)).exp() * (2 / Double.pi.squareRoot())]
        }
    }

    /// The natural logarithm elementwise: `log 0 = -inf`, NaN for negative inputs. `d/dx log x = 1/x`.
    public func log() -> Tensor {
        let x = detached()
        return Tensor.differentiable("log", inputs: [self], output: unary(LogFunction.self, op: "log")) { g in
            [g / x]
        }
    }

    /// `√x` elementwise; NaN for negative inputs. `d/dx √x = 1 / (2√x)`.
    public func sqrt() -> Tensor {
        let out = unary(SqrtFunction.self, op: "sqrt")
        let y = out.detached()
        return Tensor.differentiable("sqrt", inputs: [self], output: out) { g in [g / (2 * y)] }
    }

    /// `|x|` elementwise. `d/dx |x| = sign(x)`, taken as 0 at 0 as in PyTorch.
    public func abs() -> Tensor {
        let x = detached()
        return Tensor.differentiable("abs", inputs: [self], output: unary(AbsFunction.self, op: "abs")) { g in
            [Tensor.binary(AbsGradFunction.self, g, x, op: "abs backward")]
        }
    }

    /// Each element limited to `[min, max]`, as `torch.clamp`; at least one bound must be given.
    ///
    /// NaN stays NaN; when `min > max` every element becomes `max`. The gradient passes where
    /// `min ≤ x ≤ max` (PyTorch's `clamp_backward`, so it flows at a bound) and is zero elsewhere.
    public func clamp(min lower: Double? = nil, max upper: Double? = nil) -> Tensor {
        require(lower != nil || upper != nil, "clamp: at least one of min and max must be given (shape \(shape))")
        let lo = lower ?? -.infinity, hi = upper ?? .infinity
        let x = detached()
        return Tensor.differentiable("clamp", inputs: [self], output: unary(ClampFunction.self, lo, hi, op: "clamp")) { g in
            [Tensor.binary(ClampGradFunction.self, g, x, lo, hi, op: "clamp backward")]
        }
    }

    /// The elementwise larger of `a` and `b` with broadcasting, as `torch.maximum` (NaN propagates).
    ///
    /// The gradient goes to the larger operand; on a tie each gets half, as in PyTorch.
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (va, vb) = (a.detached(), b.detached())
        return differentiable("maximum", inputs: [a, b], output: binary(MaximumFunction.self, va, vb, op: "maximum")) { g in
            [(g * binary(MaximumWeightFunction.self, va, vb, op: "maximum backward")).sum(toShape: va.shape),
             (g * binary(MaximumWeightFunction.self, vb, va, op: "maximum backward")).sum(toShape: vb.shape)]
        }
    }

    /// The elementwise smaller of `a` and `b` with broadcasting, as `torch.minimum` (NaN propagates).
    ///
    /// The gradient goes to the smaller operand; on a tie each gets half, as in PyTorch.
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        let (va, vb) = (a.detached(), b.detached())
        return differentiable("minimum", inputs: [a, b], output: binary(MinimumFunction.self, va, vb, op: "minimum")) { g in
            [(g * binary(MinimumWeightFunction.self, va, vb, op: "minimum backward")).sum(toShape: va.shape),
             (g * binary(MinimumWeightFunction.self, vb, va, op: "minimum backward")).sum(toShape: vb.shape)]
        }
    }

    /// `condition ? a : b` elementwise, all three broadcast together, as `torch.where`.
    ///
    /// `condition` is a `.bool` mask; `a` and `b` share a dtype (any dtype). The gradient of `a` is `g`
    /// where the condition holds and zero elsewhere, `b`'s the opposite; both are summed back to their shapes.
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        require(condition.dtype == .bool,
                     "where: the condition must be a bool mask, got \(condition.dtype) (shape \(condition.shape))")
        require(a.dtype == b.dtype,
                     "where: dtypes \(a.dtype) and \(b.dtype) differ (shapes \(a.shape) and \(b.shape))")
        let shape = Shape.broadcast(Shape.broadcast(condition.shape, a.shape, op: "where"), b.shape, op: "where")
        let out = Tensor(uninitialized: shape, dtype: a.dtype)
        if out.count > 0 {
            switch a.dtype.size {
            case 1: selectMap(UInt8.self, condition, a, b, into: out)
            case 4: selectMap(UInt32.self, condition, a, b, into: out)
            default: selectMap(UInt64.self, condition, a, b, into: out)
            }
        }
        let (mask, sa, sb) = (condition.detached(), a.shape, b.shape)
        return differentiable("where", inputs: [condition, a, b], output: out) { g in
            let zero = g.scalarLike(0)
            return [nil, Tensor.where(mask, g, zero).sum(toShape: sa), Tensor.where(mask, zero, g).sum(toShape: sb)]
        }
    }
}
