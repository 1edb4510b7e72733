import Foundation
import Strata

extension ModelSpec {
    /// Builds the model for samples of `inputShape` (no batch dimension, e.g. `[1, 28, 28]`) of `inputDType`
    /// (float32 pixels, or int64 token ids for a graph that starts with an embedding).
    ///
    /// Node by node, before the node's layer exists: its arguments are checked, its parameters and buffers
    /// (the layer's `stateShapes`) are sized with overflow-checked arithmetic and, with every earlier node's, held
    /// to `MemoryBudget`. Then the layer is made and its own shape rule (`ShapeInferring`, dtypes included) gives
    /// the node's output for a batch of one, which must fit the budget too. So a spec that cannot be built or run
    /// is refused here, by `dltrain info` and `dltrain train` alike, never in the first forward pass.
    /// - Throws: `ModelSpecError` naming the node and field whose value, shape, dtype or size does not fit.
    public func build(inputShape: [Int], inputDType: DType = .float32) throws -> GraphModel {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError(.invalidValue, file: file, field: "input_shape",
                                 message: "the input shape \(inputShape) must be a non-empty list of positive sizes")
        }
        if let declared = self.inputShape, declared != inputShape {
            throw ModelSpecError(.shapeMismatch, file: file, field: "input_shape",
                                 message: "the spec declares input shape \(declared) but the data has \(inputShape)")
        }
        do { try CheckedSize.allocation(CheckedSize.product(inputShape, "input"), of: inputDType, "an input sample \(inputShape)") } catch {
            throw ModelSpecError(.tooLarge, file: file, field: "input_shape", message: "\(error)")
        }
        var values: [String: (slot: Int, shape: [Int], dtype: DType)] = ["input": (0, [1] + inputShape, inputDType)]
        var graphNodes: [GraphModel.Node] = []
        var stateBytes = 0
        let lastNeeded = nodes.firstIndex { $0.name == output }!
        for node in nodes[...lastNeeded] {
            let context = BuildContext(file: file, node: node)
            let state = try context.checkedState()
            do {
                stateBytes = try CheckedSize.add(stateBytes, state.bytes("the parameters and buffers"), "the parameters and buffers")
                try CheckedSize.allocation(bytes: stateBytes, "the parameters and buffers up to this node")
            } catch {
                throw context.error(.tooLarge, field: nil, "\(error)")
            }
            let kind = context.makeKind()
            let incoming = node.inputs.map { values[$0]! }
            try context.checkBatchDimension(inputRank: incoming[0].shape.count)
            let result: (shape: [Int], dtype: DType, flops: Int)
            do {
                result = try GraphModel.infer(kind, node: node.name, op: node.op, inputNames: node.inputs,
                                              inputs: incoming.map { ($0.shape, $0.dtype) })
            } catch {
                throw context.error(error)
            }
            do { try CheckedSize.allocation(CheckedSize.product(result.shape, "output"), of: result.dtype, "its output \(result.shape)") } catch {
                throw context.error(.tooLarge, field: nil, "\(error) for a batch of one")
            }
            values[node.name] = (graphNodes.count + 1, result.shape, result.dtype)
            graphNodes.append(GraphModel.Node(name: node.name, op: node.op, kind: kind, inputs: incoming.map(\.slot),
                                              outputShape: result.shape, outputDType: result.dtype))
        }
        return GraphModel(nodes: graphNodes, inputShape: inputShape, inputDType: inputDType)
    }
}

// MARK: - One node: its arguments, its state, its layer

/// Checks one node's argument values and describes its state before its layer exists, then makes the layer.
/// Every check a layer's `init` makes with `require` is made here first, as an error; the output shape is
/// the layer's own rule's (`GraphModel.infer`).
private struct BuildContext {
    let file: String
    let node: ModelSpec.Node

    var args: SpecArguments { node.arguments }

    func error(_ kind: ModelSpecError.Kind, field: String?, _ message: String) -> ModelSpecError {
        ModelSpecError(kind, file: file, node: "'\(node.name)' (#\(node.index))", field: field, message: message)
    }

    /// A shape rule's refusal as the spec's error: the field is the layer argument the rule names (`in_features`,
    /// `kernel_size`), or `inputs` for a rank or dtype the node's input does not have; an overflow names the
    /// argument only when the rule does.
    func error(_ shape: ShapeError) -> ModelSpecError {
        let (kind, field): (ModelSpecError.Kind, String?) = switch shape.kind {
        case .setting: (.invalidValue, shape.argument)
        case .overflow: (.tooLarge, shape.argument)
        case .dtype: (.dtypeMismatch, "inputs")
        case .window: (.shapeMismatch, shape.argument ?? "kernel_size")
        case .rank, .size, .unsupported: (.shapeMismatch, shape.argument ?? "inputs")
        }
        let input = shape.input.isEmpty ? "" : "input \(shape.input) (for a batch of 1): "
        return error(kind, field: field, "\(node.op): \(input)\(shape.reason)")
    }

    private func positive(_ names: String...) throws {
        for name in names {
            switch args.values[name] {
            case .int(let v)? where v <= 0, .pair(let v, _)? where v <= 0, .pair(_, let v)? where v <= 0:
                throw error(.invalidValue, field: name, "must be positive, found \(v)")
            case .ints(let v)? where v.contains(where: { $0 <= 0 }):
                throw error(.invalidValue, field: name, "sizes must be positive, found \(v)")
            default: continue
            }
        }
    }

    private func eps() throws {
        guard args.number("eps") > 0 else { throw error(.invalidValue, field: "eps", "must be positive, found \(args.number("eps"))") }
    }

    /// `body`'s state entries, a refused setting as the spec's error.
    private func state(_ body: () throws -> [StateEntry]) throws -> [StateEntry] {
        do { return try body() } catch let error as ShapeError { throw self.error(error) }
    }

    /// The node's argument values checked, and the state its layer will make (empty for a graph op or a layer
    /// without state), from the layer's `stateShapes`.
    func checkedState() throws -> [StateEntry] {
        switch node.op {
        case "linear":
            try positive("in_features", "out_features")
            return try state { try Linear.stateShapes(args.int("in_features"), args.int("out_features"), bias: args.bool("bias")) }
        case "conv2d", "conv1d":
            try positive("in_channels", "out_channels", "kernel_size", "stride", "dilation", "groups")
            let (cin, cout, groups, bias) = (args.int("in_channels"), args.int("out_channels"), args.int("groups"), args.bool("bias"))
            if node.op == "conv2d" {
                return try state { try Conv2d.stateShapes(cin, cout, kernelSize: args.pair("kernel_size"), groups: groups, bias: bias) }
            }
            return try state { try Conv1d.stateShapes(cin, cout, kernelSize: args.int("kernel_size"), groups: groups, bias: bias) }
        case "maxpool2d", "avgpool2d":
            try positive("kernel_size", "stride")
            return []
        case "adaptiveavgpool2d":
            try positive("output_size")
            return []
        case "batchnorm1d", "batchnorm2d":
            try positive("num_features")
            try eps()
            if let m = args.optionalNumber("momentum"), !(0...1).contains(m) {
                throw error(.invalidValue, field: "momentum", "must be in [0, 1] or null, found \(m)")
            }
            let (n, affine, track) = (args.int("num_features"), args.bool("affine"), args.bool("track_running_stats"))
            return try state {
                node.op == "batchnorm2d" ? try BatchNorm2d.stateShapes(n, affine: affine, trackRunningStats: track)
                    : try BatchNorm1d.stateShapes(n, affine: affine, trackRunningStats: track)
            }
        case "layernorm":
            try positive("normalized_shape")
            try eps()
            return try state {
                try LayerNorm.stateShapes(args.ints("normalized_shape"), elementwiseAffine: args.bool("elementwise_affine"), bias: args.bool("bias"))
            }
        case "groupnorm":
            try positive("num_groups", "num_channels")
            try eps()
            return try state { try GroupNorm.stateShapes(args.int("num_groups"), args.int("num_channels"), affine: args.bool("affine")) }
        case "dropout":
            let p = args.number("p")
            guard (0...1).contains(p) else { throw error(.invalidValue, field: "p", "a probability must be in [0, 1], found \(p)") }
            return []
        case "embedding":
            try positive("num_embeddings", "embedding_dim")
            return try state {
                try Embedding.stateShapes(args.int("num_embeddings"), args.int("embedding_dim"), paddingIdx: args.optionalInt("padding_idx"))
            }
        case "flatten", "relu", "silu", "tanh", "sigmoid", "leakyrelu", "gelu", "softmax", "logsoftmax", "add", "concat", "reshape":
            return []
        default:
            fatalError("ModelSpec: op '\(node.op)' has a schema but no builder")
        }
    }

    /// The node's layer or graph op, once `checkedState()` has accepted its arguments.
    func makeKind() -> GraphModel.Kind {
        switch node.op {
        case "linear": return .layer(Linear(args.int("in_features"), args.int("out_features"), bias: args.bool("bias")))
        case "conv2d":
            return .layer(Conv2d(args.int("in_channels"), args.int("out_channels"), kernelSize: args.pair("kernel_size"),
                                 stride: args.pair("stride"), padding: args.pair("padding"), dilation: args.pair("dilation"),
                                 groups: args.int("groups"), bias: args.bool("bias")))
        case "conv1d":
            return .layer(Conv1d(args.int("in_channels"), args.int("out_channels"), kernelSize: args.int("kernel_size"),
                                 stride: args.int("stride"), padding: args.int("padding"), dilation: args.int("dilation"),
                                 groups: args.int("groups"), bias: args.bool("bias")))
        case "maxpool2d":
            let k = args.pair("kernel_size")
            return .layer(MaxPool2d(k, stride: args.optionalPair("stride") ?? k, padding: args.pair("padding")))
        case "avgpool2d":
            let k = args.pair("kernel_size")
            return .layer(AvgPool2d(k, stride: args.optionalPair("stride") ?? k, padding: args.pair("padding"),
                                    countIncludePad: args.bool("count_include_pad")))
        case "adaptiveavgpool2d": return .layer(AdaptiveAvgPool2d(args.pair("output_size")))
        case "batchnorm1d", "batchnorm2d":
            let (n, e, m) = (args.int("num_features"), args.number("eps"), args.optionalNumber("momentum"))
            let (affine, track) = (args.bool("affine"), args.bool("track_running_stats"))
            return .layer(node.op == "batchnorm2d"
                ? BatchNorm2d(n, eps: e, momentum: m, affine: affine, trackRunningStats: track)
                : BatchNorm1d(n, eps: e, momentum: m, affine: affine, trackRunningStats: track))
        case "layernorm":
            return .layer(LayerNorm(args.ints("normalized_shape"), eps: args.number("eps"),
                                    elementwiseAffine: args.bool("elementwise_affine"), bias: args.bool("bias")))
        case "groupnorm": return .layer(GroupNorm(args.int("num_groups"), args.int("num_channels"), eps: args.number("eps"), affine: args.bool("affine")))
        case "dropout": return .layer(Dropout(p: args.number("p")))
        case "flatten": return .layer(Flatten(startDim: args.int("start_dim"), endDim: args.int("end_dim")))
        case "relu": return .layer(ReLU())
        case "silu": return .layer(SiLU())
        case "tanh": return .layer(Tanh())
        case "sigmoid": return .layer(Sigmoid())
        case "leakyrelu": return .layer(LeakyReLU(negativeSlope: args.number("negative_slope")))
        case "gelu": return .layer(GELU(approximate: args.string("approximate") == "tanh" ? .tanh : .none))
        case "softmax": return .layer(Softmax(dim: args.int("dim")))
        case "logsoftmax": return .layer(LogSoftmax(dim: args.int("dim")))
        case "embedding":
            return .layer(Embedding(args.int("num_embeddings"), args.int("embedding_dim"), paddingIdx: args.optionalInt("padding_idx")))
        case "add": return .add
        case "concat": return .concat(dim: args.int("dim"))
        case "reshape": return .reshape(args.ints("shape"))
        default: fatalError("ModelSpec: op '\(node.op)' has a schema but no builder")
        }
    }

    /// The spec's own rule beside the layers': every shape keeps the batch dim first. A spatial layer whose
    /// library rule also takes an unbatched input (`[C, H, W]` for `Conv2d`) must get the batched rank here, and
    /// no dim argument may name the batch dim.
    func checkBatchDimension(inputRank rank: Int) throws {
        let batchedRank = ["conv1d": 3, "conv2d": 4, "maxpool2d": 4, "avgpool2d": 4, "adaptiveavgpool2d": 4][node.op]
        if let batchedRank, rank != batchedRank {
            let layout = batchedRank == 3 ? "[N, C, L]" : "[N, C, H, W]"
            throw error(.shapeMismatch, field: "inputs", "\(node.op) needs input \(layout), but the input '\(node.inputs[0])' has rank \(rank)")
        }
        let dims: [(field: String, value: Int)] = switch node.op {
        case "softmax", "logsoftmax", "concat": [("dim", args.int("dim"))]
        case "flatten": [("start_dim", args.int("start_dim"))]
        default: []
        }
        for (field, value) in dims where value == 0 || value == -rank {
            throw error(.invalidValue, field: field, "\(field) \(value) is the batch dim, which \(node.op) must not mix; use 1 or a negative dim")
        }
    }
}
