/// Row lookup, as `F.embedding`; the layer is NN/Embedding.swift. Shapes: `V` = vocabulary, `D` = embedding
/// width, `I` = number of indices (all dims of the index tensor flattened).

extension Tensor {
    /// Gathers rows of `weight` for int64 `indices` of any shape, as `F.embedding`: `[...] → [..., D]`.
    ///
    /// `y[i] = weight[indices[i]]`. The gradient of `weight` scatter-adds `dy` rows back, so a repeated
    /// index receives the sum of its rows; the row `paddingIdx` (if any) receives none.
    /// - Parameters:
    ///   - indices: int64, each in `0..<V`.
    ///   - weight: `[V, D]`.
    ///   - paddingIdx: a row that gets no gradient; negative values count from the end.
    public static func embedding(_ indices: Tensor, weight: Tensor, paddingIdx: Int? = nil) -> Tensor {
        require(indices.dtype == .int64, "embedding: indices must be int64, got \(indices.dtype) of shape \(indices.shape)")
        require(weight.rank == 2, "embedding: weight \(weight.shape) must be [numEmbeddings, embeddingDim]")
        let (vocabulary, dim) = (weight.shape[0], weight.shape[1])
        let padding = paddingIdx.map { $0 < 0 ? $0 + vocabulary : $0 }
        require(padding == nil || (0..<vocabulary).contains(padding!),
                     "embedding: paddingIdx \(paddingIdx!) out of range for weight \(weight.shape)")
        let ids = indices.contiguousData()                                     // [I]
        let idp = ids.pointer(Int64.self)
        for i in 0..<ids.count {
            require(idp[i] >= 0 && idp[i] < vocabulary,
                         "embedding: index \(idp[i]) out of range for weight \(weight.shape) (indices \(indices.shape))")
        }
        let table = weight.detached().contiguousData()                         // [V, D]
        let out = Tensor(uninitialized: indices.shape + [dim], dtype: weight.dtype)  // [I, D]
        let rows = ids.count
        func gather<T: FloatElement>(_: T.Type) {
            let (wp, yp) = (table.pointer(T.self), out.pointer(T.self))
            parallelFor(rows, grain: Swift.max(1, 32_768 / Swift.max(dim, 1))) { range in
                for i in range { (yp + i * dim).update(from: wp + Int(idp[i]) * dim, count: dim) }
            }
        }
        switch weight.dtype {
        case .float32: gather(Float.self)
        case .float64: gather(Double.self)
        default: unsupported("embedding", weight.dtype)
        }
        let weightShape = weight.shape
        return differentiable("embedding", inputs: [weight], output: out) { g in    // g: [..., D]
            let dy = g.contiguousData()
            let dw = Tensor.zeros(weightShape, dtype: dy.dtype)                    // [V, D]
            func scatterAdd<T: FloatElement>(_: T.Type) {
                let (gp, dp, ip) = (dy.pointer(T.self), dw.pointer(T.self), ids.pointer(Int64.self))
                // Chunks own disjoint column ranges, so repeated indices never race.
                parallelFor(dim, grain: Swift.max(1, 32_768 / Swift.max(rows, 1))) { columns in
                    for i in 0..<rows {
                        let row = Int(ip[i])
                        if row == padding { continue }
                        let (src, dst) = (gp + i * dim, dp + row * dim)
                        for j in columns { dst[j] += src[j] }
                    }
                }
            }
            switch dy.dtype {
            case .float32: scatterAdd(Float.self)
            case .float64: scatterAdd(Double.self)
            default: unsupported("embedding backward", dy.dtype)
            }
            return [dw]
        }
    }
}
