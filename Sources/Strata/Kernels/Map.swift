/// Elementwise loops over raw buffers. A function is a type with a static `apply`, so each loop is
/// specialised and inlined for its function and element type: no closure is called per element. A function
/// whose type names a C kernel (`kernel`) runs on Float32 through that kernel, at the CPU's full vector width
/// (`ElementwiseKernels`); `apply` then serves Float64.

/// Loop-invariant parameters of a map (a slope, clamp bounds, an exponent), converted to the element type
/// once before the loop.
struct MapParameters<T: FloatElement> {
    var a: T
    var b: T
    init(_ a: Double, _ b: Double) {
        self.a = T(fromDouble: a)
        self.b = T(fromDouble: b)
    }
    static var none: MapParameters { MapParameters(0, 0) }
}

/// `x ↦ f(x; p)`: a function of one element and loop-invariant parameters.
protocol ParameterizedUnaryFunction {
    /// The C kernel computing this function on Float32 (with `p.a` as its parameter), or nil to run `apply`.
    /// Declare it with its optional type (`static let kernel: UnaryKernel? = .gelu`): a non-optional
    /// declaration would not be the witness, and the default nil would silently be used.
    static var kernel: UnaryKernel? { get }
    static func apply<T: FloatElement>(_ x: T, _ p: MapParameters<T>) -> T
}

extension ParameterizedUnaryFunction {
    static var kernel: UnaryKernel? { nil }
}

/// `(a, b) ↦ f(a, b; p)`: a function of two elements and loop-invariant parameters.
protocol ParameterizedBinaryFunction {
    /// The C kernel computing this function on Float32, or nil; see `ParameterizedUnaryFunction.kernel`.
    static var kernel: BinaryKernel? { get }
    static func apply<T: FloatElement>(_ a: T, _ b: T, _ p: MapParameters<T>) -> T
}

extension ParameterizedBinaryFunction {
    static var kernel: BinaryKernel? { nil }
}

/// `x ↦ f(x)`, a function without parameters.
protocol UnaryFunction: ParameterizedUnaryFunction {
    static func apply<T: FloatElement>(_ x: T) -> T
}

extension UnaryFunction {
    @inline(__always)
    static func apply<T: FloatElement>(_ x: T, _ p: MapParameters<T>) -> T { apply(x) }
}

/// `(a, b) ↦ f(a, b)`, a function without parameters.
protocol BinaryFunction: ParameterizedBinaryFunction {
    static func apply<T: FloatElement>(_ a: T, _ b: T) -> T
}

extension BinaryFunction {
    @inline(__always)
    static func apply<T: FloatElement>(_ a: T, _ b: T, _ p: MapParameters<T>) -> T { apply(a, b) }
}

/// Elements per thread below which a loop stays on one core.
let elementwiseGrain = 65_536

/// `out = f(x; p)` elementwise; `out` is contiguous with `x`'s shape. Float32 runs through `F.kernel` when
/// it names one.
func unaryMap<F: ParameterizedUnaryFunction, T: FloatElement>(_: F.Type, _: T.Type, _ x: Tensor,
                                                              parameters p: MapParameters<T> = .none, into out: Tensor) {
    if T.self == Float.self, let kernel = F.kernel {
        ElementwiseKernels.selected.map(kernel, x, parameter: unsafeBitCast(p.a, to: Float.self), into: out)
        return
    }
    let dst = out.pointer(T.self)
    let src = x.pointer(T.self)
    if x.isContiguous {
        parallelFor(x.count, grain: elementwiseGrain) { range in
            for i in range { dst[i] = F.apply(src[i], p) }
        }
        return
    }
    let (shape, strides) = Shape.coalesce(x.shape, [x.strides, out.strides])
    let n = shape[shape.count - 1]
    let xs = strides[0][strides[0].count - 1]
    Shape.forEachRow(shape, strides) { offsets in
        let s = src + offsets[0], d = dst + offsets[1]
        for i in 0..<n { d[i] = F.apply(s[i * xs], p) }
    }
}

/// `out = f(a, b; p)` elementwise with NumPy broadcasting; `out` is contiguous with the broadcast shape.
///
/// Broadcast operands are read through zero strides, never expanded into copies; a row-wise bias add
/// (`[B, N] + [N]`) runs as contiguous inner loops. Float32 runs through `F.kernel` when it names one.
func binaryMap<F: ParameterizedBinaryFunction, T: FloatElement>(_: F.Type, _: T.Type, _ a: Tensor, _ b: Tensor,
                                                                parameters p: MapParameters<T> = .none, into out: Tensor) {
    if T.self == Float.self, let kernel = F.kernel {
        ElementwiseKernels.selected.map(kernel, a, b, parameter: unsafeBitCast(p.a, to: Float.self), into: out)
        return
    }
    let dst = out.pointer(T.self)
    let pa = a.pointer(T.self), pb = b.pointer(T.self)
    if a.isContiguous && b.isContiguous && a.shape == b.shape {
        parallelFor(out.count, grain: elementwiseGrain) { range in
            for i in range { dst[i] = F.apply(pa[i], pb[i], p) }
        }
        return
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
    let (shape, strides) = Shape.coalesce(out.shape, [sa, sb, out.strides])
    let n = shape[shape.count - 1]
    let ia = strides[0][strides[0].count - 1], ib = strides[1][strides[1].count - 1]
    Shape.forEachRow(shape, strides, grain: elementwiseGrain) { offsets in
        let x = pa + offsets[0], y = pb + offsets[1], d = dst + offsets[2]
        switch (ia, ib) {
        case (1, 1): for i in 0..<n { d[i] = F.apply(x[i], y[i], p) }
        case (1, 0): let v = y[0]; for i in 0..<n { d[i] = F.apply(x[i], v, p) }
        case (0, 1): let v = x[0]; for i in 0..<n { d[i] = F.apply(v, y[i], p) }
        default: for i in 0..<n { d[i] = F.apply(x[i * ia], y[i * ib], p) }
        }
    }
}
