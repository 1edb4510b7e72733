import Foundation
import Strata
import Testing

/// Expects `layer.outputShape(for: shape)` to be the shape a forward pass gives on a random input of `shape`
/// (normal float32, or int64 indices below `indicesBelow`).
private func expectInferred(_ layer: some Layer & ShapeInferring, _ shape: [Int], indicesBelow: Int? = nil,
                            sourceLocation: SourceLocation = #_sourceLocation) {
    let input = indicesBelow.map { Tensor.randint(0, $0, shape: shape) } ?? Tensor.normal(shape)
    let actual = withNoGrad { layer(input).shape }
    do {
        let inferred = try layer.outputShape(for: shape)
        #expect(inferred == actual, "\(type(of: layer)) on \(shape)", sourceLocation: sourceLocation)
        #expect(try layer.flops(for: shape) >= 0, sourceLocation: sourceLocation)
    } catch {
        Issue.record("\(type(of: layer)) on \(shape) threw \(error); the forward pass gave \(actual)", sourceLocation: sourceLocation)
    }
}

/// Expects `layer` to refuse `shape` with a `ShapeError` of `kind` naming the layer (and `argument`).
private func expectRefused(_ layer: some ShapeInferring & AnyObject, _ shape: [Int], _ kind: ShapeError.Kind,
                           argument: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        let shape = try layer.outputShape(for: shape)
        Issue.record("\(type(of: layer)) accepted \(shape)", sourceLocation: sourceLocation)
    } catch {
        let name = String(describing: type(of: layer))
        #expect(error.kind == kind && error.layer == name && error.input == shape, "\(error)", sourceLocation: sourceLocation)
        if let argument { #expect(error.argument == argument, "\(error)", sourceLocation: sourceLocation) }
        #expect(error.description.hasPrefix(name) && error.description.contains("\(shape)"), "\(error)", sourceLocation: sourceLocation)
    }
    #expect(throws: ShapeError.self, sourceLocation: sourceLocation) { try layer.flops(for: shape) }
}

@Suite struct ShapeInferenceTests {
    // MARK: Every layer's rule against its forward pass

    @Test func linearAndFlatten() {
        let linear = Linear(3, 5)
        for shape in [[3], [4, 3], [2, 4, 3], [0, 3]] { expectInferred(linear, shape) }
        expectRefused(linear, [4, 2], .size, argument: "in_features")
        expectRefused(linear, [], .rank)
        for (flatten, shape) in [(Flatten(), [2, 3, 4]), (Flatten(), [2, 3]), (Flatten(startDim: 0, endDim: 1), [2, 3, 4]),
                                 (Flatten(startDim: -2), [2, 3, 4]), (Flatten(), [])] {
            expectInferred(flatten, shape)
        }
        expectRefused(Flatten(), [2], .rank, argument: "start_dim")          // as torch.flatten(x, 1) on a 1-D x
        expectRefused(Flatten(startDim: 3), [2, 3], .rank, argument: "start_dim")
        expectRefused(Flatten(startDim: 2, endDim: 1), [2, 3, 4], .rank, argument: "start_dim")
    }

    @Test func elementwiseLayers() {
        let layers: [any Layer & ShapeInferring] = [ReLU(), LeakyReLU(), GELU(), SiLU(), Tanh(), Sigmoid(), Dropout(p: 0.5),
                                                   Softmax(dim: 1), LogSoftmax(dim: -1)]
        for layer in layers { expectInferred(layer, [2, 3]) }
        expectInferred(Softmax(dim: 0), [])
        expectRefused(Softmax(dim: 2), [2, 3], .rank, argument: "dim")
        expectRefused(LogSoftmax(dim: -3), [2, 3], .rank, argument: "dim")
    }

    @Test func convolutions() {
        let conv1d = Conv1d(4, 6, kernelSize: 3, stride: 2, padding: 1, dilation: 2, groups: 2)
        for shape in [[2, 4, 9], [4, 9], [1, 4, 3]] { expectInferred(conv1d, shape) }
        expectRefused(conv1d, [2, 3, 9], .size, argument: "in_channels")
        expectRefused(conv1d, [2, 4, 1], .window, argument: "kernel_size")   // 1 + 2 < 2·(3 − 1) + 1
        expectRefused(conv1d, [4], .rank)
        let conv2d = Conv2d(3, 4, kernelSize: (3, 2), stride: (2, 1), padding: (1, 0), dilation: (1, 2))
        for shape in [[2, 3, 7, 6], [3, 7, 6], [1, 3, 1, 3]] { expectInferred(conv2d, shape) }
        expectRefused(conv2d, [2, 3, 7, 2], .window)
        expectRefused(conv2d, [2, 4, 7, 6], .size, argument: "in_channels")
        expectRefused(conv2d, [3, 7], .rank)
        expectRefused(Conv2d(1, 1, kernelSize: 3, stride: 0), [1, 1, 5, 5], .setting, argument: "stride")
        expectRefused(Conv2d(1, 1, kernelSize: 3, padding: -1), [1, 1, 5, 5], .setting, argument: "padding")
        let transposed = ConvTranspose2d(4, 6, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, groups: 2)
        for shape in [[1, 4, 3, 3], [4, 3, 5], [2, 4, 1, 1]] { expectInferred(transposed, shape) }
        expectRefused(transposed, [1, 6, 3, 3], .size, argument: "in_channels")
        expectRefused(ConvTranspose2d(1, 1, kernelSize: 1, padding: 1), [1, 1, 1, 1], .window)   // 1 − 2 < 1
        expectRefused(ConvTranspose2d(1, 1, kernelSize: 3, stride: 2, outputPadding: 2), [1, 1, 3, 3], .setting,
                      argument: "output_padding")
    }

    @Test func pooling() {
        let pools: [any Layer & ShapeInferring] = [
            MaxPool2d(2), MaxPool2d((3, 2), stride: (2, 1), padding: (1, 0)), AvgPool2d(3, stride: 2, padding: 1),
            AvgPool2d((2, 3), countIncludePad: false), AdaptiveAvgPool2d((2, 3)), AdaptiveAvgPool2d(1),
        ]
        for pool in pools {
            expectInferred(pool, [2, 3, 7, 6])
            expectInferred(pool, [3, 7, 6])
        }
        expectRefused(MaxPool2d(3, padding: 2), [1, 1, 8, 8], .setting, argument: "padding")
        expectRefused(AvgPool2d(2), [1, 1, 1, 4], .window)
        expectRefused(MaxPool2d(2), [8, 8], .rank)
        expectRefused(AdaptiveAvgPool2d(2), [1, 1, 0, 4], .size)
        expectRefused(AdaptiveAvgPool2d((0, 2)), [1, 1, 4, 4], .setting, argument: "output_size")
    }

    @Test func normalisation() {
        expectInferred(BatchNorm1d(3), [4, 3])
        expectInferred(BatchNorm1d(3), [4, 3, 5])
        expectInferred(BatchNorm2d(3), [2, 3, 4, 4])
        expectRefused(BatchNorm1d(3), [4, 5], .size, argument: "num_features")
        expectRefused(BatchNorm2d(3), [2, 3], .rank)
        expectRefused(BatchNorm1d(3), [2, 3, 4, 4], .rank)
        expectInferred(LayerNorm([3, 4]), [2, 3, 4])
        expectInferred(LayerNorm(4), [4])
        expectRefused(LayerNorm([3, 4]), [2, 4, 3], .size, argument: "normalized_shape")
        expectRefused(LayerNorm([3, 4]), [4], .size, argument: "normalized_shape")
        expectInferred(GroupNorm(2, 4), [2, 4, 3])
        expectRefused(GroupNorm(2, 4), [2, 3, 3], .size, argument: "num_channels")
        expectRefused(GroupNorm(2, 4), [4], .rank)
    }

    @Test func embeddingsAndPositions() {
        let embedding = Embedding(10, 4)
        for shape in [[2, 3], [5], []] { expectInferred(embedding, shape, indicesBelow: 10) }
        for positions in [LearnedPositionalEmbedding(maxLength: 5, dim: 4) as any Layer & ShapeInferring,
                          SinusoidalPositionalEncoding(maxLength: 5, dim: 4)] {
            expectInferred(positions, [2, 3, 4])
            expectInferred(positions, [5, 4])
        }
        expectRefused(LearnedPositionalEmbedding(maxLength: 5, dim: 4), [2, 6, 4], .size, argument: "max_length")
        expectRefused(SinusoidalPositionalEncoding(maxLength: 5, dim: 4), [2, 3, 5], .size, argument: "dim")
        expectRefused(SinusoidalPositionalEncoding(maxLength: 5, dim: 4), [4], .rank)
    }

    @Test func recurrentLayers() {
        let layers: [any Layer & ShapeInferring] = [
            RNN(3, 4), LSTM(3, 4, numLayers: 2, batchFirst: true, bidirectional: true), GRU(3, 2, numLayers: 3, bidirectional: true),
        ]
        for layer in layers { expectInferred(layer, [2, 5, 3]) }
        expectRefused(LSTM(3, 4), [2, 5, 4], .size, argument: "input_size")
        expectRefused(GRU(3, 4), [5, 3], .rank)
    }

    @Test func attentionAndTransformers() {
        let attention = MultiheadAttention(embedDim: 4, numHeads: 2)
        for shape in [[3, 2, 4], [3, 4]] { expectInferred(attention, shape) }
        expectInferred(MultiheadAttention(embedDim: 4, numHeads: 1, batchFirst: true), [2, 3, 4])
        expectRefused(attention, [3, 2, 5], .size, argument: "embed_dim")
        expectRefused(attention, [4], .rank)
        let encoder = TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 8, batchFirst: true)
        let decoder = TransformerDecoderLayer(dModel: 4, nhead: 2, dimFeedforward: 8)
        for layer in [encoder, decoder, TransformerEncoder(encoder, numLayers: 2, norm: LayerNorm(4)),
                      TransformerDecoder(decoder, numLayers: 2)] as [any Layer & ShapeInferring] {
            expectInferred(layer, [2, 3, 4])
            expectInferred(layer, [3, 4])
        }
        expectRefused(encoder, [2, 3, 6], .size, argument: "embed_dim")
        let vit = VisionTransformer(imageSize: 8, patchSize: 4, channels: 2, classes: 5, dim: 8, depth: 2, heads: 2, mlpDim: 16)
        expectInferred(vit, [3, 2, 8, 8])
        expectRefused(vit, [3, 1, 8, 8], .size, argument: "channels")
        expectRefused(vit, [3, 2, 8, 9], .size, argument: "image_size")
        let gpt = TinyGPT(vocab: 11, seq: 6, d: 8, heads: 2, layers: 1, ffn: 16)
        expectInferred(gpt, [2, 6], indicesBelow: 11)
        expectInferred(gpt, [1, 1], indicesBelow: 11)
        expectRefused(gpt, [2, 7], .size, argument: "seq")
        expectRefused(gpt, [2, 3, 8], .rank)
    }

    // MARK: FLOPs of the benchmark workloads

    @Test func workloadFLOPsMatchTheReference() throws {
        // bench/reference_torch.py counts 2·(multiply-adds) per forward sample; these are its formulas.
        let mlp = Sequential { Flatten(); Linear(784, 512); ReLU(); Linear(512, 512); ReLU(); Linear(512, 10) }
        #expect(try mlp.flops(for: [1, 1, 28, 28]) == 2 * (784 * 512 + 512 * 512 + 512 * 10))
        #expect(try mlp.flops(for: [64, 1, 28, 28]) == 64 * 2 * (784 * 512 + 512 * 512 + 512 * 10))
        let cnn = Sequential {
            Conv2d(1, 32, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Conv2d(32, 64, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Flatten(); Linear(3136, 512); ReLU(); Linear(512, 10)
        }
        // cnn(): macs = 28·28·32·25·1 + 14·14·64·25·32 + 3136·512 + 512·10.
        #expect(try cnn.inferShape(for: [1, 1, 28, 28]) == ([1, 10], 2 * (28 * 28 * 32 * 25 + 14 * 14 * 64 * 25 * 32 + 3136 * 512 + 512 * 10)))
        // lstm(): macs = 28·4·128·(28 + 128) over 28 steps of 4 gates, for the recurrence.
        #expect(try LSTM(28, 128, batchFirst: true).flops(for: [1, 28, 28]) == 2 * 28 * 4 * 128 * (28 + 128))
        // GRU: 3 gates; a second layer reads the first's 2·H outputs when bidirectional.
        #expect(try GRU(10, 8, numLayers: 2, bidirectional: true).flops(for: [5, 1, 10]) == 2 * 5 * 2 * (3 * 8 * (10 + 8) + 3 * 8 * (16 + 8)))
        // An encoder layer over T tokens of width E with F hidden: 2·T·E·3E + 4·T²·E + 2·T·E² + 4·T·E·F.
        let (t, e, f) = (17, 64, 128)
        let layer = TransformerEncoderLayer(dModel: e, nhead: 4, dimFeedforward: f, batchFirst: true)
        #expect(try layer.flops(for: [1, t, e]) == 2 * t * e * 3 * e + 4 * t * t * e + 2 * t * e * e + 4 * t * e * f)
    }

    // MARK: Containers

    @Test func sequentialFoldsItsLayersAndNamesTheOneThatFails() throws {
        let model = Sequential {
            Conv2d(1, 4, kernelSize: 3, padding: 1); BatchNorm2d(4); ReLU(); MaxPool2d(2)
            Flatten(); Linear(4 * 4 * 4, 10)
        }
        expectInferred(model, [2, 1, 8, 8])
        #expect(try model.flops(for: [2, 1, 8, 8]) == 2 * (2 * 8 * 8 * 4 * 9) + 2 * (2 * 64 * 10))
        do {
            _ = try model.outputShape(for: [2, 1, 10, 10])
            Issue.record("a 10×10 image should not fit Linear(64, 10)")
        } catch {
            #expect(error.layer == "Linear" && error.path == "5" && error.input == [2, 100] && error.kind == .size)
            #expect(error.argument == "in_features")
            #expect(error.description == "Linear at 5: input [2, 100]: dimension 1 is 100, but the layer's in_features is 64")
        }
        // Nested containers extend the path.
        let outer = Sequential { Sequential { Linear(3, 4) }; Linear(5, 1) }
        #expect(throws: ShapeError(layer: "Linear", path: "1", input: [2, 4], kind: .size, argument: "in_features",
                                   reason: "dimension 1 is 4, but the layer's in_features is 5")) {
            try outer.outputShape(for: [2, 3])
        }
        #expect(throws: ShapeError(layer: "Linear", path: "0.0", input: [2, 2], kind: .size, argument: "in_features",
                                   reason: "dimension 1 is 2, but the layer's in_features is 3")) {
            try outer.outputShape(for: [2, 2])
        }
        let stack = TransformerEncoder(numLayers: 2) { TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 8) }
        do {
            _ = try stack.outputShape(for: [3, 2, 5])
        } catch {
            #expect(error.layer == "TransformerEncoderLayer" && error.path == "layers.0")
        }
    }

    @Test func theExampleInLayersMdIsTrue() throws {
        let model = Sequential { Conv2d(1, 8, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(2); Flatten(); Linear(8 * 14 * 14, 10) }
        #expect(try model.outputShape(for: [1, 1, 28, 28]) == [1, 10])
        #expect(try model.flops(for: [1, 1, 28, 28]) == 144_256)
        #expect(throws: ShapeError.self) { try model.outputShape(for: [1, 1, 32, 32]) }
        do { _ = try model.outputShape(for: [1, 1, 32, 32]) } catch {
            #expect(error.description == "Linear at 4: input [1, 2048]: dimension 1 is 2048, but the layer's in_features is 1568")
        }
    }

    @Test func aLayerWithoutARuleIsReportedByTheContainer() {
        let model = Sequential { Linear(2, 3); NoRule(); ReLU() }
        #expect(throws: ShapeError(layer: "NoRule", path: "1", input: [1, 3], kind: .unsupported,
                                   reason: "the layer has no shape rule (it does not conform to ShapeInferring)")) {
            try model.outputShape(for: [1, 2])
        }
    }

    // MARK: Untrusted sizes

    @Test func negativeDimensionsAndOverflowsThrowInsteadOfTrapping() {
        expectRefused(ReLU(), [2, -1], .size)
        expectRefused(Linear(3, 5), [-4, 3], .size)
        let huge = Int.max / 2
        // Element counts, of the input or of the output, that do not fit in Int.
        expectRefused(Linear(3, 5), [huge, 3], .overflow)
        expectRefused(Flatten(), [huge, 4, 1], .overflow)
        expectRefused(Embedding(10, 4), [huge, 8], .overflow)
        // Settings near Int.max: 2·padding, dilation·(kernel − 1) and (size − 1)·stride overflow.
        expectRefused(Conv2d(1, 1, kernelSize: 3, padding: huge), [1, 1, 8, 8], .overflow)
        expectRefused(Conv1d(1, 1, kernelSize: 3, dilation: huge + 1), [1, 1, 8], .overflow)
        expectRefused(ConvTranspose2d(1, 1, kernelSize: 2, stride: huge), [1, 1, 4, 4], .overflow)
        expectRefused(AvgPool2d((2, 2), stride: (1, 1), padding: (1, 1)), [1, 1, huge, 2], .overflow)
        // A kernel near Int.max fits no input: the window does not fit, without overflowing.
        expectRefused(MaxPool2d(Int.max), [1, 1, 4, 4], .window)
        // FLOPs that overflow while the shapes fit.
        #expect(throws: ShapeError.self) { try Linear(64, 64).flops(for: [Int.max / 64, 64]) }
        #expect(throws: ShapeError.self) { try LSTM(4, 4).flops(for: [Int.max / 8, 8, 4]) }
        #expect(throws: ShapeError.self) { try MultiheadAttention(embedDim: 4, numHeads: 2).flops(for: [1 << 40, 1, 4]) }
    }

    // MARK: Every layer has a rule

    @Test func everyPublicLayerClassInNNHasAShapeRule() throws {
        // The public classes in Sources/Strata/NN that are layers, read from the source, must each be
        // ShapeInferring; this list of instances must cover them all.
        let instances: [any Layer] = [
            Linear(1, 1), Flatten(), ReLU(), LeakyReLU(), GELU(), SiLU(), Tanh(), Sigmoid(), Softmax(dim: 0),
            LogSoftmax(dim: 0), Dropout(), Conv1d(1, 1, kernelSize: 1), Conv2d(1, 1, kernelSize: 1),
            ConvTranspose2d(1, 1, kernelSize: 1), MaxPool2d(1), AvgPool2d(1), AdaptiveAvgPool2d(1), LayerNorm(1),
            GroupNorm(1, 1), BatchNorm1d(1), BatchNorm2d(1), Embedding(1, 1), LearnedPositionalEmbedding(maxLength: 1, dim: 1),
            SinusoidalPositionalEncoding(maxLength: 1, dim: 2), RNN(1, 1), LSTM(1, 1), GRU(1, 1),
            MultiheadAttention(embedDim: 1, numHeads: 1), TransformerEncoderLayer(dModel: 2, nhead: 1, dimFeedforward: 2),
            TransformerDecoderLayer(dModel: 2, nhead: 1, dimFeedforward: 2), TransformerEncoder(layers: []),
            TransformerDecoder(layers: []), VisionTransformer(imageSize: 2, patchSize: 1, channels: 1, classes: 1, dim: 2, depth: 0, heads: 1),
            TinyGPT(vocab: 2, seq: 2, d: 2, heads: 1, layers: 0, ffn: 2), Sequential([]),
        ]
        for layer in instances { #expect(layer is any ShapeInferring, "\(type(of: layer)) has no shape rule") }
        let covered = Set(instances.map { String(describing: type(of: $0)) })
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../../Sources/Strata/NN").standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil).filter { $0.pathExtension == "swift" }
        #expect(files.count > 10, "found \(files.count) files in \(folder.path)")
        let declaration = try Regex(#"public (?:final )?class (\w+): ([^{]*)\{"#)
        var layerClasses: Set<String> = []
        for file in files {
            for match in try String(contentsOf: file, encoding: .utf8).matches(of: declaration) {
                let (name, supertypes) = (String(match.output[1].substring!), String(match.output[2].substring!))
                let isLayer = supertypes.contains("Layer") || supertypes.contains("BatchNorm")
                let isAbstract = name == "BatchNorm" || name == "RecurrentLayer"     // only their subclasses are built
                if isLayer && !isAbstract { layerClasses.insert(name) }
            }
        }
        #expect(layerClasses.count >= 30)
        #expect(layerClasses.subtracting(covered).isEmpty, "layers without a covered shape rule: \(layerClasses.subtracting(covered).sorted())")
    }
}

/// A user layer with no shape rule.
private final class NoRule: Layer {
    func callAsFunction(_ input: Tensor) -> Tensor { input }
}
