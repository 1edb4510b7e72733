import Strata
import Testing

/// `stateShapes(…)` describes, before anything is allocated, exactly the tensors the layer's `init` makes; it
/// refuses the settings the `init` would stop on, and sizes that overflow, as a `ShapeError` naming the argument.
@Suite struct StateShapesTests {
    /// The layer's parameters and buffers by name, as (shape, dtype).
    private func made(_ module: any Module) -> [String: String] {
        Dictionary(uniqueKeysWithValues: module.stateDict().map { ($0.key, "\($0.value.shape) \($0.value.dtype)") })
    }

    private func described(_ entries: [StateEntry]) -> [String: String] {
        Dictionary(uniqueKeysWithValues: entries.map { ($0.name, "\($0.shape) \($0.dtype)") })
    }

    private func expectSame(_ module: any Module, _ entries: @autoclosure () throws -> [StateEntry],
                            sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(described(try entries()) == made(module), "\(type(of: module))", sourceLocation: sourceLocation)
    }

    @Test func theDescriptionIsWhatInitMakes() throws {
        try expectSame(Linear(7, 5), Linear.stateShapes(7, 5))
        try expectSame(Linear(7, 5, bias: false, dtype: .float64), Linear.stateShapes(7, 5, bias: false, dtype: .float64))
        try expectSame(Conv1d(4, 6, kernelSize: 3, groups: 2), Conv1d.stateShapes(4, 6, kernelSize: 3, groups: 2))
        try expectSame(Conv2d(3, 8, kernelSize: (3, 5), bias: false), Conv2d.stateShapes(3, 8, kernelSize: (3, 5), bias: false))
        try expectSame(Embedding(10, 4, paddingIdx: -1), Embedding.stateShapes(10, 4, paddingIdx: -1))
        try expectSame(LayerNorm([3, 4]), LayerNorm.stateShapes([3, 4]))
        try expectSame(LayerNorm(3, bias: false), LayerNorm.stateShapes([3], bias: false))
        try expectSame(GroupNorm(2, 6), GroupNorm.stateShapes(2, 6))
        try expectSame(BatchNorm1d(5), BatchNorm1d.stateShapes(5))
        try expectSame(BatchNorm2d(5, affine: false, trackRunningStats: false), BatchNorm2d.stateShapes(5, affine: false, trackRunningStats: false))
        try expectSame(LSTM(5, 3, numLayers: 2, bidirectional: true), RecurrentLayer.stateShapes(.lstm, inputSize: 5, hiddenSize: 3, numLayers: 2, bidirectional: true))
        try expectSame(GRU(5, 3, bias: false), RecurrentLayer.stateShapes(.gru, inputSize: 5, hiddenSize: 3, bias: false))
        try expectSame(MultiheadAttention(embedDim: 8, numHeads: 2), MultiheadAttention.stateShapes(embedDim: 8, numHeads: 2))
        try expectSame(TransformerEncoderLayer(dModel: 8, nhead: 2, dimFeedforward: 16),
                       TransformerEncoderLayer.stateShapes(dModel: 8, nhead: 2, dimFeedforward: 16))
        try expectSame(LearnedPositionalEmbedding(maxLength: 6, dim: 4), LearnedPositionalEmbedding.stateShapes(maxLength: 6, dim: 4))
        try expectSame(VisionTransformer(imageSize: 8, patchSize: 4, channels: 2, classes: 5, dim: 8, depth: 2, heads: 2, mlpDim: 16),
                       VisionTransformer.stateShapes(imageSize: 8, patchSize: 4, channels: 2, classes: 5, dim: 8, depth: 2, heads: 2, mlpDim: 16))
    }

    private func expectRefused(_ kind: ShapeError.Kind, _ argument: String?, mentioning phrase: String,
                               _ body: () throws(ShapeError) -> [StateEntry], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try body()
            Issue.record("accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == kind && error.argument == argument && error.input.isEmpty, "\(error)", sourceLocation: sourceLocation)
            #expect(error.description.contains(phrase), "\(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func settingsTheInitWouldStopOnAreRefusedNamingTheArgument() {
        expectRefused(.setting, "in_features", mentioning: "Linear: in_features must be at least 0, got -1") { () throws(ShapeError) in try Linear.stateShapes(-1, 2) }
        expectRefused(.setting, "groups", mentioning: "must both be divisible by groups 2") { () throws(ShapeError) in try Conv2d.stateShapes(3, 4, kernelSize: (3, 3), groups: 2) }
        expectRefused(.setting, "kernel_size", mentioning: "kernel_size must be at least 1, got 0") { () throws(ShapeError) in try Conv1d.stateShapes(1, 1, kernelSize: 0) }
        expectRefused(.setting, "padding_idx", mentioning: "padding_idx 10 is out of range for 10 embeddings") { () throws(ShapeError) in try Embedding.stateShapes(10, 4, paddingIdx: 10) }
        expectRefused(.setting, "num_groups", mentioning: "7 channels do not split into 2 groups") { () throws(ShapeError) in try GroupNorm.stateShapes(2, 7) }
        expectRefused(.setting, "num_heads", mentioning: "must be divisible by num_heads 3") { () throws(ShapeError) in try MultiheadAttention.stateShapes(embedDim: 8, numHeads: 3) }
        expectRefused(.setting, "dropout", mentioning: "dropout 2.0 must be in [0, 1]") { () throws(ShapeError) in
            try RecurrentLayer.stateShapes(.lstm, inputSize: 2, hiddenSize: 2, dropout: 2)
        }
        expectRefused(.setting, "image_size", mentioning: "must be a multiple of patch_size 7") { () throws(ShapeError) in
            try VisionTransformer.stateShapes(imageSize: 5, patchSize: 7, channels: 1, classes: 10)
        }
    }

    @Test func sizesThatOverflowAreRefusedBeforeAnythingIsAllocated() throws {
        expectRefused(.overflow, nil, mentioning: "more elements than fit in Int") { () throws(ShapeError) in try Linear.stateShapes(.max, 2) }
        expectRefused(.overflow, nil, mentioning: "more elements than fit in Int") { () throws(ShapeError) in
            try Conv2d.stateShapes(1, 2, kernelSize: (Int.max, Int.max))
        }
        expectRefused(.overflow, nil, mentioning: "the gates overflows Int") { () throws(ShapeError) in
            try RecurrentLayer.stateShapes(.lstm, inputSize: 1, hiddenSize: Int.max / 2)
        }
        // A description within Int but beyond any memory: its byte count is exact, for the caller to hold to a budget.
        let huge = try Linear.stateShapes(784, 1_000_000_000_000, bias: false)
        #expect(try huge.bytes("fc") == 784 * 1_000_000_000_000 * 4)
        #expect(throws: SizeLimitError("fc", .overflow)) { try Linear.stateShapes(1 << 31, 1 << 31, bias: false).bytes("fc") }
    }

    @Test func dtypeRulesFollowTheLayers() throws {
        #expect(try Embedding(10, 4).outputDType(for: .int64) == .float32)
        #expect(throws: ShapeError(layer: "Embedding", input: [], kind: .dtype, reason: "needs int64 indices, not float32 values")) {
            try Embedding(10, 4).outputDType(for: .float32)
        }
        #expect(throws: ShapeError.self) { try Linear(3, 2).outputDType(for: .int64) }
        #expect(throws: ShapeError.self) { try Linear(3, 2, dtype: .float64).outputDType(for: .float32) }
        #expect(try Flatten().outputDType(for: .int64) == .int64)
        let tokens = Sequential { Embedding(10, 4); Flatten(); Linear(12, 2) }
        #expect(try tokens.infer(shape: [5, 3], dtype: .int64) == ([5, 2], .float32, 2 * 5 * 12 * 2))
        do {
            _ = try tokens.infer(shape: [5, 3], dtype: .float32)
            Issue.record("an Embedding took float32 values")
        } catch {
            #expect(error.kind == .dtype && error.path == "0" && error.input == [5, 3], "\(error)")
        }
    }
}
