/// Multi-head attention with PyTorch's `nn.MultiheadAttention` semantics, parameter names and initialisation.
///
/// Shapes: `L` = target length, `S` = source length, `B` = batch, `E` = embedding size, `H` = heads,
/// `D = E / H` = head size.

/// Multi-head attention, as `nn.MultiheadAttention` (with `kdim = vdim = embedDim`).
///
/// `out = concat_h(softmax(Q_h·K_hᵀ/√D + mask)·V_h)·W_oᵀ + b_o` with `Q = query·W_qᵀ + b_q`, `K`, `V` likewise.
/// - `in_proj_weight`: `[3E, E]`, the rows of `W_q`, `W_k`, `W_v` stacked; Xavier uniform over the whole matrix.
/// - `in_proj_bias`: `[3E]`, zeros.
/// - `out_proj`: a `Linear(E, E)` with its default weight initialisation and a zero bias.
///
/// As a `Layer` (in a `Sequential`), `attention(x)` is self-attention, `query = key = value = x`, without masks,
/// returning the output and not the weights; see `Layer`.
public final class MultiheadAttention: Layer, ModeDependent {
    public let embedDim: Int
    public let numHeads: Int
    /// The probability of dropping an attention weight in training.
    public let dropout: Double
    public let batchFirst: Bool
    public var inProjWeight: Tensor     // [3E, E]
    public var inProjBias: Tensor?      // [3E]
    public let outProj: Linear          // [E, E], [E]
    /// Whether attention dropout is applied; see `train()`/`eval()`.
    public var isTraining = true

    /// - Parameters:
    ///   - embedDim: `E`, the size of query, key, value and output features.
    ///   - numHeads: `H`; must divide `embedDim`.
    ///   - dropout: dropout probability on the attention weights (training only).
    ///   - bias: whether the input and output projections learn biases.
    ///   - batchFirst: inputs and outputs are `[B, L, E]` instead of `[L, B, E]`.
    public init(embedDim: Int, numHeads: Int, dropout: Double = 0, bias: Bool = true, batchFirst: Bool = false,
                dtype: DType = .float32) {
        _ = requireSettings { try Self.stateShapes(embedDim: embedDim, numHeads: numHeads, dropout: dropout, bias: bias, dtype: dtype) }
        (self.embedDim, self.numHeads, self.dropout, self.batchFirst) = (embedDim, numHeads, dropout, batchFirst)
        inProjWeight = Init.xavierUniform([3 * embedDim, embedDim], dtype: dtype)
        inProjWeight.requiresGrad = true
        inProjBias = bias ? Tensor.zeros([3 * embedDim], dtype: dtype) : nil
        inProjBias?.requiresGrad = true
        outProj = Linear(embedDim, embedDim, bias: bias, dtype: dtype)
        if let b = outProj.bias { b.copy(from: Tensor.zeros([embedDim], dtype: dtype)) }
    }

    /// The state `init` makes, before making it: `in_proj_weight` `[3E, E]`, `in_proj_bias` `[3E]`, then
    /// `out_proj.weight` `[E, E]` and `out_proj.bias` `[E]` (the biases when `bias`).
    /// - Throws: `ShapeError` for sizes below 1, heads that do not divide `embedDim` or a dropout outside [0, 1]
    ///   (`.setting`), or a projection with more elements than fit in `Int`.
    public static func stateShapes(embedDim: Int, numHeads: Int, dropout: Double = 0, bias: Bool = true,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule("MultiheadAttention")
        try rule.size("embed_dim", embedDim, atLeast: 1)
        try rule.size("num_heads", numHeads, atLeast: 1)
        try rule.check(embedDim % numHeads == 0, "num_heads", "embed_dim \(embedDim) must be divisible by num_heads \(numHeads)")
        try rule.check((0...1).contains(dropout), "dropout", "dropout \(dropout) must be in [0, 1]")
        let projected = try rule.product(3, embedDim, what: "the input projection")
        var state = [try rule.entry("in_proj_weight", [projected, embedDim], dtype)]
        if bias { state.append(StateEntry("in_proj_bias", [projected], dtype)) }
        return state + (try Linear.stateShapes(embedDim, embedDim, bias: bias, dtype: dtype)).nested(under: "out_proj")
    }

    /// Attends from `query` to `key`/`value`.
    ///
    /// - Parameters:
    ///   - query: `[L, B, E]` (`[B, L, E]` when `batchFirst`), or unbatched `[L, E]`.
    ///   - key, value: `[S, B, E]` (`[B, S, E]` when `batchFirst`), or unbatched `[S, E]`.
    ///   - keyPaddingMask: `[B, S]` (or `[S]` unbatched); bool **true = ignore that key**, or float, added.
    ///   - attnMask: `[L, S]` or `[B·H, L, S]`; bool **true = not allowed**, or float, added (PyTorch semantics).
    ///   - isCausal: also forbid key `j > i` for query `i`, combined with any masks.
    ///   - needWeights: also return the attention weights (computed by separate softmax and matmul ops).
    ///   - averageAttnWeights: average the returned weights over heads (`[B, L, S]`) or keep them (`[B, H, L, S]`).
    /// - Returns: `output` shaped like `query`, and the weights when asked for. A query whose keys are all
    ///   masked gets zeros from the fused path (PyTorch gives NaN).
    public func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor? = nil,
                               attnMask: Tensor? = nil, isCausal: Bool = false, needWeights: Bool = false,
                               averageAttnWeights: Bool = true) -> (output: Tensor, weights: Tensor?) {
        let op = "MultiheadAttention"
        let unbatched = query.rank == 2
        require((query.rank == 3 || unbatched) && key.rank == query.rank && value.rank == query.rank,
                "\(op): query \(query.shape), key \(key.shape), value \(value.shape) must all be 3-D (or all 2-D)")
        // Everything runs in the caller's layout, [B, len, E] (batch-major: batchFirst or unbatched) or
        // [len, B, E], so no input or output is transposed and copied.
        let batchMajor = batchFirst || unbatched
        let (q0, k0, v0) = unbatched ? (query.unsqueezed(0), key.unsqueezed(0), value.unsqueezed(0)) : (query, key, value)
        let (lengthDim, batchDim) = batchMajor ? (1, 0) : (0, 1)
        let (l, b, s, e, h) = (q0.shape[lengthDim], q0.shape[batchDim], k0.shape[lengthDim], embedDim, numHeads)
        let d = e / h
        func layout(_ length: Int) -> [Int] { batchMajor ? [b, length, e] : [length, b, e] }
        require(q0.shape[2] == e && k0.shape == layout(s) && v0.shape == layout(s),
                "\(op): query \(query.shape), key \(key.shape), value \(value.shape) do not match embedDim \(e) (batch dim \(unbatched ? "none" : "\(batchDim)"))")

        // Projections: [·, ·, E] · [E, E]ᵀ → [·, ·, E], one gemm each with a row block of in_proj_weight.
        // Self-attention too: one fused [3E, E] gemm would be chunked into three column slices, and the
        // gradients of three slices of [·, ·, 3E] are three zero-filled buffers of that size to be summed.
        let (w, bias) = (inProjWeight.chunk(3, dim: 0), inProjBias?.chunk(3, dim: 0))   // [E, E] and [E] each
        let (q, k, v) = (Tensor.linear(q0, weight: w[0], bias: bias?[0]),
                         Tensor.linear(k0, weight: w[1], bias: bias?[1]),
                         Tensor.linear(v0, weight: w[2], bias: bias?[2]))
        // → [B, H, len, D]. E splits into [H, D] as a view, and gemm reads the permuted heads through their
        // strides, so the heads are never copied.
        func heads(_ t: Tensor, _ length: Int) -> Tensor {
            batchMajor ? t.reshaped([b, length, h, d]).permuted([0, 2, 1, 3]) : t.reshaped([length, b, h, d]).permuted([1, 2, 0, 3])
        }
        let (qh, kh, vh) = (heads(q, l), heads(k, s), heads(v, s))

        // Masks → [B, H, L, S]-broadcastable: attnMask [L, S] or [B, H, L, S]; keyPaddingMask [B, 1, 1, S].
        var masks: [Tensor] = []
        if let attnMask {
            require(attnMask.shape == [l, s] || attnMask.shape == [b * h, l, s],
                    "\(op): attnMask \(attnMask.shape) must be [L, S] = [\(l), \(s)] or [B·H, L, S] = [\(b * h), \(l), \(s)]")
            masks.append(attnMask.rank == 3 ? attnMask.reshaped([b, h, l, s]) : attnMask)
        }
        if let keyPaddingMask {
            require(keyPaddingMask.shape == (unbatched ? [s] : [b, s]),
                    "\(op): keyPaddingMask \(keyPaddingMask.shape) must be \(unbatched ? "[S] = [\(s)]" : "[B, S] = [\(b), \(s)]")")
            masks.append(keyPaddingMask.reshaped([b, 1, 1, s]))
        }
        let p = isTraining ? dropout : 0
        var attended: Tensor                                    // [B, H, L, D]
        var weights: Tensor?
        if needWeights {
            // The weights are wanted, so they are computed by separate differentiable ops.
            var scores = qh.matmul(kh.transposed()) * (1 / Double(d).squareRoot())   // [B, H, L, S]
            for mask in masks { scores = scores + Tensor.additiveAttentionMask(mask, dtype: scores.dtype) }
            if isCausal { scores = scores + Tensor.additiveAttentionMask(causalMask(l, s), dtype: scores.dtype) }
            var probabilities = scores.softmax(dim: -1)
            probabilities = probabilities.dropout(p: p, training: p > 0)
            attended = probabilities.matmul(vh)                                    // [B, H, L, S]·[B, H, S, D] → [B, H, L, D]
            weights = averageAttnWeights ? probabilities.mean(dim: 1) : probabilities
            if unbatched { weights = weights!.squeezed(0) }
        } else {
            attended = Tensor.scaledDotProductAttention(query: qh, key: kh, value: vh, mask: combinedKeepMask(masks, dtype: q.dtype),
                                                        isCausal: isCausal, dropout: p)
        }
        // [B, H, L, D] → [B, L, H, D] or [L, B, H, D] → [B, L, E] or [L, B, E] (the one copy) → out_proj
        let merged = batchMajor ? attended.permuted([0, 2, 1, 3]).reshaped([b, l, e]) : attended.permuted([2, 0, 1, 3]).reshaped([l, b, e])
        let output = outProj(merged)
        return (unbatched ? output.squeezed(0) : output, weights)
    }

    /// Self-attention without masks, `query = key = value = input` (`[L, B, E]`, `[B, L, E]` when `batchFirst`,
    /// or `[L, E]`): the output of the full call, shaped like `input`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        self(query: input, key: input, value: input).output
    }

    /// PyTorch-convention masks (bool true = forbidden, or float additive) merged into one SDPA mask:
    /// a bool keep mask when all are bool, else one additive float mask.
    private func combinedKeepMask(_ masks: [Tensor], dtype: DType) -> Tensor? {
        guard let first = masks.first else { return nil }
        if masks.allSatisfy({ $0.dtype == .bool }) {
            return masks.dropFirst().reduce(first.logicalNot()) { $0.logicalAnd($1.logicalNot()) }
        }
        return masks.dropFirst().reduce(Tensor.additiveAttentionMask(first, dtype: dtype)) {
            $0 + Tensor.additiveAttentionMask($1, dtype: dtype)
        }
    }
}

extension MultiheadAttention: ShapeInferring {
    /// Self-attention over `[L, B, E]` (`[B, L, E]` when `batchFirst`, or `[L, E]`) keeps the shape; FLOPs as
    /// `flops(queries:keys:sequences:)` with `S = L`.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        let (length, sequences) = try attentionLayout(rule)
        return (input, try attentionFLOPs(rule, queries: length, keys: length, sequences: sequences))
    }

    /// The sequence length and count of an attention input `[L, B, E]` (`[B, L, E]` when `batchFirst`) or
    /// `[L, E]`, after checking that `E = embedDim`.
    func attentionLayout(_ rule: ShapeRule) throws(ShapeError) -> (length: Int, sequences: Int) {
        try rule.rank([2, 3], batchFirst ? "[B, L, embed_dim] or [L, embed_dim]" : "[L, B, embed_dim] or [L, embed_dim]")
        try rule.dimension(-1, is: embedDim, argument: "embed_dim")
        let x = rule.input
        if x.count == 2 { return (x[0], 1) }
        return batchFirst ? (x[1], x[0]) : (x[0], x[1])
    }

    /// FLOPs of attending from `queries` (`L`) to `keys` (`S`) positions in each of `sequences`: the query
    /// projection `2·L·E·E`, the key and value projections `2·2·S·E·E`, `Q·Kᵀ` and `P·V` `2·2·L·S·E`, and the
    /// output projection `2·L·E·E`.
    func attentionFLOPs(_ rule: ShapeRule, queries l: Int, keys s: Int, sequences: Int) throws(ShapeError) -> Int {
        let e = embedDim
        let perSequence = try rule.sum(rule.product(2, l, e, e), rule.product(4, s, e, e), rule.product(4, l, s, e),
                                       rule.product(2, l, e, e))
        return try rule.product(sequences, perSequence)
    }
}

/// `[L, S]` bool, true where key `j > i` (not allowed), PyTorch's causal convention.
func causalMask(_ l: Int, _ s: Int) -> Tensor {
    Tensor.arange(0, Double(s)).unsqueezed(0).gt(Tensor.arange(0, Double(l)).unsqueezed(1))
}
