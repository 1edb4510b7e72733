/// Ops that read or write elements at positions held in an int64 index tensor, with PyTorch semantics.
///
/// `d` is the indexed dimension, `n` its size in the indexed tensor and `k` the number of indices along it;
/// `outer` and `inner` are the products of the dimensions before and after `d` in a `[outer, n, inner]` view.
/// Every index is checked against `0..<n` before any element moves; the failure names the op, the bad index
/// and the shape. Gathers copy whole `inner` runs where the layout allows; scatters add, never assign, so
/// repeated indices sum their contributions.
extension Tensor {
    // MARK: indexSelect

    /// The slices at `index` along `dim`, in index order, as `torch.index_select` (an embedding lookup).
    ///
    /// `[…, n, …]` with `index: [k]` (int64, values in `0..<n`) `→ […, k, …]`. Indices may repeat; their
    /// gradients are summed by the pullback, `scatterAdd` into zeros.
    public func indexSelect(dim: Int, index: Tensor) -> Tensor {
        require(rank > 0, "indexSelect: cannot index a zero-dimensional tensor")
        require(index.rank <= 1, "indexSelect: index must be 1-D, got shape \(index.shape) (input shape \(shape))")
        let d = axis(dim, op: "indexSelect")
        Tensor.checkIndices(index, below: shape[d], op: "indexSelect", dim: dim, shape: shape)
        let k = index.count
        var outShape = shape
        outShape[d] = k
        let out = Tensor(uninitialized: outShape, dtype: dtype)
        if out.count > 0 {
            let source = contiguousData(), positions = index.contiguousData()
            let outer = Shape.count(Array(shape[..<d])), n = shape[d], inner = Shape.count(Array(shape[(d + 1)...]))
            func run<T>(_: T.Type) {
                let src = source.pointer(T.self), dst = out.pointer(T.self), idx = positions.pointer(Int64.self)
                // Output row (a, j) of [outer, k, inner] is input row (a, idx[j]) of [outer, n, inner].
                parallelFor(outer * k, grain: Swift.max(1, 32_768 / Swift.max(inner, 1))) { rows in
                    if inner == 1 {  // single elements: a plain load/store beats a one-element memcpy
                        for row in rows {
                            let (a, j) = row.quotientAndRemainder(dividingBy: k)
                            dst[row] = src[a * n + Int(idx[j])]
                        }
                        return
                    }
                    for row in rows {
                        let (a, j) = row.quotientAndRemainder(dividingBy: k)
                        (dst + row * inner).update(from: src + (a * n + Int(idx[j])) * inner, count: inner)
                    }
                }
            }
            switch dtype.size {
            case 1: run(UInt8.self)
            case 4: run(UInt32.self)
            default: run(UInt64.self)
            }
        }
        let original = shape, positions = index.detached()
        return Tensor.differentiable("indexSelect", inputs: [self], output: out) { g in   // g: […, k, …]
            var along = [Int](repeating: 1, count: original.count)
            along[d] = k
            let spread = positions.reshaped(along).expanded(to: g.shape)
            return [Tensor.zeros(original, dtype: g.dtype).scatterAdd(dim: d, index: spread, source: g)]  // […, n, …]
        }
    }

    // MARK: gather

    /// Elements picked along `dim` by `index`, as `torch.gather`.
    ///
    /// `out[i][j][k] = self[index[i][j][k]][j][k]` for `dim = 0` (likewise for other dims). `index` is int64
    /// with this tensor's rank and, outside `dim`, sizes no larger than this tensor's; the result has
    /// `index`'s shape. The gradient is scattered back (`scatterAdd`), summing over repeated positions.
    public func gather(dim: Int, index: Tensor) -> Tensor {
        require(index.rank == rank, "gather: index shape \(index.shape) and input shape \(shape) differ in rank")
        if rank == 0 {
            require(dim == 0 || dim == -1, "gather: dim \(dim) out of range for a tensor of shape []")
            return unsqueezed(0).gather(dim: 0, index: index.reshaped([1])).squeezed(0)
        }
        let d = axis(dim, op: "gather")
        for e in 0..<rank where e != d {
            require(index.shape[e] <= shape[e],
                         "gather: index shape \(index.shape) exceeds input shape \(shape) outside dim \(dim)")
        }
        Tensor.checkIndices(index, below: shape[d], op: "gather", dim: dim, shape: shape)
        let out = Tensor(uninitialized: index.shape, dtype: dtype)
        if out.count > 0 {
            // Rows run along d (moved last); input rows start at the row's other coordinates, d read from index.
            let walk = Shape.movingLast(index.shape, d)
            var inputStrides = Shape.movingLast(strides, d)
            inputStrides[rank - 1] = 0
            let walkStrides = [Shape.movingLast(index.strides, d), Shape.movingLast(out.strides, d), inputStrides]
            let length = index.shape[d], si = index.strides[d], so = out.strides[d], sd = strides[d]
            func run<T>(_: T.Type) {
                let idx = index.pointer(Int64.self), dst = out.pointer(T.self), src = pointer(T.self)
                Shape.forEachRow(walk, walkStrides) { offsets in
                    let ip = idx + offsets[0], op = dst + offsets[1], sp = src + offsets[2]
                    for j in 0..<length { op[j * so] = sp[Int(ip[j * si]) * sd] }
                }
            }
            switch dtype.size {
            case 1: run(UInt8.self)
            case 4: run(UInt32.self)
            default: run(UInt64.self)
            }
        }
        let original = shape, positions = index.detached()
        return Tensor.differentiable("gather", inputs: [self], output: out) { g in
            [Tensor.zeros(original, dtype: g.dtype).scatterAdd(dim: d, index: positions, source: g)]
        }
    }

    // MARK: scatterAdd

    /// A copy of this tensor with `source` added at the positions `index` names along `dim`, as the
    /// out-of-place `torch.scatter_add`.
    ///
    /// `out[index[i][j][k]][j][k] += source[i][j][k]` for `dim = 0`, over every position of `index`.
    /// `index` (int64), `source` and this tensor have one rank; `index` is no larger than `source` anywhere
    /// and no larger than this tensor outside `dim`. Repeated indices sum. Gradients: this tensor gets the
    /// output gradient, `source` gets it gathered back at `index` (zero where `index` does not reach).
    /// An index that is a 1-D index expanded along the other dims (as `indexSelect`'s pullback makes)
    /// adds whole rows.
    public func scatterAdd(dim: Int, index: Tensor, source: Tensor) -> Tensor {
        require(source.dtype == dtype,
                     "scatterAdd: source dtype \(source.dtype) differs from \(dtype) (shapes \(source.shape) and \(shape))")
        require(index.rank == rank && source.rank == rank,
                     "scatterAdd: ranks differ: input \(shape), index \(index.shape), source \(source.shape)")
        if rank == 0 {
            require(dim == 0 || dim == -1, "scatterAdd: dim \(dim) out of range for a tensor of shape []")
            return unsqueezed(0).scatterAdd(dim: 0, index: index.reshaped([1]), source: source.unsqueezed(0)).squeezed(0)
        }
        let d = axis(dim, op: "scatterAdd")
        for e in 0..<rank {
            require(index.shape[e] <= source.shape[e] && (e == d || index.shape[e] <= shape[e]),
                         "scatterAdd: index shape \(index.shape) does not fit source shape \(source.shape) "
                         + "and input shape \(shape) (dim \(dim))")
        }
        Tensor.checkIndices(index, below: shape[d], op: "scatterAdd", dim: dim, shape: shape)
        let out = Tensor(uninitialized: shape, dtype: dtype)
        out.assign(self)
        if index.count > 0 {
            switch dtype {
            case .float32: Tensor.scatterAddKernel(Float.self, into: out, dim: d, index: index, source: source)
            case .float64: Tensor.scatterAddKernel(Double.self, into: out, dim: d, index: index, source: source)
            case .int64: Tensor.scatterAddKernel(Int64.self, into: out, dim: d, index: index, source: source)
            case .bool: unsupported("scatterAdd", dtype)
            }
        }
        let positions = index.detached(), sourceShape = source.shape
        return Tensor.differentiable("scatterAdd", inputs: [self, source], output: out) { g in
            var gs = g.gather(dim: d, index: positions)                            // index.shape
            if positions.shape != sourceShape {
                gs = gs.padded(zip(positions.shape, sourceShape).map { (0, $1 - $0) })  // source.shape
            }
            return [g, gs]
        }
    }

    /// `out[…, index[…], …] += source[…]` in place on the fresh contiguous `out`. Threads split the positions
    /// outside `d`, which no two index positions with different such coordinates share, so writes never race.
    private static func scatterAddKernel<T: TensorScalar & AdditiveArithmetic>(
        _: T.Type, into out: Tensor, dim d: Int, index: Tensor, source: Tensor
    ) {
        let rank = out.rank
        let dst = out.pointer(T.self), idx = index.pointer(Int64.self)
        let k = index.shape[d], n = out.shape[d], si = index.strides[d]
        // A row index: constant outside d (stride 0 or size 1), and index, source and output agree outside d.
        let isRowIndex = (0..<rank).allSatisfy { e in
            e == d || ((index.strides[e] == 0 || index.shape[e] == 1) && index.shape[e] == out.shape[e])
        }
        if isRowIndex && index.shape == source.shape {
            // One index per row: add source row (a, j) of [outer, k, inner] to output row (a, idx[j]) of [outer, n, inner].
            let dense = source.contiguousData()
            defer { withExtendedLifetime(dense) {} }   // a fresh copy when source is strided, read only through src
            let src = dense.pointer(T.self)
            let outer = Shape.count(Array(out.shape[..<d])), inner = Shape.count(Array(out.shape[(d + 1)...]))
            guard inner > 0 else { return }
            parallelFor(outer * inner, grain: Swift.max(1, 32_768 / Swift.max(k, 1))) { positions in
                var position = positions.lowerBound
                while position < positions.upperBound {
                    let a = position / inner, start = position % inner
                    let end = Swift.min(inner, start + (positions.upperBound - position))
                    for j in 0..<k {
                        let target = dst + (a * n + Int(idx[j * si])) * inner
                        let row = src + (a * k + j) * inner
                        for i in start..<end { target[i] += row[i] }
                    }
                    position += end - start
                }
            }
            return
        }
        let walk = Shape.movingLast(index.shape, d)
        var outStrides = Shape.movingLast(out.strides, d)
        outStrides[rank - 1] = 0
        let walkStrides = [Shape.movingLast(index.strides, d), Shape.movingLast(source.strides, d), outStrides]
        let src = source.pointer(T.self), ss = source.strides[d], sd = out.strides[d]
        Shape.forEachRow(walk, walkStrides) { offsets in
            let ip = idx + offsets[0], sp = src + offsets[1], op = dst + offsets[2]
            for j in 0..<k { op[Int(ip[j * si]) * sd] += sp[j * ss] }
        }
    }

    // MARK: oneHot

    /// One-hot rows for int64 class labels, as `torch.nn.functional.one_hot`.
    ///
    /// `labels: […]` (values in `0..<classes`) `→ […, classes]` with a 1 at each label and 0 elsewhere.
    /// No gradient flows (labels are integers).
    public static func oneHot(_ labels: Tensor, classes: Int, dtype: DType = .float32) -> Tensor {
        require(classes > 0, "oneHot: classes must be positive, got \(classes) (labels shape \(labels.shape))")
        Tensor.checkIndices(labels, below: classes, op: "oneHot", dim: -1, shape: labels.shape + [classes])
        let out = Tensor.zeros(labels.shape + [classes], dtype: dtype)
        let dense = labels.contiguousData()
        func run<T: TensorScalar>(_: T.Type) {
            let dst = out.pointer(T.self), l = dense.pointer(Int64.self)
            let one = T(fromDouble: 1)
            for i in 0..<dense.count { dst[i * classes + Int(l[i])] = one }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        case .int64: run(Int64.self)
        case .bool: run(Bool.self)
        }
        return out
    }

    // MARK: Helpers

    /// Stops unless `index` is int64 with every value in `0..<bound`, naming the op, the first bad index and
    /// the indexed shape. Broadcast (stride-0) dimensions are read once.
    static func checkIndices(_ index: Tensor, below bound: Int, op: String, dim: Int, shape: [Int]) {
        require(index.dtype == .int64,
                     "\(op): index must be int64, got \(index.dtype) (index shape \(index.shape), input shape \(shape))")
        let distinctShape = index.shape.indices.map { index.strides[$0] == 0 ? Swift.min(index.shape[$0], 1) : index.shape[$0] }
        let distinct = Tensor(storage: index.storage, shape: distinctShape, strides: index.strides,
                              offset: index.offset, dtype: .int64)
        let dense = distinct.contiguousData()
        defer { withExtendedLifetime(dense) {} }   // a fresh copy when index is strided, read only through p
        let p = dense.pointer(Int64.self)
        for i in 0..<dense.count where p[i] < 0 || p[i] >= bound {
            fatalError("\(op): index \(p[i]) out of range 0..<\(bound) for dim \(dim) of shape \(shape)")
        }
    }
}

extension Shape {
    /// `values` with the entry at `d` moved to the end, so a row walk runs along dimension `d`.
    static func movingLast(_ values: [Int], _ d: Int) -> [Int] {
        var moved = values
        moved.append(moved.remove(at: d))
        return moved
    }
}
