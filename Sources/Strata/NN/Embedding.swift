/// A lookup table of vectors, as `nn.Embedding`; the op (`Tensor.embedding`) is in Ops/EmbeddingOps.swift.
/// Shapes: `V` = vocabulary (`numEmbeddings`), `D` = `embeddingDim`.

/// A table of `numEmbeddings` learned vectors of size `embeddingDim`, looked up by int64 index, as `nn.Embedding`.
///
/// - `weight`: `[numEmbeddings, embeddingDim]`, initialised N(0, 1), with the `paddingIdx` row zeroed.
public final class Embedding: Layer {
    public let numEmbeddings: Int
    public let embeddingDim: Int
    /// The row that is initialised to zeros and never receives a gradient (non-negative once stored).
    public let paddingIdx: Int?
    public var weight: Tensor

    /// - Parameters:
    ///   - numEmbeddings: `V`, the number of rows.
    ///   - embeddingDim: `D`, the size of each row.
    ///   - paddingIdx: a row kept at zero gradient (e.g. a padding token); negative values count from the end.
    public init(_ numEmbeddings: Int, _ embeddingDim: Int, paddingIdx: Int? = nil, dtype: DType = .float32) {
        let state = requireSettings { try Self.stateShapes(numEmbeddings, embeddingDim, paddingIdx: paddingIdx, dtype: dtype) }
        let padding = paddingIdx.map { $0 < 0 ? $0 + numEmbeddings : $0 }
        (self.numEmbeddings, self.embeddingDim, self.paddingIdx) = (numEmbeddings, embeddingDim, padding)
        weight = Init.normal(state[0].shape, dtype: dtype)
        if let padding { weight.select(0, padding).assign(Tensor.zeros([embeddingDim], dtype: dtype)) }
        weight.requiresGrad = true
    }

    /// The state `init` makes, before making it: `weight` `[V, D]`.
    /// - Throws: `ShapeError` for a negative size or a `paddingIdx` outside `-V..<V` (`.setting`), or a table
    ///   with more elements than fit in `Int`.
    public static func stateShapes(_ numEmbeddings: Int, _ embeddingDim: Int, paddingIdx: Int? = nil,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule("Embedding")
        try rule.size("num_embeddings", numEmbeddings, atLeast: 0)
        try rule.size("embedding_dim", embeddingDim, atLeast: 0)
        if let paddingIdx {
            try rule.check((-numEmbeddings..<numEmbeddings).contains(paddingIdx), "padding_idx",
                           "padding_idx \(paddingIdx) is out of range for \(numEmbeddings) embeddings")
        }
        return [try rule.entry("weight", [numEmbeddings, embeddingDim], dtype)]
    }

    /// int64 `[...]` → `[..., D]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.embedding(input, weight: weight, paddingIdx: paddingIdx)
    }
}

extension Embedding: ShapeInferring {
    /// `[…] → […, D]`; a lookup counts no FLOPs.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        return (try rule.output(input + [embeddingDim]), 0)
    }

    /// int64 indices in, vectors of the table's dtype out.
    public func outputDType(for input: DType) throws(ShapeError) -> DType {
        guard input == .int64 else {
            throw ShapeError(layer: "Embedding", input: [], kind: .dtype, reason: "needs int64 indices, not \(input) values")
        }
        return weight.dtype
    }
}
