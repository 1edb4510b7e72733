/// Elementwise comparisons and logic giving `.bool` masks (one byte per element), with NumPy broadcasting.
///
/// They work on every dtype: operands of different dtypes are first converted to the wider one
/// (bool < int64 < float32 < float64, as PyTorch promotes). Comparisons with NaN are false except `ne`.
/// Masks are not differentiable: the results are never on the tape. `to(.float32)` turns a mask into 0/1.

/// `(a, b) ↦ Bool`, for any comparable element (bool masks are compared as their bytes).
protocol ComparisonFunction {
    static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool
}

enum EqualFunction: ComparisonFunction { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a == b } }
enum NotEqualFunction: ComparisonFunction { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a != b } }
enum LessFunction: ComparisonFunction { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a < b } }
enum LessEqualFunction: ComparisonFunction { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a <= b } }
enum GreaterFunction: ComparisonFunction { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a > b } }
enum GreaterEqualFunction: ComparisonFunction { static func apply<T: Comparable>(_ a: T, _ b: T) -> Bool { a >= b } }

/// `out = f(a, b)` elementwise with broadcasting into the contiguous bool tensor `out`.
func compareMap<F: ComparisonFunction, T: Comparable>(_: F.Type, _: T.Type, _ a: Tensor, _ b: Tensor, into out: Tensor) {
    let dst = out.pointer(Bool.self)
    let pa = a.pointer(T.self), pb = b.pointer(T.self)
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
    let (shape, strides) = Shape.coalesce(out.shape, [sa, sb, out.strides])
    let n = shape[shape.count - 1]
    let ia = strides[0][strides[0].count - 1], ib = strides[1][strides[1].count - 1]
    Shape.forEachRow(shape, strides, grain: elementwiseGrain) { offsets in
        let x = pa + offsets[0], y = pb + offsets[1], d = dst + offsets[2]
        switch (ia, ib) {
        case (1, 1): for i in 0..<n { d[i] = F.apply(x[i], y[i]) }
        case (1, 0): let v = y[0]; for i in 0..<n { d[i] = F.apply(x[i], v) }
        default: for i in 0..<n { d[i] = F.apply(x[i * ia], y[i * ib]) }
        }
    }
}

extension DType {
    /// The dtype two operands are converted to before a comparison: the wider of the two,
    /// in the order bool < int64 < float32 < float64.
    static func promoted(_ a: DType, _ b: DType) -> DType {
        let order: [DType] = [.bool, .int64, .float32, .float64]
        return order[Swift.max(order.firstIndex(of: a)!, order.firstIndex(of: b)!)]
    }
}

extension Tensor {
    /// Runs a comparison kernel with promotion and broadcasting; the result is a fresh, untracked bool mask.
    static func compare<F: ComparisonFunction>(_ f: F.Type, _ a: Tensor, _ b: Tensor, op: String) -> Tensor {
        let common = DType.promoted(a.dtype, b.dtype)
        let (x, y) = (a.detached().to(common), b.detached().to(common))
        let out = Tensor(uninitialized: Shape.broadcast(a.shape, b.shape, op: op), dtype: .bool)
        guard out.count > 0 else { return out }
        switch common {
        case .float32: compareMap(f, Float.self, x, y, into: out)
        case .float64: compareMap(f, Double.self, x, y, into: out)
        case .int64: compareMap(f, Int64.self, x, y, into: out)
        case .bool: compareMap(f, UInt8.self, x, y, into: out)
        }
        return out
    }

    /// A 0-d tensor holding `value` for comparing with this tensor: of this dtype when that is floating
    /// point or `value` is a whole number (int64 for integer and bool tensors), else float64, so
    /// `labels.lt(2.5)` compares exactly.
    func comparisonScalar(_ value: Double) -> Tensor {
        if dtype.isFloatingPoint { return scalarLike(value) }
        if let whole = Int64(exactly: value) {
            return Tensor([whole], shape: [])
        }
        return Tensor(scalar: value, dtype: .float64)
    }

    /// `self == other` elementwise, broadcast, as a bool mask.
    public func eq(_ other: Tensor) -> Tensor { Tensor.compare(EqualFunction.self, self, other, op: "eq") }
    /// `self != other` elementwise, broadcast, as a bool mask (true where either is NaN).
    public func ne(_ other: Tensor) -> Tensor { Tensor.compare(NotEqualFunction.self, self, other, op: "ne") }
    /// `self < other` elementwise, broadcast, as a bool mask.
    public func lt(_ other: Tensor) -> Tensor { Tensor.compare(LessFunction.self, self, other, op: "lt") }
    /// `self <= other` elementwise, broadcast, as a bool mask.
    public func le(_ other: Tensor) -> Tensor { Tensor.compare(LessEqualFunction.self, self, other, op: "le") }
    /// `self > other` elementwise, broadcast, as a bool mask.
    public func gt(_ other: Tensor) -> Tensor { Tensor.compare(GreaterFunction.self, self, other, op: "gt") }
    /// `self >= other` elementwise, broadcast, as a bool mask.
    public func ge(_ other: Tensor) -> Tensor { Tensor.compare(GreaterEqualFunction.self, self, other, op: "ge") }

    /// `self == value` elementwise, as a bool mask.
    public func eq(_ value: Double) -> Tensor { eq(comparisonScalar(value)) }
    /// `self != value` elementwise, as a bool mask.
    public func ne(_ value: Double) -> Tensor { ne(comparisonScalar(value)) }
    /// `self < value` elementwise, as a bool mask.
    public func lt(_ value: Double) -> Tensor { lt(comparisonScalar(value)) }
    /// `self <= value` elementwise, as a bool mask.
    public func le(_ value: Double) -> Tensor { le(comparisonScalar(value)) }
    /// `self > value` elementwise, as a bool mask.
    public func gt(_ value: Double) -> Tensor { gt(comparisonScalar(value)) }
    /// `self >= value` elementwise, as a bool mask.
    public func ge(_ value: Double) -> Tensor { ge(comparisonScalar(value)) }

    /// This tensor as a bool mask: itself if it is one, else `self != 0` (NaN counts as true, as in PyTorch).
    func asMask() -> Tensor { dtype == .bool ? detached() : ne(0) }

    /// `!x` elementwise as a bool mask, as `torch.logical_not`: true where an element is zero or false.
    public func logicalNot() -> Tensor {
        dtype == .bool ? eq(Tensor(scalar: 0, dtype: .bool)) : eq(0)
    }

    /// `x && y` elementwise, broadcast, as a bool mask, as `torch.logical_and` (non-zero counts as true).
    public func logicalAnd(_ other: Tensor) -> Tensor {
        Tensor.where(asMask(), other.asMask(), Tensor(scalar: 0, dtype: .bool))
    }

    /// `x || y` elementwise, broadcast, as a bool mask, as `torch.logical_or` (non-zero counts as true).
    public func logicalOr(_ other: Tensor) -> Tensor {
        Tensor.where(asMask(), Tensor(scalar: 1, dtype: .bool), other.asMask())
    }
}
