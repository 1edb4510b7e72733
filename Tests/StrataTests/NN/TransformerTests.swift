import Strata
import Testing

/// Sets every LayerNorm weight and bias of `module` to random values, so that the affine part is exercised.
private func randomizeNorms(_ module: some Module, seed: UInt64) {
    for (i, (name, p)) in module.namedParameters().enumerated() where name.contains("norm") || name.hasSuffix("bias") {
        p.copy(from: randomInput(p.shape, seed: seed + UInt64(i)) * 0.5 + (name.hasSuffix("weight") ? 1 : 0))
    }
}

@Suite struct TransformerTests {
    static let encoderKeys = [
        "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
        "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
        "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias",
    ]

    @Test func stateDictsUsePyTorchsNamesInPyTorchsOrder() {
        let encoder = TransformerEncoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16)
        // PyTorch: list(nn.TransformerEncoderLayer(8, 2, 16).state_dict().keys()).
        #expect(encoder.namedParameters().map(\.name) == Self.encoderKeys)
        let shapes = encoder.stateDict().mapValues(\.shape)
        #expect(shapes["linear1.weight"] == [16, 8] && shapes["linear2.weight"] == [8, 16] && shapes["norm2.bias"] == [8])
        let decoder = TransformerDecoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16)
        #expect(decoder.namedParameters().map(\.name) == [
            "self_attn.in_proj_weight", "self_attn.in_proj_bias", "self_attn.out_proj.weight", "self_attn.out_proj.bias",
            "multihead_attn.in_proj_weight", "multihead_attn.in_proj_bias", "multihead_attn.out_proj.weight",
            "multihead_attn.out_proj.bias", "linear1.weight", "linear1.bias", "linear2.weight", "linear2.bias",
            "norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "norm3.weight", "norm3.bias",
        ])
        let stack = TransformerEncoder(encoder, numLayers: 2, norm: LayerNorm(8))
        #expect(stack.namedParameters().map(\.name)
                == Self.encoderKeys.map { "layers.0." + $0 } + Self.encoderKeys.map { "layers.1." + $0 } + ["norm.weight", "norm.bias"])
        // PyTorch deep-copies the layer: identical values, separate tensors.
        #expect(stack.layers[0].linear1.weight.toDoubles() == stack.layers[1].linear1.weight.toDoubles())
        #expect(stack.layers[0].linear1.weight !== stack.layers[1].linear1.weight)
        #expect(stack.layers[0].linear1.weight.toDoubles() == encoder.linear1.weight.toDoubles())
        let decoders = TransformerDecoder(numLayers: 2) { TransformerDecoderLayer(dModel: 4, nhead: 1, dimFeedforward: 4) }
        #expect(decoders.stateDict().count == 36 && decoders.stateDict()["layers.1.norm3.bias"] != nil)
    }

    @Test func encoderLayerMatchesPyTorchsBlocksByHand() {
        for normFirst in [false, true] {
            let layer = TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, activation: .gelu,
                                                normFirst: normFirst, dtype: .float64)
            randomizeNorms(layer, seed: 100)
            let x = randomInput([3, 2, 4], seed: 101)
            let padding = Tensor([false, false, true, false, false, false], shape: [2, 3])
            // _sa_block and _ff_block written out; self_attn itself is checked against the math in AttentionTests.
            func sa(_ h: Tensor) -> Tensor {
                layer.selfAttn(query: h, key: h, value: h, keyPaddingMask: padding, isCausal: true).output
            }
            func ff(_ h: Tensor) -> Tensor {
                (h.matmul(layer.linear1.weight.transposed()) + layer.linear1.bias!).gelu()
                    .matmul(layer.linear2.weight.transposed()) + layer.linear2.bias!
            }
            func norm(_ h: Tensor, _ n: LayerNorm) -> Tensor {
                let mean = h.mean(dim: -1, keepDims: true)
                let variance = ((h - mean) * (h - mean)).mean(dim: -1, keepDims: true)
                return (h - mean) / (variance + 1e-5).sqrt() * n.weight! + n.bias!
            }
            var expected: Tensor
            if normFirst {
                expected = x + sa(norm(x, layer.norm1))
                expected = expected + ff(norm(expected, layer.norm2))
            } else {
                expected = norm(x + sa(x), layer.norm1)
                expected = norm(expected + ff(expected), layer.norm2)
            }
            expectClose(layer(x, srcKeyPaddingMask: padding, isCausal: true), expected.toDoubles(), shape: [3, 2, 4],
                        atol: 1e-12, rtol: 0)
        }
    }

    @Test(arguments: [(false, TransformerActivation.relu), (false, .gelu), (true, .relu), (true, .gelu)])
    func encoderLayerPassesGradcheck(normFirst: Bool, activation: TransformerActivation) {
        let layer = TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, activation: activation,
                                            batchFirst: normFirst, normFirst: normFirst, dtype: .float64)
        randomizeNorms(layer, seed: 110)
        let mask = Tensor([false, true, false, false, false, false, true, false, false], shape: [3, 3])
        let padding = Tensor([false, false, false, false, false, true], shape: [2, 3])
        let input = randomInput(normFirst ? [2, 3, 4] : [3, 2, 4], seed: 111)
        let result = gradcheck(layer, inputs: [input]) { x in
            layer(x[0], srcMask: mask, srcKeyPaddingMask: padding, isCausal: !normFirst)
        }
        #expect(result.passed, "normFirst \(normFirst), \(activation): \(result)")
    }

    @Test(arguments: [false, true])
    func decoderLayerPassesGradcheck(normFirst: Bool) {
        let layer = TransformerDecoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, activation: .gelu,
                                            normFirst: normFirst, dtype: .float64)
        randomizeNorms(layer, seed: 120)
        let memoryPadding = Tensor([false, true, false, false, false, false, false, true], shape: [2, 4])
        let memoryMask = Tensor([Double](repeating: 0, count: 12).enumerated().map { i, _ in i % 5 == 0 ? -1.0 : 0.5 },
                                shape: [3, 4])
        let result = gradcheck(layer, inputs: [randomInput([3, 2, 4], seed: 121), randomInput([4, 2, 4], seed: 122)]) { x in
            layer(x[0], memory: x[1], memoryMask: memoryMask, memoryKeyPaddingMask: memoryPadding, tgtIsCausal: true)
        }
        #expect(result.passed, "normFirst \(normFirst): \(result)")
    }

    @Test func decoderLayerMatchesItsBlocksByHand() {
        let layer = TransformerDecoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, dtype: .float64)
        let (tgt, memory) = (randomInput([3, 2, 4], seed: 130), randomInput([5, 2, 4], seed: 131))
        var x = layer.norm1(tgt + layer.selfAttn(query: tgt, key: tgt, value: tgt, isCausal: true).output)
        x = layer.norm2(x + layer.multiheadAttn(query: x, key: memory, value: memory).output)
        x = layer.norm3(x + layer.linear2(layer.linear1(x).relu()))
        expectClose(layer(tgt, memory: memory, tgtIsCausal: true), x.toDoubles(), shape: [3, 2, 4], atol: 1e-12, rtol: 0)
    }

    @Test func stacksRunEveryLayerThenTheNorm() {
        let layers = (0..<2).map { _ in
            TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, dtype: .float64)
        }
        let stack = TransformerEncoder(layers: layers, norm: LayerNorm(4, dtype: .float64))
        let x = randomInput([3, 2, 4], seed: 140)
        let expected = stack.norm!(layers[1](layers[0](x, isCausal: true), isCausal: true))
        expectClose(stack(x, isCausal: true), expected.toDoubles(), atol: 1e-12, rtol: 0)
        let decoder = TransformerDecoder(TransformerDecoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0,
                                                                 dtype: .float64), numLayers: 2)
        let memory = randomInput([2, 2, 4], seed: 141)
        let viaLayers = decoder.layers[1](decoder.layers[0](x, memory: memory), memory: memory)
        expectClose(decoder(x, memory: memory), viaLayers.toDoubles(), atol: 1e-12, rtol: 0)
        let result = gradcheck(stack, inputs: [x]) { stack($0[0], isCausal: true) }
        #expect(result.passed, "\(result)")
    }

    @Test func dropoutFollowsTrainAndEval() {
        let layer = TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 8, dropout: 0.5, dtype: .float64)
        let x = randomInput([4, 3, 4], seed: 150)
        layer.eval()
        #expect(!layer.selfAttn.isTraining && !layer.dropout1.isTraining)
        let evaluated = layer(x).toDoubles()
        #expect(layer(x).toDoubles() == evaluated)
        layer.train()
        #expect(layer.selfAttn.isTraining && layer.dropout.isTraining && layer.dropout2.isTraining)
        #expect(layer(x).toDoubles() != evaluated)
    }

    // MARK: Models

    @Test func visionTransformerShapesAndGradcheck() {
        let vit = VisionTransformer(imageSize: 28, patchSize: 7, channels: 1, classes: 10)
        #expect(vit(Tensor.normal([2, 1, 28, 28])).shape == [2, 10])
        let names = Set(vit.stateDict().keys)
        #expect(names.isSuperset(of: ["patch_embed.weight", "class_token", "pos_embedding.weight", "encoder.layers.3.norm2.bias",
                                      "norm.weight", "head.bias"]))
        #expect(vit.stateDict()["pos_embedding.weight"]!.shape == [17, 64] && vit.patchEmbed.weight.shape == [64, 49])

        let tiny = VisionTransformer(imageSize: 4, patchSize: 2, channels: 2, classes: 3, dim: 4, depth: 1, heads: 2,
                                     mlpDim: 6, dtype: .float64)
        randomizeNorms(tiny, seed: 160)
        tiny.classToken.copy(from: randomInput([1, 1, 4], seed: 161))
        let result = gradcheck(tiny, inputs: [randomInput([2, 2, 4, 4], seed: 162)]) { tiny($0[0]) }
        #expect(result.passed, "\(result)")
    }

    @Test func visionTransformerPatchesAreContiguousBlocks() {
        // With a single 2×2 patch grid cell per token, the patch embedding must see the pixels of each 2×2
        // block in (channel, row, column) order: image 4×4 with pixel value 10·row + column.
        let vit = VisionTransformer(imageSize: 4, patchSize: 2, channels: 1, classes: 1, dim: 4, depth: 1, heads: 1,
                                    mlpDim: 4, dtype: .float64)
        // Embedding weight row 0 picks pixel (0, 1) of each patch, row 1 pixel (1, 0); bias 0.
        var w = [Double](repeating: 0, count: 16)
        (w[1], w[4 + 2]) = (1, 1)
        vit.patchEmbed.weight.copy(from: Tensor(w, shape: [4, 4]))
        vit.patchEmbed.bias!.copy(from: Tensor.zeros([4], dtype: .float64))
        let image = Tensor((0..<16).map { Double(10 * ($0 / 4) + $0 % 4) }, shape: [1, 1, 4, 4])
        let patches = image.reshaped([1, 1, 2, 2, 2, 2]).permuted([0, 2, 4, 1, 3, 5]).reshaped([1, 4, 4])
        // Patches in row-major grid order: top-left (0,1)=1, (1,0)=10; top-right 3, 12; bottom-left 21, 30; 23, 32.
        expectClose(vit.patchEmbed(patches).slice(2, 0..<2), [1, 10, 3, 12, 21, 30, 23, 32], atol: 0, rtol: 0)
    }

    @Test func tinyGPTMatchesTheReferenceLayoutAndIsCausal() {
        let gpt = TinyGPT()
        let keys = Set(gpt.stateDict().keys)
        #expect(keys.isSuperset(of: ["tok.weight", "pos.weight", "blocks.layers.0.self_attn.in_proj_weight",
                                     "blocks.layers.1.norm2.bias", "norm.weight", "head.weight", "head.bias", "mask"]))
        // 2 layers × 12 + tok, pos, norm (2), head (2) parameters; plus the mask buffer.
        #expect(gpt.namedParameters().count == 30 && keys.count == 31)
        #expect(gpt.mask.shape == [64, 64] && gpt.mask.toDoubles()[1] == -.infinity && gpt.mask.toDoubles()[64] == 0)
        // Per layer: in_proj 3·128² + 3·128, out_proj 128² + 128, linear1 512·128 + 512, linear2 128·512 + 128, norms 4·128.
        let perLayer: Int = 4 * 128 * 128 + 4 * 128 + 2 * 128 * 512 + 512 + 128 + 4 * 128
        let outside: Int = 96 * 128 + 64 * 128 + 2 * 128 + 128 * 96 + 96   // tok, pos, norm, head
        let total = gpt.parameters().reduce(0) { $0 + $1.count }
        #expect(total == 2 * perLayer + outside)

        let tiny = TinyGPT(vocab: 5, seq: 4, d: 4, heads: 2, layers: 1, ffn: 6, dtype: .float64)
        let idx = Tensor([0, 3, 1, 4, 2, 2, 0, 1] as [Int64], shape: [2, 4])
        let logits = tiny(idx)
        #expect(logits.shape == [2, 4, 5])
        // Changing the last token changes only the last position's logits.
        let changed = tiny(Tensor([0, 3, 1, 0, 2, 2, 0, 1] as [Int64], shape: [2, 4]))
        #expect(logits.slice(1, 0..<3).contiguous().toDoubles() == changed.slice(1, 0..<3).contiguous().toDoubles())
        #expect(logits.select(1, 3).contiguous().toDoubles() != changed.select(1, 3).contiguous().toDoubles())
        let result = gradcheck(tiny, inputs: [idx, Tensor.zeros([1], dtype: .float64)]) { x in tiny(x[0]) + x[1] }
        #expect(result.passed, "\(result)")
    }
}
