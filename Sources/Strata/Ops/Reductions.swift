/// Reductions over dimensions, with `keepDims` as in PyTorch: sum, mean, variance, logsumexp, max/min
/// (with indices) and argmax/argmin. Dims may be negative; an empty `dims` list means every dim.
/// Kernels view the contiguous input as `[outer, length, inner]` around the reduced dim (Kernels/Reduce.swift).
extension Tensor {
    /// Reduces over `dims` (all when empty) with `R`, off the tape. The result keeps reduced dims as size 1.
    func reduce<R: ReduceFunction>(_ r: R.Type, dims: [Int], op: String) -> Tensor {
        let checked = dims.map { axis($0, op: op) }
        // A 0-d tensor accepts dim 0 or -1 (as in PyTorch) and has nothing to reduce.
        let axes = rank == 0 ? [] : dims.isEmpty ? Array(0..<rank) : Array(Set(checked)).sorted()
        if axes.isEmpty {
            // A fresh copy, so the result never aliases the input on the tape.
            let copy = Tensor(uninitialized: shape, dtype: dtype)
            copy.assign(self)
            return copy
        }
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

extension Tensor {
    /// `(outer, length, inner)`: this shape viewed as `[outer, length, inner]` around dimension `d`.
    /// A 0-d tensor is `[1, 1, 1]`.
    func middleSizes(_ d: Int) -> (outer: Int, length: Int, inner: Int) {
        guard rank > 0 else { return (1, 1, 1) }
        return (shape[..<d].reduce(1, *), shape[d], shape[(d + 1)...].reduce(1, *))
    }

    /// The number of elements each output of a reduction over `dims` (every dim when empty) combines.
    func reducedCount(_ dims: [Int], op: String) -> Int {
        let axes = Set(dims.map { axis($0, op: op) })
        if dims.isEmpty || rank == 0 { return count }
        return axes.reduce(1) { $0 * shape[$1] }
    }

    /// The shape of a reduction's result: `kept` (reduced dims as size 1) or with those dims removed.
    private func reducedShape(_ dims: [Int], keepDims: Bool) -> [Int]? {
        keepDims ? nil : Shape.removing(dims: dims, from: shape, rank: rank)
    }

    // MARK: Mean

    /// The arithmetic mean over `dims` (every dim when empty): `Σx / N`, `N` the number of reduced elements.
    /// A mean over zero elements is NaN, as in PyTorch.
    public func mean(dims: [Int] = [], keepDims: Bool = false) -> Tensor {
        let n = Double(reducedCount(dims, op: "mean"))
        let kept = Tensor.binary(DivFunction.self, reduce(SumReduce.self, dims: dims, op: "mean"), scalarLike(n), op: "mean")
        let original = shape
        let out = Tensor.differentiable("mean", inputs: [self], output: kept) { g in  // g: kept shape
            [(g / n).expanded(to: original)]                                         // ∂mean/∂x = 1/N
        }
        return reducedShape(dims, keepDims: keepDims).map { out.reshaped($0) } ?? out
    }

    /// The mean over `dim`.
    public func mean(dim: Int, keepDims: Bool = false) -> Tensor { mean(dims: [dim], keepDims: keepDims) }

    // MARK: Variance

    /// The variance over `dims` (every dim when empty): `Σ(x − mean)² / (N − c)`, with Bessel's correction
    /// `c = 1` when `unbiased` (the default of `torch.var`) and `c = 0` otherwise. NaN when `N ≤ c`.
    public func variance(dims: [Int] = [], unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        let n = reducedCount(dims, op: "variance")
        // PyTorch divides by max(0, N − c), so a variance of too few elements is 0/0 = NaN.
        let divisor = Double(Swift.max(0, n - (unbiased ? 1 : 0)))
        let x = detached()
        let centered = x - x.mean(dims: dims, keepDims: true)                     // x − mean, input shape
        let kept = (centered * centered).sum(dims: dims, keepDims: true) / divisor
        let out = Tensor.differentiable("variance", inputs: [self], output: kept) { g in  // g: kept shape
            // ∂var/∂x = 2(x − mean)/(N − c); the mean's own dependence on x cancels since Σ(x − mean) = 0.
            [centered * (g * (2 / divisor))]
        }
        return reducedShape(dims, keepDims: keepDims).map { out.reshaped($0) } ?? out
    }

    /// The variance over `dim`, with Bessel's correction when `unbiased`.
    public func variance(dim: Int, unbiased: Bool = true, keepDims: Bool = false) -> Tensor {
        variance(dims: [dim], unbiased: unbiased, keepDims: keepDims)
    }

    // MARK: Log-sum-exp

    /// `log Σ exp(x)` over `dims` (every dim when empty), computed as `m + log Σ exp(x − m)` with `m` the max,
    /// so large logits do not overflow. Its gradient is the softmax over `dims`. Over zero elements it is −∞.
    public func logsumexp(dims: [Int] = [], keepDims: Bool = false) -> Tensor {
        let x = detached()
        let peak = reduce(MaxReduce.self, dims: dims, op: "logsumexp")                   // m, kept shape
        let total = Tensor.binary(ShiftedExp.self, x, peak, op: "logsumexp")             // exp(x − m)
            .reduce(SumReduce.self, dims: dims, op: "logsumexp")
        let kept = Tensor.binary(LogPlusShift.self, total, peak, op: "logsumexp")         // m + log Σ exp(x − m)
        let lse = kept.detached()
        let out = Tensor.differentiable("logsumexp", inputs: [self], output: kept) { g in  // g: kept shape
            [g * Tensor.binary(ShiftedExp.self, x, lse, op: "logsumexp backward")]          // g·exp(x − lse) = g·softmax
        }
        return reducedShape(dims, keepDims: keepDims).map { out.reshaped($0) } ?? out
    }

    /// `log Σ exp(x)` over `dim`.
    public func logsumexp(dim: Int, keepDims: Bool = false) -> Tensor { logsumexp(dims: [dim], keepDims: keepDims) }

    // MARK: Max and min

    /// The largest values along `dim` and their int64 positions (the first on ties), as `torch.max(x, dim)`.
    /// The gradient flows only to the selected elements.
    public func max(dim: Int, keepDims: Bool = false) -> (values: Tensor, indices: Tensor) {
        selection(MaxArgReduce.self, dim: dim, keepDims: keepDims, op: "max")
    }

    /// The smallest values along `dim` and their int64 positions (the first on ties), as `torch.min(x, dim)`.
    public func min(dim: Int, keepDims: Bool = false) -> (values: Tensor, indices: Tensor) {
        selection(MinArgReduce.self, dim: dim, keepDims: keepDims, op: "min")
    }

    /// The largest element, as a 0-d tensor; the gradient flows to its first occurrence.
    public func max() -> Tensor { selectionOfAll(MaxArgReduce.self, op: "max") }

    /// The smallest element, as a 0-d tensor; the gradient flows to its first occurrence.
    public func min() -> Tensor { selectionOfAll(MinArgReduce.self, op: "min") }

    /// The int64 position of the largest value along `dim` (the first on ties), or in the flattened tensor
    /// when `dim` is `nil`, as `torch.argmax`.
    public func argmax(dim: Int? = nil, keepDims: Bool = false) -> Tensor {
        argSelection(MaxArgReduce.self, dim: dim, keepDims: keepDims, op: "argmax")
    }

    /// The int64 position of the smallest value along `dim` (the first on ties), or in the flattened tensor
    /// when `dim` is `nil`, as `torch.argmin`.
    public func argmin(dim: Int? = nil, keepDims: Bool = false) -> Tensor {
        argSelection(MinArgReduce.self, dim: dim, keepDims: keepDims, op: "argmin")
    }

    /// Values and indices selected by `R` along `dim`, off the tape; both keep `dim` as size 1.
    private func argReduce<R: ArgReduceFunction>(_: R.Type, dim d: Int, op: String) -> (values: Tensor, indices: Tensor) {
        let (outer, length, inner) = middleSizes(d)
        require(length > 0, "\(op): cannot reduce over dim \(d) of size 0 in shape \(shape)")
        var kept = shape
        if rank > 0 { kept[d] = 1 }
        let source = contiguousData()
        let values = Tensor(uninitialized: kept, dtype: dtype), indices = Tensor(uninitialized: kept, dtype: .int64)
        func run<T: FloatElement>(_: T.Type) {
            argReduceMiddle(R.self, T.self, source.pointer(T.self), outer: outer, length: length, inner: inner,
                            values: values.pointer(T.self), indices: indices.pointer(Int64.self))
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported(op, dtype)
        }
        return (values, indices)
    }

    /// `max(dim:)`/`min(dim:)`: the pullback writes the gradient at the selected positions, zeros elsewhere.
    private func selection<R: ArgReduceFunction>(_ r: R.Type, dim: Int, keepDims: Bool,
                                                 op: String) -> (values: Tensor, indices: Tensor) {
        let d = axis(dim, op: op)
        let (kept, indices) = argReduce(r, dim: d, op: op)
        let original = shape
        let values = Tensor.differentiable(op, inputs: [self], output: kept) { g in  // g: kept shape
            [Tensor.scatterSelected(g, at: indices, along: d, into: original)]
        }
        guard let outShape = reducedShape(rank == 0 ? [] : [d], keepDims: keepDims) else { return (values, indices) }
        return (values.reshaped(outShape), indices.reshaped(outShape))
    }

    /// `max()`/`min()` over every element: a selection along the one dim of the flattened tensor.
    private func selectionOfAll<R: ArgReduceFunction>(_ r: R.Type, op: String) -> Tensor {
        require(count > 0, "\(op): cannot reduce an empty tensor of shape \(shape)")
        let dense = contiguousData()
        let flat = Tensor(storage: dense.storage, shape: [count], strides: [1], offset: dense.offset, dtype: dtype)
        let (value, index) = flat.argReduce(r, dim: 0, op: op)                      // [1], [1]
        let original = shape, n = count
        return Tensor.differentiable(op, inputs: [self], output: value.reshaped([])) { g in  // g: []
            [Tensor.scatterSelected(g, at: index, along: 0, into: [n]).reshaped(original)]
        }
    }

    /// `argmax`/`argmin`: the indices of a selection, which carry no gradient.
    private func argSelection<R: ArgReduceFunction>(_ r: R.Type, dim: Int?, keepDims: Bool, op: String) -> Tensor {
        guard let dim else {
            require(count > 0, "\(op): cannot reduce an empty tensor of shape \(shape)")
            let dense = contiguousData()
            let flat = Tensor(storage: dense.storage, shape: [count], strides: [1], offset: dense.offset, dtype: dtype)
            let index = flat.argReduce(r, dim: 0, op: op).indices
            return index.reshaped(keepDims ? [Int](repeating: 1, count: rank) : [])
        }
        let d = axis(dim, op: op)
        let indices = argReduce(r, dim: d, op: op).indices
        return reducedShape(rank == 0 ? [] : [d], keepDims: keepDims).map { indices.reshaped($0) } ?? indices
    }

    /// Zeros of `shape` with `g` (the selection's kept shape, `[outer, 1, inner]` around `d`) written at
    /// `indices` along `d`: the gradient of a max or min.
    static func scatterSelected(_ g: Tensor, at indices: Tensor, along d: Int, into shape: [Int]) -> Tensor {
        let out = Tensor.zeros(shape, dtype: g.dtype)
        let (outer, length, inner) = out.middleSizes(d)
        let source = g.contiguousData(), positions = indices.contiguousData()
        func run<T: FloatElement>(_: T.Type) {
            scatterMiddle(T.self, source.pointer(T.self), indices: positions.pointer(Int64.self),
                          outer: outer, length: length, inner: inner, into: out.pointer(T.self))
        }
        switch g.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported("scatterSelected", g.dtype)
        }
        return out
    }
}

/// `exp(x − m)`, with an infinite `m` (a run of all −∞, or one holding +∞) taken as 0 as PyTorch does,
/// so the result is 0 or +∞ rather than NaN.
private enum ShiftedExp: BinaryFunction {
    static func apply<T: FloatElement>(_ x: T, _ m: T) -> T { T.exp(x - (m.isFinite ? m : 0)) }
}

/// `m + log s`, the log-sum-exp from the shifted sum `s`, with an infinite `m` taken as 0 as in `ShiftedExp`.
private enum LogPlusShift: BinaryFunction {
    static func apply<T: FloatElement>(_ s: T, _ m: T) -> T { T.log(s) + (m.isFinite ? m : 0) }
}
