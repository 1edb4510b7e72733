/// Matrix products through gemm. `M, K, N` name the matrix dimensions; leading dims are batch dims.
extension Tensor {
    /// Matrix product `[…, M, K] · […, K, N] → […, M, N]` with broadcast batch dimensions, as `torch.matmul`.
    ///
    /// A 1-D left operand is a row vector `[K]`, a 1-D right operand a column vector `[K]`; their dimension
    /// is dropped from the result. Each batch element is one gemm call on the operands' own buffers: a
    /// transposed view is passed to gemm with a transpose flag, never copied.
    public func matmul(_ other: Tensor) -> Tensor {
        require(rank >= 1 && other.rank >= 1, "matmul: shapes \(shape) and \(other.shape) need at least one dim each")
        if rank == 1 { return unsqueezed(0).matmul(other).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(1)).squeezed(-1) }
        require(shape[rank - 1] == other.shape[other.rank - 2],
                     "matmul: shapes \(shape) and \(other.shape) do not match (\(shape[rank - 1]) ≠ \(other.shape[other.rank - 2]))")
        let (a, b) = (detached(), other.detached())
        return Tensor.differentiable("matmul", inputs: [self, other], output: Tensor.gemm(a, b)) { g in
            [g.matmul(b.transposed()).sum(toShape: a.shape),   // dA = g · Bᵀ   [M, N]·[N, K] → [M, K]
             a.transposed().matmul(g).sum(toShape: b.shape)]   // dB = Aᵀ · g   [K, M]·[M, N] → [K, N]
        }
    }

    /// The forward product, off the tape.
    static func gemm(_ a: Tensor, _ b: Tensor) -> Tensor {
        require(a.dtype == b.dtype, "matmul: dtypes \(a.dtype) and \(b.dtype) differ (shapes \(a.shape) and \(b.shape))")
        let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1], n = b.shape[b.rank - 1]
        let batchShape = Shape.broadcast(Array(a.shape.dropLast(2)), Array(b.shape.dropLast(2)), op: "matmul")
        let out = Tensor(uninitialized: batchShape + [m, n], dtype: a.dtype)
        guard out.count > 0 else { return out }
        let left = MatrixOperand(a), right = MatrixOperand(b)
        let sa = Shape.broadcastStrides(shape: Array(left.tensor.shape.dropLast(2)), strides: Array(left.tensor.strides.dropLast(2)), to: batchShape)
        let sb = Shape.broadcastStrides(shape: Array(right.tensor.shape.dropLast(2)), strides: Array(right.tensor.strides.dropLast(2)), to: batchShape)
        let batches = Shape.count(batchShape)
        func run<T: FloatElement>(_: T.Type) {
            let pa = left.tensor.pointer(T.self), pb = right.tensor.pointer(T.self), pc = out.pointer(T.self)
            for batch in 0..<batches {
                var rest = batch, oa = 0, ob = 0
                for d in stride(from: batchShape.count - 1, through: 0, by: -1) {
                    let i = rest % batchShape[d]
                    rest /= batchShape[d]
                    oa += i * sa[d]
                    ob += i * sb[d]
                }
                if k == 0 {
                    (pc + batch * m * n).update(repeating: 0, count: m * n)
                    continue
                }
                // [M, K] · [K, N] → [M, N]
                T.gemm(transposeA: left.transposed, transposeB: right.transposed, m: m, n: n, k: k, alpha: 1,
                       a: pa + oa, lda: left.leadingDimension, b: pb + ob, ldb: right.leadingDimension,
                       beta: 0, c: pc + batch * m * n, ldc: n)
            }
        }
        switch a.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported("matmul", a.dtype)
        }
        return out
    }
}

/// How gemm reads one operand's trailing `[rows, cols]` matrix: as stored, or through the transpose flag
/// when the view is a transpose of a row-major matrix. Other layouts are copied once to be contiguous.
private struct MatrixOperand {
    let tensor: Tensor
    let transposed: Bool
    let leadingDimension: Int

    init(_ t: Tensor) {
        let rows = t.shape[t.rank - 2], cols = t.shape[t.rank - 1]
        let rowStride = t.strides[t.rank - 2], colStride = t.strides[t.rank - 1]
        if (colStride == 1 || cols == 1) && (rows == 1 || rowStride >= cols) && rowStride > 0 {
            (tensor, transposed, leadingDimension) = (t, false, rows == 1 ? max(cols, 1) : rowStride)
        } else if (rowStride == 1 || rows == 1) && (cols == 1 || colStride >= rows) && colStride > 0 {
            (tensor, transposed, leadingDimension) = (t, true, cols == 1 ? max(rows, 1) : colStride)
        } else {
            let dense = t.contiguousData()
            (tensor, transposed, leadingDimension) = (dense, false, max(cols, 1))
        }
    }
}
