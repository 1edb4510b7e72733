import RealModule

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

    /// A tensor of zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: dtype)
        t.storage.base.initializeMemory(as: UInt8.self, repeating: 0, count: t.count * dtype.size)
        return t
    }

    /// A tensor of ones.
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

    /// Samples from U(low, high) drawn from the global generator (`Strata.seed(_:)`).
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

    /// Samples from N(mean, std²) drawn from the global generator (`Strata.seed(_:)`).
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

    /// A contiguous copy that owns its storage, off the tape.
    func copyValues() -> Tensor {
        let out = Tensor(uninitialized: shape, dtype: dtype)
        out.assign(self)
        return out
    }

    /// Copies `source` (broadcast to this shape, same dtype) into this tensor's elements, in place. Off the tape.
    func assign(_ source: Tensor) {
        require(source.dtype == dtype, "assign: dtype \(source.dtype) into \(dtype)")
        require(Shape.broadcast(source.shape, shape, op: "copy") == shape,
                     "copy: source shape \(source.shape) does not broadcast to destination shape \(shape)")
        let strided = Tensor(storage: source.storage, shape: shape,
                             strides: Shape.broadcastStrides(shape: source.shape, strides: source.strides, to: shape),
                             offset: source.offset, dtype: dtype)
        guard count > 0 else { return }
        let (cshape, cstrides) = Shape.coalesce(shape, [strided.strides, strides])
        func run<T>(_: T.Type) {
            let src = strided.pointer(T.self), dst = pointer(T.self)
            let n = cshape[cshape.count - 1]
            let ss = cstrides[0][cstrides[0].count - 1], ds = cstrides[1][cstrides[1].count - 1]
            Shape.forEachRow(cshape, cstrides) { offsets in
                let s = src + offsets[0], d = dst + offsets[1]
                if ss == 1 && ds == 1 {
                    d.update(from: s, count: n)
                } else {
                    for i in 0..<n { d[i * ds] = s[i * ss] }
                }
            }
        }
        switch dtype.size {
        case 1: run(UInt8.self)
        case 4: run(UInt32.self)
        default: run(UInt64.self)
        }
    }
}
