/// Transformer layers and stacks with PyTorch's `nn.TransformerEncoderLayer`, `nn.TransformerDecoderLayer`,
/// `nn.TransformerEncoder` and `nn.TransformerDecoder` semantics and state-dict names, plus two small models.
///
/// Shapes: `B` = batch, `T`/`L` = target length, `S` = source (memory) length, `E` = `dModel`, `F` = feed-forward size.
/// Sequence tensors are `[T, B, E]`, or `[B, T, E]` when `batchFirst`.

/// The activation between a transformer layer's two feed-forward linears.
public enum TransformerActivation: Sendable {
    case relu, gelu

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .relu: x.relu()
        case .gelu: x.gelu()
        }
    }
}

/// One encoder block, as `nn.TransformerEncoderLayer`: self-attention then a feed-forward network, each with
/// a residual connection and a LayerNorm.
///
/// Post-norm (default): `x = norm1(x + sa(x))`, `x = norm2(x + ff(x))`. Pre-norm (`normFirst`):
/// `x = x + sa(norm1(x))`, `x = x + ff(norm2(x))`, where `sa(x) = dropout1(self_attn(x, x, x))` and
/// `ff(x) = dropout2(linear2(dropout(activation(linear1(x)))))`.
/// State dict: `self_attn.*`, `linear1.*` `[F, E]`, `linear2.*` `[E, F]`, `norm1.*`, `norm2.*` `[E]`.
/// As a `Layer`, `layer(x)` is the full call without masks.
public final class TransformerEncoderLayer: Layer {
    public let selfAttn: MultiheadAttention
    public let linear1: Linear
    public let dropout: Dropout
    public let linear2: Linear
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    public let dropout1: Dropout
    public let dropout2: Dropout
    public let activation: TransformerActivation
    public let normFirst: Bool
    private let configuration: (dModel: Int, nhead: Int, dimFeedforward: Int, dropout: Double, eps: Double,
                                batchFirst: Bool, dtype: DType)

    /// - Parameters:
    ///   - dModel: `E`, the feature size.
    ///   - nhead: attention heads; must divide `dModel`.
    ///   - dimFeedforward: `F`, the hidden size of the feed-forward network.
    ///   - dropout: the probability used by every dropout, attention weights included.
    ///   - layerNormEps: the LayerNorms' epsilon.
    ///   - batchFirst: inputs are `[B, T, E]` instead of `[T, B, E]`.
    ///   - normFirst: pre-norm instead of post-norm.
    public init(dModel: Int, nhead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
                activation: TransformerActivation = .relu, layerNormEps: Double = 1e-5, batchFirst: Bool = false,
                normFirst: Bool = false, dtype: DType = .float32) {
        _ = requireSettings { try Self.stateShapes(dModel: dModel, nhead: nhead, dimFeedforward: dimFeedforward, dropout: dropout, dtype: dtype) }
        selfAttn = MultiheadAttention(embedDim: dModel, numHeads: nhead, dropout: dropout, batchFirst: batchFirst, dtype: dtype)
        linear1 = Linear(dModel, dimFeedforward, dtype: dtype)
        self.dropout = Dropout(p: dropout)
        linear2 = Linear(dimFeedforward, dModel, dtype: dtype)
        norm1 = LayerNorm(dModel, eps: layerNormEps, dtype: dtype)
        norm2 = LayerNorm(dModel, eps: layerNormEps, dtype: dtype)
        dropout1 = Dropout(p: dropout)
        dropout2 = Dropout(p: dropout)
        (self.activation, self.normFirst) = (activation, normFirst)
        configuration = (dModel, nhead, dimFeedforward, dropout, layerNormEps, batchFirst, dtype)
    }

    /// The state `init` makes, before making it, in state-dict order: `self_attn.*`, `linear1.*` `[F, E]`,
    /// `linear2.*` `[E, F]`, `norm1.*` and `norm2.*` `[E]`.
    /// - Throws: `ShapeError` for settings the attention or the linears refuse, or a dropout outside [0, 1].
    public static func stateShapes(dModel: Int, nhead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let norm = try LayerNorm.stateShapes([dModel], dtype: dtype)
        return (try MultiheadAttention.stateShapes(embedDim: dModel, numHeads: nhead, dropout: dropout, dtype: dtype)).nested(under: "self_attn")
            + (try Linear.stateShapes(dModel, dimFeedforward, dtype: dtype)).nested(under: "linear1")
            + (try Linear.stateShapes(dimFeedforward, dModel, dtype: dtype)).nested(under: "linear2")
            + norm.nested(under: "norm1") + norm.nested(under: "norm2")
    }

    /// A new layer with the same settings and a copy of this one's parameters (PyTorch's `deepcopy`).
    public func copy() -> TransformerEncoderLayer {
        let c = configuration
        let layer = TransformerEncoderLayer(dModel: c.dModel, nhead: c.nhead, dimFeedforward: c.dimFeedforward,
                                            dropout: c.dropout, activation: activation, layerNormEps: c.eps,
                                            batchFirst: c.batchFirst, normFirst: normFirst, dtype: c.dtype)
        try! layer.loadStateDict(stateDict())
        return layer
    }

    /// `[T, B, E] → [T, B, E]` (`[B, T, E]` when `batchFirst`).
    ///
    /// - Parameters:
    ///   - srcMask: `[T, T]` or `[B·H, T, T]`, bool true = not allowed, or float added to the scores.
    ///   - srcKeyPaddingMask: `[B, T]`, bool true = padding (ignored as a key).
    ///   - isCausal: apply a causal mask (combined with `srcMask`).
    public func callAsFunction(_ src: Tensor, srcMask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil,
                               isCausal: Bool = false) -> Tensor {
        var x = src
        if normFirst {
            x = x + selfAttentionBlock(norm1(x), srcMask, srcKeyPaddingMask, isCausal)
            x = x + feedForwardBlock(norm2(x))
        } else {
            x = norm1(x + selfAttentionBlock(x, srcMask, srcKeyPaddingMask, isCausal))
            x = norm2(x + feedForwardBlock(x))
        }
        return x
    }

    /// `[T, B, E] → [T, B, E]` (`[B, T, E]` when `batchFirst`) without masks.
    public func callAsFunction(_ src: Tensor) -> Tensor { self(src, srcMask: nil) }

    /// PyTorch's `_sa_block`.
    private func selfAttentionBlock(_ x: Tensor, _ mask: Tensor?, _ padding: Tensor?, _ isCausal: Bool) -> Tensor {
        dropout1(selfAttn(query: x, key: x, value: x, keyPaddingMask: padding, attnMask: mask, isCausal: isCausal).output)
    }

    /// PyTorch's `_ff_block`: `[…, E] → […, F] → […, E]`.
    private func feedForwardBlock(_ x: Tensor) -> Tensor {
        dropout2(linear2(dropout(activation(linear1(x)))))
    }
}

/// One decoder block, as `nn.TransformerDecoderLayer`: self-attention, attention over the encoder's memory,
/// then a feed-forward network, each with a residual connection and a LayerNorm.
///
/// Post-norm: `x = norm1(x + sa(x))`, `x = norm2(x + mha(x, mem))`, `x = norm3(x + ff(x))`. Pre-norm:
/// `x = x + sa(norm1(x))`, `x = x + mha(norm2(x), mem)`, `x = x + ff(norm3(x))`.
/// State dict: `self_attn.*`, `multihead_attn.*`, `linear1.*`, `linear2.*`, `norm1.*`, `norm2.*`, `norm3.*`.
/// As a `Layer`, `layer(x)` decodes `x` with `memory = x` and no masks; see `Layer`.
public final class TransformerDecoderLayer: Layer {
    public let selfAttn: MultiheadAttention
    public let multiheadAttn: MultiheadAttention
    public let linear1: Linear
    public let dropout: Dropout
    public let linear2: Linear
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    public let norm3: LayerNorm
    public let dropout1: Dropout
    public let dropout2: Dropout
    public let dropout3: Dropout
    public let activation: TransformerActivation
    public let normFirst: Bool
    private let configuration: (dModel: Int, nhead: Int, dimFeedforward: Int, dropout: Double, eps: Double,
                                batchFirst: Bool, dtype: DType)

    /// The same parameters as `TransformerEncoderLayer`'s.
    public init(dModel: Int, nhead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
                activation: TransformerActivation = .relu, layerNormEps: Double = 1e-5, batchFirst: Bool = false,
                normFirst: Bool = false, dtype: DType = .float32) {
        selfAttn = MultiheadAttention(embedDim: dModel, numHeads: nhead, dropout: dropout, batchFirst: batchFirst, dtype: dtype)
        multiheadAttn = MultiheadAttention(embedDim: dModel, numHeads: nhead, dropout: dropout, batchFirst: batchFirst, dtype: dtype)
        linear1 = Linear(dModel, dimFeedforward, dtype: dtype)
        self.dropout = Dropout(p: dropout)
        linear2 = Linear(dimFeedforward, dModel, dtype: dtype)
        norm1 = LayerNorm(dModel, eps: layerNormEps, dtype: dtype)
        norm2 = LayerNorm(dModel, eps: layerNormEps, dtype: dtype)
        norm3 = LayerNorm(dModel, eps: layerNormEps, dtype: dtype)
        dropout1 = Dropout(p: dropout)
        dropout2 = Dropout(p: dropout)
        dropout3 = Dropout(p: dropout)
        (self.activation, self.normFirst) = (activation, normFirst)
        configuration = (dModel, nhead, dimFeedforward, dropout, layerNormEps, batchFirst, dtype)
    }

    /// A new layer with the same settings and a copy of this one's parameters (PyTorch's `deepcopy`).
    public func copy() -> TransformerDecoderLayer {
        let c = configuration
        let layer = TransformerDecoderLayer(dModel: c.dModel, nhead: c.nhead, dimFeedforward: c.dimFeedforward,
                                            dropout: c.dropout, activation: activation, layerNormEps: c.eps,
                                            batchFirst: c.batchFirst, normFirst: normFirst, dtype: c.dtype)
        try! layer.loadStateDict(stateDict())
        return layer
    }

    /// `tgt [T, B, E]`, `memory [S, B, E]` → `[T, B, E]` (batch first when `batchFirst`).
    ///
    /// - Parameters:
    ///   - tgtMask: `[T, T]` (or `[B·H, T, T]`), bool true = not allowed, or float added.
    ///   - memoryMask: `[T, S]` (or `[B·H, T, S]`), likewise.
    ///   - tgtKeyPaddingMask: `[B, T]`, bool true = padding.
    ///   - memoryKeyPaddingMask: `[B, S]`, bool true = padding.
    ///   - tgtIsCausal, memoryIsCausal: apply a causal mask in the self- or cross-attention.
    public func callAsFunction(_ tgt: Tensor, memory: Tensor, tgtMask: Tensor? = nil, memoryMask: Tensor? = nil,
                               tgtKeyPaddingMask: Tensor? = nil, memoryKeyPaddingMask: Tensor? = nil,
                               tgtIsCausal: Bool = false, memoryIsCausal: Bool = false) -> Tensor {
        var x = tgt
        if normFirst {
            x = x + selfAttentionBlock(norm1(x), tgtMask, tgtKeyPaddingMask, tgtIsCausal)
            x = x + crossAttentionBlock(norm2(x), memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal)
            x = x + feedForwardBlock(norm3(x))
        } else {
            x = norm1(x + selfAttentionBlock(x, tgtMask, tgtKeyPaddingMask, tgtIsCausal))
            x = norm2(x + crossAttentionBlock(x, memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal))
            x = norm3(x + feedForwardBlock(x))
        }
        return x
    }

    /// `tgt [T, B, E] → [T, B, E]` (batch first when `batchFirst`), attending over `tgt` itself as the memory,
    /// without masks.
    public func callAsFunction(_ tgt: Tensor) -> Tensor { self(tgt, memory: tgt) }

    /// PyTorch's `_sa_block`.
    private func selfAttentionBlock(_ x: Tensor, _ mask: Tensor?, _ padding: Tensor?, _ isCausal: Bool) -> Tensor {
        dropout1(selfAttn(query: x, key: x, value: x, keyPaddingMask: padding, attnMask: mask, isCausal: isCausal).output)
    }

    /// PyTorch's `_mha_block`.
    private func crossAttentionBlock(_ x: Tensor, _ memory: Tensor, _ mask: Tensor?, _ padding: Tensor?,
                                     _ isCausal: Bool) -> Tensor {
        dropout2(multiheadAttn(query: x, key: memory, value: memory, keyPaddingMask: padding, attnMask: mask,
                               isCausal: isCausal).output)
    }

    /// PyTorch's `_ff_block`.
    private func feedForwardBlock(_ x: Tensor) -> Tensor {
        dropout3(linear2(dropout(activation(linear1(x)))))
    }
}

/// A stack of encoder layers with an optional final LayerNorm, as `nn.TransformerEncoder`.
/// State dict: `layers.0.*`, `layers.1.*`, …, `norm.*`. As a `Layer`, `encoder(x)` is the full call without masks.
public final class TransformerEncoder: Layer {
    public let layers: [TransformerEncoderLayer]
    public let norm: LayerNorm?

    /// `numLayers` copies of `layer` (identical initial parameters, as PyTorch's deep copies).
    public convenience init(_ layer: TransformerEncoderLayer, numLayers: Int, norm: LayerNorm? = nil) {
        self.init(layers: (0..<numLayers).map { _ in layer.copy() }, norm: norm)
    }

    /// `numLayers` layers from `makeLayer`, each freshly initialised.
    public convenience init(numLayers: Int, norm: LayerNorm? = nil, _ makeLayer: () -> TransformerEncoderLayer) {
        self.init(layers: (0..<numLayers).map { _ in makeLayer() }, norm: norm)
    }

    /// The given layers, applied in order.
    public init(layers: [TransformerEncoderLayer], norm: LayerNorm? = nil) {
        (self.layers, self.norm) = (layers, norm)
    }

    /// Runs every layer with the same masks, then `norm`: `[T, B, E] → [T, B, E]` (batch first if the layers are).
    public func callAsFunction(_ src: Tensor, mask: Tensor? = nil, srcKeyPaddingMask: Tensor? = nil,
                               isCausal: Bool = false) -> Tensor {
        var x = src
        for layer in layers { x = layer(x, srcMask: mask, srcKeyPaddingMask: srcKeyPaddingMask, isCausal: isCausal) }
        return norm.map { $0(x) } ?? x
    }

    /// `[T, B, E] → [T, B, E]` without masks.
    public func callAsFunction(_ src: Tensor) -> Tensor { self(src, mask: nil) }
}

/// A stack of decoder layers with an optional final LayerNorm, as `nn.TransformerDecoder`.
/// State dict: `layers.0.*`, …, `norm.*`. As a `Layer`, `decoder(x)` decodes `x` with `memory = x` and no masks.
public final class TransformerDecoder: Layer {
    public let layers: [TransformerDecoderLayer]
    public let norm: LayerNorm?

    /// `numLayers` copies of `layer` (identical initial parameters, as PyTorch's deep copies).
    public convenience init(_ layer: TransformerDecoderLayer, numLayers: Int, norm: LayerNorm? = nil) {
        self.init(layers: (0..<numLayers).map { _ in layer.copy() }, norm: norm)
    }

    /// `numLayers` layers from `makeLayer`, each freshly initialised.
    public convenience init(numLayers: Int, norm: LayerNorm? = nil, _ makeLayer: () -> TransformerDecoderLayer) {
        self.init(layers: (0..<numLayers).map { _ in makeLayer() }, norm: norm)
    }

    /// The given layers, applied in order.
    public init(layers: [TransformerDecoderLayer], norm: LayerNorm? = nil) {
        (self.layers, self.norm) = (layers, norm)
    }

    /// Runs every layer over `tgt` with the same `memory` and masks, then `norm`: `[T, B, E] → [T, B, E]`.
    public func callAsFunction(_ tgt: Tensor, memory: Tensor, tgtMask: Tensor? = nil, memoryMask: Tensor? = nil,
                               tgtKeyPaddingMask: Tensor? = nil, memoryKeyPaddingMask: Tensor? = nil,
                               tgtIsCausal: Bool = false, memoryIsCausal: Bool = false) -> Tensor {
        var x = tgt
        for layer in layers {
            x = layer(x, memory: memory, tgtMask: tgtMask, memoryMask: memoryMask, tgtKeyPaddingMask: tgtKeyPaddingMask,
                      memoryKeyPaddingMask: memoryKeyPaddingMask, tgtIsCausal: tgtIsCausal, memoryIsCausal: memoryIsCausal)
        }
        return norm.map { $0(x) } ?? x
    }

    /// `tgt [T, B, E] → [T, B, E]` with `tgt` itself as the memory, without masks.
    public func callAsFunction(_ tgt: Tensor) -> Tensor { self(tgt, memory: tgt) }
}

/// A small Vision Transformer classifier (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words").
///
/// `[B, C, H, W]` → `N = (H/P)·(W/P)` non-overlapping `P×P` patches `[B, N, C·P·P]` → `patch_embed` (Linear) →
/// prepend the learned `class_token` `[1, 1, D]` (zeros) → add `pos_embedding` (`[N + 1, D]`, N(0, 0.02²)) →
/// `depth` pre-norm GELU encoder layers (batch first) → `norm` → `head` on the class token → `[B, classes]`.
public final class VisionTransformer: Layer {
    public let imageSize: Int
    public let patchSize: Int
    public let channels: Int
    public let patchEmbed: Linear                    // [D, C·P·P]
    public var classToken: Tensor                    // [1, 1, D]
    public let posEmbedding: LearnedPositionalEmbedding   // [N + 1, D]
    public let encoder: TransformerEncoder
    public let norm: LayerNorm
    public let head: Linear                          // [classes, D]

    /// - Parameters:
    ///   - imageSize: the side of the square input image; a multiple of `patchSize`.
    ///   - patchSize: `P`, the side of each patch (7 for 28×28 images gives 16 patches).
    ///   - channels: `C`.
    ///   - classes: the number of logits.
    ///   - dim: `D`, the token size; `heads` must divide it.
    ///   - depth: the number of encoder layers.
    ///   - mlpDim: the feed-forward hidden size.
    ///   - dropout: the encoder layers' dropout.
    public init(imageSize: Int, patchSize: Int, channels: Int, classes: Int, dim: Int = 64, depth: Int = 4,
                heads: Int = 4, mlpDim: Int = 128, dropout: Double = 0, dtype: DType = .float32) {
        _ = requireSettings {
            try Self.stateShapes(imageSize: imageSize, patchSize: patchSize, channels: channels, classes: classes, dim: dim,
                                 depth: depth, heads: heads, mlpDim: mlpDim, dropout: dropout, dtype: dtype)
        }
        (self.imageSize, self.patchSize, self.channels) = (imageSize, patchSize, channels)
        let patches = (imageSize / patchSize) * (imageSize / patchSize)
        patchEmbed = Linear(channels * patchSize * patchSize, dim, dtype: dtype)
        classToken = Tensor.zeros([1, 1, dim], dtype: dtype)
        classToken.requiresGrad = true
        posEmbedding = LearnedPositionalEmbedding(maxLength: patches + 1, dim: dim, std: 0.02, dtype: dtype)
        encoder = TransformerEncoder(numLayers: depth) {
            TransformerEncoderLayer(dModel: dim, nhead: heads, dimFeedforward: mlpDim, dropout: dropout,
                                    activation: .gelu, batchFirst: true, normFirst: true, dtype: dtype)
        }
        norm = LayerNorm(dim, dtype: dtype)
        head = Linear(dim, classes, dtype: dtype)
    }

    /// The state `init` makes, before making it, in state-dict order: `patch_embed.*` `[D, C·P·P]`,
    /// `class_token` `[1, 1, D]`, `pos_embedding.weight` `[N + 1, D]` (`N = (S/P)²` patches),
    /// `encoder.layers.{i}.*`, `norm.*` `[D]` and `head.*` `[classes, D]`.
    /// - Throws: `ShapeError` for an image that is not a positive multiple of the patch, sizes below 1, settings
    ///   the encoder layers refuse (`.setting`), or a size with more elements than fit in `Int`.
    public static func stateShapes(imageSize: Int, patchSize: Int, channels: Int, classes: Int, dim: Int = 64, depth: Int = 4,
                                   heads: Int = 4, mlpDim: Int = 128, dropout: Double = 0,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule("VisionTransformer")
        try rule.size("patch_size", patchSize, atLeast: 1)
        try rule.size("image_size", imageSize, atLeast: 1)
        try rule.check(imageSize % patchSize == 0, "image_size", "image_size \(imageSize) must be a multiple of patch_size \(patchSize)")
        try rule.size("channels", channels, atLeast: 1)
        try rule.size("depth", depth, atLeast: 0)
        let grid = imageSize / patchSize
        let patches = try rule.product(grid, grid, what: "the patch count")
        var state = (try Linear.stateShapes(rule.product(channels, patchSize, patchSize, what: "a patch"), dim, dtype: dtype))
            .nested(under: "patch_embed")
        state.append(try rule.entry("class_token", [1, 1, dim], dtype))
        state += (try LearnedPositionalEmbedding.stateShapes(maxLength: rule.sum(patches, 1, what: "the token count"), dim: dim, dtype: dtype)).nested(under: "pos_embedding")
        let layer = try TransformerEncoderLayer.stateShapes(dModel: dim, nhead: heads, dimFeedforward: mlpDim, dropout: dropout, dtype: dtype)
        for index in 0..<depth { state += layer.nested(under: "encoder.layers.\(index)") }
        return state + (try LayerNorm.stateShapes([dim], dtype: dtype)).nested(under: "norm")
            + (try Linear.stateShapes(dim, classes, dtype: dtype)).nested(under: "head")
    }

    /// `[B, C, H, W] → [B, classes]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(input.rank == 4 && Array(input.shape.dropFirst()) == [channels, imageSize, imageSize],
                "VisionTransformer: input \(input.shape) must be [B, \(channels), \(imageSize), \(imageSize)]")
        let (b, p, grid) = (input.shape[0], patchSize, imageSize / patchSize)
        // [B, C, G, P, G, P] → [B, G, G, C, P, P] → [B, N, C·P·P], each patch flattened channel-major.
        let patches = input.reshaped([b, channels, grid, p, grid, p]).permuted([0, 2, 4, 1, 3, 5])
            .reshaped([b, grid * grid, channels * p * p])
        let tokens = patchEmbed(patches)                                             // [B, N, D]
        let dim = tokens.shape[2]
        let cls = classToken.expanded(to: [b, 1, dim])                               // [B, 1, D]
        let x = encoder(posEmbedding(Tensor.cat([cls, tokens], dim: 1)))            // [B, N + 1, D]
        return head(norm(x).select(1, 0))                                            // [B, D] → [B, classes]
    }
}

/// A tiny GPT-style language model matching `TinyGPT` in `bench/reference_torch.py`, child for child.
///
/// `idx [B, T]` (int64) → `tok(idx) + pos(0..<T)` → `blocks` (pre-norm GELU encoder layers, batch first, no
/// dropout, causal) → `norm` → `head` → logits `[B, T, vocab]`.
/// State dict: `tok.weight`, `pos.weight`, `blocks.layers.{i}.*`, `norm.*`, `head.*` and the buffer `mask`
/// (`[seq, seq]`, `-inf` above the diagonal, PyTorch's `generate_square_subsequent_mask`).
public final class TinyGPT: Layer {
    public let tok: Embedding
    public let pos: Embedding
    public let blocks: TransformerEncoder
    public let norm: LayerNorm
    public let head: Linear
    /// The causal mask kept for state-dict parity; the forward pass uses the fused causal path instead.
    @Buffer public var mask: Tensor

    /// The reference model's defaults: vocabulary 96, 64 positions, width 128, 4 heads, 2 layers, FFN 512.
    public init(vocab: Int = 96, seq: Int = 64, d: Int = 128, heads: Int = 4, layers: Int = 2, ffn: Int = 512,
                dtype: DType = .float32) {
        tok = Embedding(vocab, d, dtype: dtype)
        pos = Embedding(seq, d, dtype: dtype)
        let layer = TransformerEncoderLayer(dModel: d, nhead: heads, dimFeedforward: ffn, dropout: 0, activation: .gelu,
                                            batchFirst: true, normFirst: true, dtype: dtype)
        blocks = TransformerEncoder(layer, numLayers: layers)
        norm = LayerNorm(d, dtype: dtype)
        head = Linear(d, vocab, dtype: dtype)
        mask = Tensor.additiveAttentionMask(causalMask(seq, seq), dtype: dtype)
    }

    /// int64 `[B, T]` (`T ≤ seq`) → logits `[B, T, vocab]`.
    public func callAsFunction(_ idx: Tensor) -> Tensor {
        require(idx.rank == 2 && idx.shape[1] <= pos.numEmbeddings,
                "TinyGPT: input \(idx.shape) must be [B, T] with T ≤ \(pos.numEmbeddings)")
        let t = idx.shape[1]
        let h = tok(idx) + pos(Tensor.arange(0, Double(t)))                          // [B, T, D] + [T, D]
        return head(norm(blocks(h, isCausal: true)))
    }
}

// MARK: - Shape rules

extension TransformerEncoderLayer: ShapeInferring {
    /// `[T, B, E]` (`[B, T, E]` when `batchFirst`, or `[T, E]`) keeps its shape. FLOPs: self-attention
    /// (`MultiheadAttention`'s count with `S = T`) and the two feed-forward products `2·2·T·E·F`, per sequence.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        let (length, sequences) = try selfAttn.attentionLayout(rule)
        let attention = try selfAttn.attentionFLOPs(rule, queries: length, keys: length, sequences: sequences)
        let feedForward = try rule.product(4, sequences, length, selfAttn.embedDim, linear1.weight.shape[0])
        return (input, try rule.sum(attention, feedForward))
    }
}

extension TransformerDecoderLayer: ShapeInferring {
    /// The `Layer` call (`memory = tgt`): `[T, B, E]` (`[B, T, E]` when `batchFirst`, or `[T, E]`) keeps its
    /// shape. FLOPs: self-attention and cross-attention over `S = T` memory positions, and the two
    /// feed-forward products `2·2·T·E·F`, per sequence.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        let (length, sequences) = try selfAttn.attentionLayout(rule)
        let attention = try selfAttn.attentionFLOPs(rule, queries: length, keys: length, sequences: sequences)
        let cross = try multiheadAttn.attentionFLOPs(rule, queries: length, keys: length, sequences: sequences)
        let feedForward = try rule.product(4, sequences, length, selfAttn.embedDim, linear1.weight.shape[0])
        return (input, try rule.sum(attention, cross, feedForward))
    }
}

/// Asks `layer` (the child `name` of a container) about `input`, naming the child in any error.
func childShape(_ layer: some ShapeInferring, _ name: String, _ input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
    do { return try layer.inferShape(for: input) } catch { throw error.nested(under: name) }
}

/// Folds `layers` then `norm` over `input` for the stack `owner`, naming a failing child `layers.i` or `norm`.
private func stackShape(_ owner: AnyObject, _ layers: [any ShapeInferring], norm: LayerNorm?,
                        input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
    let rule = try ShapeRule(owner, input)
    var (shape, total) = (input, 0)
    for (index, layer) in layers.enumerated() {
        let (next, flops) = try childShape(layer, "layers.\(index)", shape)
        (shape, total) = (next, try rule.sum(total, flops))
    }
    if let norm { shape = try childShape(norm, "norm", shape).outputShape }
    return (shape, total)
}

extension TransformerEncoder: ShapeInferring {
    /// The layers' rules folded, then `norm`'s.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        try stackShape(self, layers, norm: norm, input: input)
    }
}

extension TransformerDecoder: ShapeInferring {
    /// The layers' rules folded (each with `memory = tgt`), then `norm`'s.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        try stackShape(self, layers, norm: norm, input: input)
    }
}

extension VisionTransformer: ShapeInferring {
    /// `[B, C, S, S]` with `C = channels`, `S = imageSize` → `[B, classes]`. FLOPs: the patch embedding over
    /// `[B, N, C·P·P]`, every encoder layer over `[B, N + 1, D]` and the head over `[B, D]`.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        try rule.rank([4], "[B, \(channels), \(imageSize), \(imageSize)]")
        try rule.dimension(1, is: channels, argument: "channels")
        try rule.dimension(2, is: imageSize, argument: "image_size")
        try rule.dimension(3, is: imageSize, argument: "image_size")
        let (batch, patches, width) = (input[0], (imageSize / patchSize) * (imageSize / patchSize), patchEmbed.weight.shape[0])
        let embedding = try childShape(patchEmbed, "patch_embed", [batch, patches, channels * patchSize * patchSize])
        let encoded = try childShape(encoder, "encoder", [batch, patches + 1, width])
        let logits = try childShape(head, "head", [batch, width])
        return (logits.outputShape, try rule.sum(embedding.flops, encoded.flops, logits.flops))
    }
}

extension TinyGPT: ShapeInferring {
    /// int64 token ids in, logits of the parameters' dtype out.
    public func outputDType(for input: DType) throws(ShapeError) -> DType {
        do { _ = try tok.outputDType(for: input) } catch { throw error.nested(under: "tok") }
        return head.weight.dtype
    }

    /// `[B, T]` with `T ≤ seq` → `[B, T, vocab]`. FLOPs: the encoder blocks over `[B, T, D]` and the head;
    /// the embeddings are lookups.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        try rule.rank([2], "[B, T]")
        guard input[1] <= pos.numEmbeddings else {
            throw rule.error(.size, "seq", "the sequence length \(input[1]) is longer than seq \(pos.numEmbeddings)")
        }
        let hidden = [input[0], input[1], tok.embeddingDim]
        let encoded = try childShape(blocks, "blocks", hidden)
        let logits = try childShape(head, "head", encoded.outputShape)
        return (logits.outputShape, try rule.sum(encoded.flops, logits.flops))
    }
}
