import DLTrainKit
import Strata
import Testing

/// The layers' own shape rules (`ShapeInferring`) give the same output shapes and FLOPs as `ModelSummary`'s
/// `FLOPCounting` counts, for every layer those cover. (When the summary is rewired to ask the layers, the
/// `FLOPCounting` side of this goes.)
@Suite struct ShapeRuleSummaryParityTests {
    private func expectSame(_ layer: some ShapeInferring & FLOPCounting, _ shape: [Int],
                            sourceLocation: SourceLocation = #_sourceLocation) {
        let counted = layer.flops(inputShape: shape)
        let inferred = try? layer.inferShape(for: shape)
        #expect(counted != nil && inferred != nil, "\(type(of: layer)) \(shape)", sourceLocation: sourceLocation)
        #expect(inferred?.outputShape == counted?.outputShape, "\(type(of: layer)) \(shape)", sourceLocation: sourceLocation)
        #expect(inferred?.flops == counted?.flops, "\(type(of: layer)) \(shape)", sourceLocation: sourceLocation)
    }

    @Test func everyCountedLayerAgrees() {
        for batch in [1, 3] {
            expectSame(Linear(7, 5), [batch, 7])
            expectSame(Linear(7, 5), [batch, 4, 7])
            expectSame(Conv1d(4, 6, kernelSize: 3, stride: 2, padding: 1, dilation: 2, groups: 2), [batch, 4, 11])
            expectSame(Conv2d(3, 8, kernelSize: (3, 5), stride: (2, 1), padding: (1, 2), dilation: (2, 1)), [batch, 3, 9, 10])
            expectSame(Conv2d(4, 8, kernelSize: 3, groups: 4), [batch, 4, 6, 6])
            expectSame(ConvTranspose2d(4, 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2), [batch, 4, 5, 5])
            expectSame(RNN(5, 3), [4, batch, 5])
            expectSame(LSTM(5, 3, numLayers: 2, batchFirst: true, bidirectional: true), [batch, 4, 5])
            expectSame(GRU(5, 3, numLayers: 3), [4, batch, 5])
            expectSame(Embedding(10, 4), [batch, 6])
            expectSame(MaxPool2d((3, 2), stride: (2, 1), padding: (1, 0)), [batch, 2, 7, 6])
            expectSame(AvgPool2d(3, stride: 2, padding: 1), [batch, 2, 7, 6])
            expectSame(AdaptiveAvgPool2d((2, 3)), [batch, 2, 7, 6])
            expectSame(Flatten(), [batch, 2, 3, 4])
            expectSame(Flatten(startDim: 2), [batch, 2, 3, 4])
            expectSame(TransformerEncoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16, batchFirst: true), [batch, 5, 8])
            expectSame(TransformerEncoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16), [5, batch, 8])
            expectSame(VisionTransformer(imageSize: 8, patchSize: 4, channels: 2, classes: 5, dim: 8, depth: 2, heads: 2, mlpDim: 16),
                       [batch, 2, 8, 8])
            expectSame(Sequential {
                Conv2d(1, 4, kernelSize: 3, padding: 1); BatchNorm2d(4); ReLU(); MaxPool2d(2); Dropout(p: 0.1)
                Flatten(); Linear(64, 10); GELU(); LayerNorm(10); LogSoftmax(dim: 1)
            }, [batch, 1, 8, 8])
        }
        let elementwise: [any ShapeInferring & FLOPCounting] = [
            ReLU(), LeakyReLU(), GELU(), SiLU(), Tanh(), Sigmoid(), Softmax(dim: 1), LogSoftmax(dim: 1), Dropout(),
            LayerNorm(3), GroupNorm(1, 2), BatchNorm1d(2), BatchNorm2d(2),
        ]
        for layer in elementwise { expectSame(layer, layer is BatchNorm2d ? [2, 2, 3, 3] : [2, 2, 3]) }
    }
}
