import Strata
import Testing

/// The multi-output and multi-input layers inside `Sequential`: each gives the first output of its full call
/// with its one input fed to every tensor input (the rule documented on `Layer`), and gradients flow through.
@Suite struct CompositionTests {
    /// Expects `Sequential { layer }` to give exactly `expected` (the direct full call) on `input`, and a
    /// float64 gradcheck through the `Sequential`, its parameters and `input` to pass.
    private func expectComposes(_ layer: any Layer, _ input: Tensor, equals expected: Tensor,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        let model = Sequential([layer])
        let output = model(input)
        #expect(output.shape == expected.shape, sourceLocation: sourceLocation)
        #expect(output.toDoubles() == expected.toDoubles(), "Sequential output differs from the direct call", sourceLocation: sourceLocation)
        let result = gradcheck(model, inputs: [input]) { model($0[0]) }
        #expect(result.passed, "\(type(of: layer)): \(result)", sourceLocation: sourceLocation)
    }

    @Test func recurrentLayersPassTheirOutputSequenceOn() {
        Strata.seed(1)
        let x = randomInput([4, 2, 3])                                             // [T, B, I]
        let rnn = RNN(3, 2, numLayers: 2, bidirectional: true, dtype: .float64)
        expectComposes(rnn, x, equals: rnn(x).output)
        let lstm = LSTM(3, 2, dtype: .float64)
        expectComposes(lstm, x, equals: lstm(x).output)
        let gru = GRU(3, 2, numLayers: 2, batchFirst: true, dtype: .float64)
        expectComposes(gru, x, equals: gru(x).output)
        // A direct call still returns the full result, as PyTorch's; the Layer call is asked for by type.
        let (output, hN, cN) = lstm(x)
        #expect(hN.shape == [1, 2, 2] && cN.shape == [1, 2, 2])
        let layerCall: Tensor = lstm(x)
        #expect(layerCall.toDoubles() == output.toDoubles())
    }

    @Test func attentionAttendsToItself() {
        Strata.seed(2)
        let x = randomInput([3, 2, 4])                                             // [L, B, E]
        let attention = MultiheadAttention(embedDim: 4, numHeads: 2, dtype: .float64)
        expectComposes(attention, x, equals: attention(query: x, key: x, value: x).output)
        let batchFirst = MultiheadAttention(embedDim: 4, numHeads: 1, batchFirst: true, dtype: .float64)
        expectComposes(batchFirst, x, equals: batchFirst(query: x, key: x, value: x).output)
        let unbatched = randomInput([3, 4])
        expectComposes(attention, unbatched, equals: attention(query: unbatched, key: unbatched, value: unbatched).output)
    }

    @Test func transformerLayersAndStacks() {
        Strata.seed(3)
        let x = randomInput([2, 3, 4])                                             // [B, T, E]
        func encoderLayer() -> TransformerEncoderLayer {
            TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, batchFirst: true, dtype: .float64)
        }
        func decoderLayer() -> TransformerDecoderLayer {
            TransformerDecoderLayer(dModel: 4, nhead: 2, dimFeedforward: 6, dropout: 0, batchFirst: true, normFirst: true, dtype: .float64)
        }
        let encoder = encoderLayer()
        expectComposes(encoder, x, equals: encoder(x, srcMask: nil))
        let decoder = decoderLayer()
        expectComposes(decoder, x, equals: decoder(x, memory: x))
        let encoderStack = TransformerEncoder(numLayers: 2, norm: LayerNorm(4, dtype: .float64), encoderLayer)
        expectComposes(encoderStack, x, equals: encoderStack(x, mask: nil))
        let decoderStack = TransformerDecoder(numLayers: 2, decoderLayer)
        expectComposes(decoderStack, x, equals: decoderStack(x, memory: x))
    }

    @Test func positionalEncodingsAndModels() {
        Strata.seed(4)
        let tokens = randomInput([2, 3, 4])
        let learned = LearnedPositionalEmbedding(maxLength: 5, dim: 4, dtype: .float64)
        expectComposes(learned, tokens, equals: learned(tokens))
        let sinusoidal = SinusoidalPositionalEncoding(maxLength: 5, dim: 4, dtype: .float64)
        expectComposes(sinusoidal, tokens, equals: sinusoidal(tokens))
        let image = randomInput([1, 1, 4, 4])
        let vit = VisionTransformer(imageSize: 4, patchSize: 2, channels: 1, classes: 3, dim: 4, depth: 1, heads: 2,
                                    mlpDim: 6, dtype: .float64)
        expectComposes(vit, image, equals: vit(image))
        // TinyGPT takes int64 indices, so its gradients are checked through the parameters only.
        let gpt = TinyGPT(vocab: 7, seq: 4, d: 4, heads: 2, layers: 1, ffn: 6, dtype: .float64)
        let ids = Tensor([Int64(1), 5, 0, 6, 2, 2], shape: [2, 3])
        let model = Sequential { gpt; LogSoftmax(dim: -1) }
        #expect(model(ids).toDoubles() == gpt(ids).logSoftmax(dim: -1).toDoubles())
        #expect(gradcheck(model, inputs: [ids]) { model($0[0]) }.passed)
    }

    @Test func aRecurrentClassifierIsOneSequential() {
        // The PyTorch idiom that needs a wrapper module (an LSTM in nn.Sequential) is one Sequential here.
        Strata.seed(5)
        let model = Sequential {
            LSTM(3, 5, batchFirst: true, dtype: .float64)
            Flatten()
            Linear(4 * 5, 2, dtype: .float64)
        }
        let x = randomInput([2, 4, 3])
        #expect(model(x).shape == [2, 2])
        #expect(model.stateDict().keys.sorted() == ["0.bias_hh_l0", "0.bias_ih_l0", "0.weight_hh_l0", "0.weight_ih_l0", "2.bias", "2.weight"])
        #expect(gradcheck(model, inputs: [x]) { model($0[0]) }.passed)
    }
}
