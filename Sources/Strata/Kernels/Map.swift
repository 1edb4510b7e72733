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
