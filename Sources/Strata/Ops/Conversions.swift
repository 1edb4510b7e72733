// The differentiable copies and conversions; the plain copies they build on (`contiguousData`, `assign`) are
// in Tensor/Creation.swift.

extension Tensor {
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
