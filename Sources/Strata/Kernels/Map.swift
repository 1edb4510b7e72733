/// Elementwise loops over raw buffers. A function is a type with a static `apply`, so each loop is
/// specialised and inlined for its function and element type: no closure is called per element.

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
    static func apply<T: FloatElement>(_ x: T, _ p: MapParameters<T>) -> T
}

/// `(a, b) ↦ f(a, b; p)`: a function of two elements and loop-invariant parameters.
protocol ParameterizedBinaryFunction {
    static func apply<T: FloatElement>(_ a: T, _ b: T, _ p: MapParameters<T>) -> T
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

// MARK: Float32 on four lanes

/// A unary function with a form on four Float32 lanes (`VectorMath.swift`). Float32 tensors run through
/// `vectorMap` with it, every element including the tail, so a value's result does not depend on where
/// it sits; Float64 keeps the scalar `apply`.
protocol VectorizedUnaryFunction: UnaryFunction {
    static func apply(_ x: Float4) -> Float4
}

/// A binary function with a form on four Float32 lanes; see `VectorizedUnaryFunction`.
protocol VectorizedBinaryFunction: BinaryFunction {
    static func apply(_ a: Float4, _ b: Float4) -> Float4
}

/// Elements per thread below which a four-lane loop stays on one core. Lower than `elementwiseGrain`:
/// the functions given four lanes (erf, exp) cost tens of operations per element.
let vectorMapGrain = 16_384

/// `dst = f(src)` over `count` contiguous Float32 elements, four at a time.
func vectorMap<F: VectorizedUnaryFunction>(_: F.Type, _ src: UnsafePointer<Float>, count: Int,
                                           into dst: UnsafeMutablePointer<Float>) {
    parallelFor(count, grain: vectorMapGrain) { range in
        var i = range.lowerBound
        // Two independent vectors per iteration: the polynomials are long dependency chains.
        while i + 8 <= range.upperBound {
            let (y0, y1) = (F.apply(load4(src + i)), F.apply(load4(src + i + 4)))
            store4(y0, dst + i)
            store4(y1, dst + i + 4)
            i += 8
        }
        while i + 4 <= range.upperBound {
            store4(F.apply(load4(src + i)), dst + i)
            i += 4
        }
        let rest = range.upperBound - i
        guard rest > 0 else { return }
        var x = Float4(repeating: 0)
        for j in 0..<rest { x[j] = src[i + j] }
        let y = F.apply(x)
        for j in 0..<rest { dst[i + j] = y[j] }
    }
}

/// `dst = f(a, b)` over `count` contiguous Float32 elements of each, four at a time.
func vectorMap<F: VectorizedBinaryFunction>(_: F.Type, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int,
                                            into dst: UnsafeMutablePointer<Float>) {
    parallelFor(count, grain: vectorMapGrain) { range in
        var i = range.lowerBound
        while i + 8 <= range.upperBound {
            let (z0, z1) = (F.apply(load4(a + i), load4(b + i)), F.apply(load4(a + i + 4), load4(b + i + 4)))
            store4(z0, dst + i)
            store4(z1, dst + i + 4)
            i += 8
        }
        while i + 4 <= range.upperBound {
            store4(F.apply(load4(a + i), load4(b + i)), dst + i)
            i += 4
        }
        let rest = range.upperBound - i
        guard rest > 0 else { return }
        var x = Float4(repeating: 0), y = Float4(repeating: 0)
        for j in 0..<rest { (x[j], y[j]) = (a[i + j], b[i + j]) }
        let z = F.apply(x, y)
        for j in 0..<rest { dst[i + j] = z[j] }
    }
}
