/// Elementwise arithmetic with NumPy broadcasting. A pullback sums its gradient back over broadcast
/// dimensions (`sum(toShape:)`), so `[B, N] + [N]` gives the bias a `[N]` gradient.

enum AddFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .add
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a + b }
}
enum SubFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .sub
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a - b }
}
enum MulFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .mul
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a * b }
}
enum DivFunction: BinaryFunction {
    static let kernel: BinaryKernel? = .div
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T { a / b }
}
enum NegFunction: UnaryFunction {
    static let kernel: UnaryKernel? = .neg
    static func apply<T: FloatElement>(_ x: T) -> T { -x }
}

extension Tensor {
    /// Runs a binary floating-point kernel with broadcasting, off the tape.
    static func binary<F: BinaryFunction>(_ f: F.Type, _ a: Tensor, _ b: Tensor, op: String) -> Tensor {
        require(a.dtype == b.dtype, "\(op): dtypes \(a.dtype) and \(b.dtype) differ (shapes \(a.shape) and \(b.shape))")
        let out = Tensor(uninitialized: Shape.broadcast(a.shape, b.shape, op: op), dtype: a.dtype)
        guard out.count > 0 else { return out }
        switch a.dtype {
        case .float32: binaryMap(f, Float.self, a, b, into: out)
        case .float64: binaryMap(f, Double.self, a, b, into: out)
        default: unsupported(op, a.dtype)
        }
        return out
    }

    /// Runs a unary floating-point kernel, off the tape.
    func unary<F: UnaryFunction>(_ f: F.Type, op: String) -> Tensor {
        let out = Tensor(uninitialized: shape, dtype: dtype)
        guard count > 0 else { return out }
        switch dtype {
        case .float32: unaryMap(f, Float.self, self, into: out)
        case .float64: unaryMap(f, Double.self, self, into: out)
        default: unsupported(op, dtype)
        }
        return out
    }

    /// A zero-dimensional tensor of this tensor's dtype, for mixing tensors with Swift numbers.
    func scalarLike(_ value: Double) -> Tensor { Tensor(scalar: value, dtype: dtype) }

    /// Elementwise sum, broadcasting.
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        let (sa, sb) = (a.shape, b.shape)
        // Only the gradients the engine will use are formed (an untracked operand's would be discarded).
        let (ta, tb) = (a.isTracked, b.isTracked)
        return differentiable("add", inputs: [a, b], output: binary(AddFunction.self, a, b, op: "add")) { g in
            [ta ? g.sum(toShape: sa) : nil, tb ? g.sum(toShape: sb) : nil]
        }
    }

    /// Elementwise difference, broadcasting.
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        let (sa, sb) = (a.shape, b.shape)
        let (ta, tb) = (a.isTracked, b.isTracked)
        return differentiable("sub", inputs: [a, b], output: binary(SubFunction.self, a, b, op: "sub")) { g in
            [ta ? g.sum(toShape: sa) : nil, tb ? (-g).sum(toShape: sb) : nil]
        }
    }

    /// Elementwise product, broadcasting.
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        let (va, vb) = (a.detached(), b.detached())
        let (ta, tb) = (a.isTracked, b.isTracked)
        return differentiable("mul", inputs: [a, b], output: binary(MulFunction.self, a, b, op: "mul")) { g in
            [ta ? (g * vb).sum(toShape: va.shape) : nil, tb ? (g * va).sum(toShape: vb.shape) : nil]
        }
    }

    /// Elementwise quotient, broadcasting.
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        let (va, vb) = (a.detached(), b.detached())
        let (ta, tb) = (a.isTracked, b.isTracked)
        return differentiable("div", inputs: [a, b], output: binary(DivFunction.self, a, b, op: "div")) { g in
            let ga = g / vb
            return [ta ? ga.sum(toShape: va.shape) : nil, tb ? (-ga * va / vb).sum(toShape: vb.shape) : nil]
        }
    }

    /// Elementwise negation.
    public static prefix func - (x: Tensor) -> Tensor {
        differentiable("neg", inputs: [x], output: x.unary(NegFunction.self, op: "neg")) { g in [-g] }
    }

    /// Adds a scalar to every element.
    public static func + (a: Tensor, b: Double) -> Tensor { a + a.scalarLike(b) }
    /// Adds a scalar to every element.
    public static func + (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) + b }
    /// Subtracts a scalar from every element.
    public static func - (a: Tensor, b: Double) -> Tensor { a - a.scalarLike(b) }
    /// The scalar minus every element.
    public static func - (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) - b }
    /// Multiplies every element by a scalar.
    public static func * (a: Tensor, b: Double) -> Tensor { a * a.scalarLike(b) }
    /// Multiplies every element by a scalar.
    public static func * (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) * b }
    /// Divides every element by a scalar.
    public static func / (a: Tensor, b: Double) -> Tensor { a / a.scalarLike(b) }
    /// The scalar divided by every element.
    public static func / (a: Double, b: Tensor) -> Tensor { b.scalarLike(a) / b }
}
