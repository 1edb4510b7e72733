/// Reductions over dimensions, with `keepDims` as in PyTorch.
extension Tensor {
    /// Reduces over `dims` (all when empty) with `R`, off the tape. The result keeps reduced dims as size 1.
    func reduce<R: ReduceFunction>(_ r: R.Type, dims: [Int], op: String) -> Tensor {
        let axes = dims.isEmpty ? Array(0..<rank) : Array(Set(dims.map { axis($0, op: op) })).sorted()
        var current = contiguousData()
        // One dimension at a time, last first: each pass is a [outer, length, inner] reduction.
        for d in axes.reversed() {
            let outer = current.shape[..<d].reduce(1, *)
            let length = current.shape[d]
            let inner = current.shape[(d + 1)...].reduce(1, *)
            var outShape = current.shape
            outShape[d] = 1
            let out = Tensor(uninitialized: outShape, dtype: dtype)
            func run<T: FloatElement>(_: T.Type) {
                reduceMiddle(r, T.self, current.pointer(T.self), outer: outer, length: length, inner: inner,
                             into: out.pointer(T.self))
            }
            switch dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            default: unsupported(op, dtype)
            }
            current = out
        }
        return current
    }

    /// The sum over `dims` (every dim when empty).
    public func sum(dims: [Int] = [], keepDims: Bool = false) -> Tensor {
        let kept = reduce(SumReduce.self, dims: dims, op: "sum")
        let original = shape
        let out = Tensor.differentiable("sum", inputs: [self], output: kept) { g in [g.expanded(to: original)] }
        return keepDims ? out : out.reshaped(Shape.removing(dims: dims, from: shape, rank: rank))
    }

    /// The sum over `dim`.
    public func sum(dim: Int, keepDims: Bool = false) -> Tensor { sum(dims: [dim], keepDims: keepDims) }

    /// Sums a broadcast gradient back to `target`, the shape of the operand that was broadcast.
    func sum(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        let lead = rank - target.count
        let dims = (0..<rank).filter { $0 < lead || (target[$0 - lead] == 1 && shape[$0] != 1) }
        return sum(dims: dims, keepDims: true).reshaped(target)
    }
}

extension Shape {
    /// `shape` without the reduced `dims` (every dim when empty), for reductions without `keepDims`.
    static func removing(dims: [Int], from shape: [Int], rank: Int) -> [Int] {
        if dims.isEmpty { return [] }
        let axes = Set(dims.map { $0 < 0 ? $0 + rank : $0 })
        return shape.indices.filter { !axes.contains($0) }.map { shape[$0] }
    }
}
