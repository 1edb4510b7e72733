import RealModule

/// The floating-point element types every differentiable kernel is written once for.
protocol FloatElement: TensorScalar, BLASScalar, Real, SIMDScalar, Codable {}
extension Float: FloatElement {}
extension Double: FloatElement {}

/// Stops with a message naming the op and the dtype it cannot handle.
func unsupported(_ op: String, _ dtype: DType) -> Never {
    fatalError("\(op): unsupported dtype \(dtype)")
}

extension Tensor {
    // MARK: Creation

    /// A tensor from scalars laid out in row-major order; `shape` defaults to `[scalars.count]`.
    public convenience init<T: TensorScalar>(_ scalars: [T], shape: [Int]? = nil) {
        let shape = shape ?? [scalars.count]
        require(Shape.count(shape) == scalars.count,
                     "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
        self.init(uninitialized: shape, dtype: T.dtype)
        scalars.withUnsafeBufferPointer { source in
            pointer(T.self).update(from: source.baseAddress!, count: scalars.count)
        }
    }

    /// A zero-dimensional tensor holding one value.
    public convenience init(scalar value: Double, dtype: DType = .float32) {
        self.init(uninitialized: [], dtype: dtype)
        fill(value)
    }

    /// A tensor of `shape` filled with `value`.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: dtype)
        t.fill(value)
        return t
    }

    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: dtype)
        t.storage.base.initializeMemory(as: UInt8.self, repeating: 0, count: t.count * dtype.size)
        return t
    }

    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, 1, dtype: dtype) }

    /// Zeros with the shape and dtype of `other`.
    public static func zeros(like other: Tensor) -> Tensor { zeros(other.shape, dtype: other.dtype) }

    /// `[start, start + step, …]` up to but excluding `end`, as `torch.arange`.
    public static func arange(_ start: Double = 0, _ end: Double, step: Double = 1, dtype: DType = .int64) -> Tensor {
        require(step != 0, "arange: step must not be zero")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        let t = Tensor(uninitialized: [n], dtype: dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let p = t.pointer(T.self)
            for i in 0..<n { p[i] = T(fromDouble: start + Double(i) * step) }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        case .int64: run(Int64.self)
        case .bool: unsupported("arange", dtype)
        }
        return t
    }

    /// Samples from U(low, high) drawn from `generator`, or from the global one (`Strata.seed(_:)`).
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
                               generator: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: dtype)
        t.fillRandom { low + (high - low) * generator.nextUnit() }
        return t
    }

    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32) -> Tensor {
        Strata.withGlobalGenerator { uniform(shape, low: low, high: high, dtype: dtype, generator: &$0) }
    }

    /// Samples from N(mean, std²) drawn from `generator`, or from the global one.
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
                              generator: inout RandomGenerator) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: dtype)
        t.fillRandom { mean + std * generator.nextNormal() }
        return t
    }

    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32) -> Tensor {
        Strata.withGlobalGenerator { normal(shape, mean: mean, std: std, dtype: dtype, generator: &$0) }
    }

    /// Integers drawn uniformly from `low..<high` (int64), from the global generator.
    public static func randint(_ low: Int, _ high: Int, shape: [Int]) -> Tensor {
        require(high > low, "randint: empty range \(low)..<\(high)")
        let t = Tensor(uninitialized: shape, dtype: .int64)
        let p = t.pointer(Int64.self)
        Strata.withGlobalGenerator { g in
            for i in 0..<t.count { p[i] = Int64(low) + Int64(g.next() % UInt64(high - low)) }
        }
        return t
    }

    /// Writes `value` into every element of this contiguous tensor.
    func fill(_ value: Double) {
        require(isContiguous, "fill: tensor of shape \(shape) is not contiguous")
        func run<T: TensorScalar>(_: T.Type) {
            pointer(T.self).update(repeating: T(fromDouble: value), count: count)
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        case .int64: run(Int64.self)
        case .bool: run(Bool.self)
        }
    }

    private func fillRandom(_ sample: () -> Double) {
        switch dtype {
        case .float32:
            let p = pointer(Float.self)
            for i in 0..<count { p[i] = Float(sample()) }
        case .float64:
            let p = pointer(Double.self)
            for i in 0..<count { p[i] = sample() }
        default: unsupported("random", dtype)
        }
    }

    // MARK: Reading values

    /// The elements in row-major order, converted to `Double`.
    public func toDoubles() -> [Double] {
        let c = contiguousData()
        func run<T: TensorScalar>(_: T.Type) -> [Double] {
            UnsafeBufferPointer(start: c.pointer(T.self), count: c.count).map(\.doubleValue)
        }
        switch dtype {
        case .float32: return run(Float.self)
        case .float64: return run(Double.self)
        case .int64: return run(Int64.self)
        case .bool: return run(Bool.self)
        }
    }

    /// The elements in row-major order as `T`, which must be this tensor's element type.
    public func scalars<T: TensorScalar>(as type: T.Type = T.self) -> [T] {
        require(T.dtype == dtype, "scalars: asked for \(T.dtype) from a \(dtype) tensor")
        let c = contiguousData()
        defer { withExtendedLifetime(c) {} }   // c may be a fresh copy that only the raw pointer reads
        return Array(UnsafeBufferPointer(start: c.pointer(T.self), count: c.count))
    }

    /// The single element of a one-element tensor.
    public func item() -> Double {
        require(count == 1, "item: tensor of shape \(shape) has \(count) elements, not 1")
        return toDoubles()[0]
    }

    // MARK: Copies

    /// A contiguous copy of the values, off the tape (used by kernels that need dense input).
    func contiguousData() -> Tensor {
        isContiguous ? self : copyValues()
    }

    private func copyValues() -> Tensor {
        let out = Tensor(uninitialized: shape, dtype: dtype)
        out.assign(self)
        return out
    }

    /// This tensor if it is already contiguous, otherwise a contiguous copy. Gradients pass through.
    public func contiguous() -> Tensor {
        isContiguous ? self : clone()
    }

    /// A contiguous copy that owns its own storage. Gradients pass through.
    public func clone() -> Tensor {
        Tensor.differentiable("clone", inputs: [self], output: copyValues()) { g in [g] }
    }

    /// The values converted to `dtype`; gradients flow between floating-point types.
    public func to(_ target: DType) -> Tensor {
        if target == dtype { return self }
        let source = contiguousData()
        let out = Tensor(uninitialized: shape, dtype: target)
        func convert<S: TensorScalar, D: TensorScalar>(_: S.Type, _: D.Type) {
            let s = source.pointer(S.self), d = out.pointer(D.self)
            for i in 0..<count { d[i] = D(fromDouble: s[i].doubleValue) }
        }
        func from<S: TensorScalar>(_ s: S.Type) {
            switch target {
            case .float32: convert(s, Float.self)
            case .float64: convert(s, Double.self)
            case .int64: convert(s, Int64.self)
            case .bool: convert(s, Bool.self)
            }
        }
        switch dtype {
        case .float32: from(Float.self)
        case .float64: from(Double.self)
        case .int64: from(Int64.self)
        case .bool: from(Bool.self)
        }
        guard dtype.isFloatingPoint && target.isFloatingPoint else { return out }
        let sourceType = dtype
        return Tensor.differentiable("to(\(target))", inputs: [self], output: out) { g in [g.to(sourceType)] }
    }
}
