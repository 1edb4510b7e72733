/// Scaled dot-product attention as one fused op, as `F.scaled_dot_product_attention`.
///
/// Shapes: `B…` = batch dims (broadcast among query, key, value and mask), `L` = target (query) length,
/// `S` = source (key) length, `E` = query/key size, `Ev` = value size.
///
/// Forward: one gemm per batch element for `Q·Kᵀ` (the key read through gemm's transpose flag), one fused
/// pass per row for scale + mask + causal mask + stable softmax, one gemm per batch element for `P·V`.
/// The probabilities `P` are saved for the pullback.
extension Tensor {
    /// `softmax(Q·Kᵀ·scale + mask)·V`: `query [B…, L, E]`, `key [B…, S, E]`, `value [B…, S, Ev]` → `[B…, L, Ev]`.
    ///
    /// - Parameters:
    ///   - mask: either a `.bool` mask, **true = attend** (PyTorch's SDPA convention), or a float mask added to
    ///     the scaled scores (`-inf` forbids). Broadcastable to `[B…, L, S]`. A float mask that requires grad
    ///     gets the gradient of the masked scores, `P∘(dP − Σ_j dP∘P)`, summed over broadcast dims, as in PyTorch.
    ///   - isCausal: also forbid key `j > i` for query `i` (the top-left aligned lower triangle, as PyTorch).
    ///   - dropout: probability of zeroing each attention weight after the softmax (survivors scaled by
    ///     `1/(1 − p)`), drawn from the global generator. Applied whenever `dropout > 0`, as the functional
    ///     PyTorch op does; layers pass 0 in evaluation mode.
    ///   - scale: multiplies `Q·Kᵀ`; `1/√E` when nil.
    ///
    /// A row whose keys are all forbidden gets all-zero weights, so its output is zeros and its gradient zero.
    /// (PyTorch returns NaN for such rows.)
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 isCausal: Bool = false, dropout: Double = 0,
                                                 scale: Double? = nil) -> Tensor {
        attention(query: query, key: key, value: value, mask: mask, isCausal: isCausal, dropout: dropout, scale: scale) {
            shape, dtype in Strata.withGlobalGenerator { dropoutMask(shape: shape, dtype: dtype, p: dropout, op: "scaledDotProductAttention dropout", generator: &$0) }
        }
    }

    /// `scaledDotProductAttention` with the dropout mask drawn from `generator` instead of the global one.
    public static func scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor? = nil,
                                                 isCausal: Bool = false, dropout: Double, scale: Double? = nil,
                                                 generator: inout RandomGenerator) -> Tensor {
        withoutActuallyEscaping({ (shape: [Int], dtype: DType) -> Tensor in
            dropoutMask(shape: shape, dtype: dtype, p: dropout, op: "scaledDotProductAttention dropout", generator: &generator)
        }) { draw in
            attention(query: query, key: key, value: value, mask: mask, isCausal: isCausal, dropout: dropout,
                      scale: scale, drawMask: draw)
        }
    }

    /// The shared forward and pullback; `drawMask(shape, dtype)` makes the dropout mask when `dropout > 0`.
    private static func attention(query: Tensor, key: Tensor, value: Tensor, mask: Tensor?, isCausal: Bool,
                                  dropout: Double, scale: Double?, drawMask: ([Int], DType) -> Tensor) -> Tensor {
        let op = "scaledDotProductAttention"
        require(query.rank >= 2 && key.rank >= 2 && value.rank >= 2,
                "\(op): query \(query.shape), key \(key.shape), value \(value.shape) need at least 2 dims each")
        let (l, e) = (query.shape[query.rank - 2], query.shape[query.rank - 1])
        let (s, ev) = (key.shape[key.rank - 2], value.shape[value.rank - 1])
        require(key.shape[key.rank - 1] == e && value.shape[value.rank - 2] == s,
                "\(op): query \(query.shape) ([B…, L, E]), key \(key.shape) ([B…, S, E]) and value \(value.shape) ([B…, S, Ev]) do not match")
        require(query.dtype == key.dtype && key.dtype == value.dtype && query.dtype.isFloatingPoint,
                "\(op): query, key and value must share a float dtype, got \(query.dtype), \(key.dtype), \(value.dtype)")
        require((0...1).contains(dropout), "\(op): dropout \(dropout) must be in [0, 1]")
        let dtype = query.dtype
        var batchShape = Shape.broadcast(Array(query.shape.dropLast(2)), Array(key.shape.dropLast(2)), op: op)
        batchShape = Shape.broadcast(batchShape, Array(value.shape.dropLast(2)), op: op)
        var maskView: Tensor?
        var gradientMask: Tensor?      // the float mask, when a gradient flows to it
        if let mask {
            require(mask.dtype == .bool || mask.dtype.isFloatingPoint,
                    "\(op): mask must be bool or float, got \(mask.dtype) (shape \(mask.shape))")
            let full = Shape.broadcast(batchShape + [l, s], mask.shape, op: op)
            require(Array(full.suffix(2)) == [l, s],
                    "\(op): mask \(mask.shape) does not broadcast to [B…, L, S] = \(batchShape + [l, s])")
            batchShape = Array(full.dropLast(2))
            let m = mask.dtype == .bool ? mask.detached() : mask.detached().to(dtype)
            maskView = m.expanded(to: full)
            if mask.dtype != .bool && mask.isTracked { gradientMask = mask }
        }
        let scaleFactor = scale ?? (e > 0 ? 1 / Double(e).squareRoot() : 1)
        let (q, k, v) = (query.detached(), key.detached(), value.detached())
        // [B…, L, E] · [B…, S, E]ᵀ → [B…, L, S]; expanded views keep stride-0 batch dims, so nothing is copied.
        let probabilities = Tensor.gemm(q.expanded(to: batchShape + [l, e]), k.expanded(to: batchShape + [s, e]).transposed())
        maskedSoftmaxRows(probabilities, batchShape: batchShape, l: l, s: s, scale: scaleFactor, mask: maskView,
                          causal: isCausal, op: op)
        let keepMask = dropout > 0 ? drawMask(probabilities.shape, dtype) : nil
        let weights = keepMask.map { probabilities * $0 } ?? probabilities           // [B…, L, S]
        // [B…, L, S] · [B…, S, Ev] → [B…, L, Ev]
        let out = Tensor.gemm(weights, v.expanded(to: batchShape + [s, ev]))
        let needs = (query.isTracked, key.isTracked, value.isTracked)
        let (qShape, kShape, vShape) = (query.shape, key.shape, value.shape)
        let maskShape = gradientMask?.shape, maskDType = gradientMask?.dtype
        let inputs = [query, key, value] + (gradientMask.map { [$0] } ?? [])
        return differentiable(op, inputs: inputs, output: out) { g in   // g: [B…, L, Ev]
            let dV = needs.2 ? weights.transposed().matmul(g).sum(toShape: vShape) : nil      // Pᵀ·dO      [B…, S, Ev]
            guard needs.0 || needs.1 || maskShape != nil else { return [nil, nil, dV] }
            let dP = g.matmul(v.transposed())                                              // dO·Vᵀ      [B…, L, S]
            let dS = softmaxScoresGradient(probabilities, dP, keep: keepMask, scale: scaleFactor)  // [B…, L, S]
            // The mask is added after scaling, so its gradient is that of the scores without the scale factor.
            let dMask = maskShape.map { shape in
                softmaxScoresGradient(probabilities, dP, keep: keepMask, scale: 1).sum(toShape: shape).to(maskDType!)
            }
            return [needs.0 ? dS.matmul(k).sum(toShape: qShape) : nil,                      // dS·K       [B…, L, E]
                    needs.1 ? dS.transposed().matmul(q).sum(toShape: kShape) : nil,         // dSᵀ·Q      [B…, S, E]
                    dV] + (dMask.map { [$0] } ?? [])
        }
    }

    /// Turns raw scores `[B…, L, S]` (contiguous) into attention probabilities in place, one pass per row
    /// (`attentionSoftmax`, the softmax family's kernel): `x·scale`, the mask (bool: keep where true; float:
    /// added), the causal limit, then a max-shifted softmax. A row with nothing allowed is set to zeros.
    private static func maskedSoftmaxRows(_ scores: Tensor, batchShape: [Int], l: Int, s: Int, scale: Double,
                                          mask: Tensor?, causal: Bool, op: String) {
        let rows = Shape.count(batchShape) * l
        guard rows > 0 && s > 0 else { return }
        // The offset of each batch element's first query row inside the (broadcast, strided) mask view.
        let maskStrides = mask?.strides ?? []
        let rank = batchShape.count
        func maskOffset(_ batch: Int) -> Int {
            var rest = batch, offset = 0
            for d in stride(from: rank - 1, through: 0, by: -1) {
                offset += (rest % batchShape[d]) * maskStrides[d]
                rest /= batchShape[d]
            }
            return offset
        }
        func run<T: FloatElement>(_: T.Type) {
            let x = scores.pointer(T.self)
            let keep: UnsafeMutablePointer<Bool>? = mask?.dtype == .bool ? mask!.pointer(Bool.self) : nil
            let additive: UnsafeMutablePointer<T>? = mask != nil && mask!.dtype != .bool ? mask!.pointer(T.self) : nil
            parallelFor(rows, grain: Swift.max(1, 8_192 / s)) { range in
                // One kernel call per batch element's share of the range.
                var row = range.lowerBound
                while row < range.upperBound {
                    let (batch, query) = row.quotientAndRemainder(dividingBy: l)
                    let count = Swift.min(l - query, range.upperBound - row)
                    var rowMask = AttentionMask<T>(scale: T(fromDouble: scale), causal: causal)
                    if mask != nil {
                        let first = maskOffset(batch) + query * maskStrides[rank]
                        rowMask.keep = keep.map { UnsafePointer($0 + first) }
                        rowMask.additive = additive.map { UnsafePointer($0 + first) }
                        (rowMask.rowStride, rowMask.columnStride) = (maskStrides[rank], maskStrides[rank + 1])
                    }
                    attentionSoftmax(x + row * s, rows: count, n: s, firstQuery: query, mask: rowMask)
                    row += count
                }
            }
        }
        switch scores.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported(op, scores.dtype)
        }
        withExtendedLifetime(mask) {}
    }

    /// `dS = P∘(dP' − Σ_j dP'∘P)·scale` per row, with `dP' = dP∘keep` when dropout was applied: the gradient of
    /// the scaled, masked scores (`softmaxBackwardRows`, the softmax family's gradient). Forbidden entries have
    /// `P = 0` and so get no gradient.
    private static func softmaxScoresGradient(_ p: Tensor, _ dP: Tensor, keep: Tensor?, scale: Double) -> Tensor {
        let upstream = dP.contiguousData()
        let out = Tensor(uninitialized: p.shape, dtype: p.dtype)
        let s = p.shape[p.rank - 1]
        let rows = s > 0 ? p.count / s : 0
        func run<T: FloatElement>(_: T.Type) {
            softmaxBackwardRows(T.self, upstream.pointer(T.self), p.pointer(T.self),
                                keep: keep.map { UnsafePointer($0.pointer(T.self)) }, rows: rows, n: s,
                                scale: T(fromDouble: scale), log: false, into: out.pointer(T.self))
        }
        switch p.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported("scaledDotProductAttention backward", p.dtype)
        }
        withExtendedLifetime((upstream, keep)) {}
        return out
    }

    /// A PyTorch-style attention mask (`.bool`, **true = not allowed**, or float, added to the scores) as an
    /// additive float mask of `dtype`: `-inf` where forbidden, `0` where allowed, floats passed through (with their gradient).
    static func additiveAttentionMask(_ mask: Tensor, dtype: DType) -> Tensor {
        guard mask.dtype == .bool else { return mask.to(dtype) }
        return Tensor.where(mask.detached(), Tensor.full([], -.infinity, dtype: dtype), Tensor.zeros([], dtype: dtype))
    }
}
