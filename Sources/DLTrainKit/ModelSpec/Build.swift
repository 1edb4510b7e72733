import Foundation
import Strata

extension ModelSpec {
    /// Builds the model for samples of `inputShape` (no batch dimension, e.g. `[1, 28, 28]`), checking every
    /// node's shapes by inference before any layer is created.
    /// - Throws: `ModelSpecError` naming the node and field whose shape or value does not fit.
    public func build(inputShape: [Int]) throws -> GraphModel {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError(.invalidValue, file: file, field: "input_shape",
                                 message: "the input shape \(inputShape) must be a non-empty list of positive sizes")
        }
        if let declared = self.inputShape, declared != inputShape {
            throw ModelSpecError(.shapeMismatch, file: file, field: "input_shape",
                                 message: "the spec declares input shape \(declared) but the data has \(inputShape)")
        }
        // The graph input holds indices exactly when an embedding reads it directly.
        let inputIsIndices = nodes.contains { $0.op == "embedding" && $0.inputs == ["input"] }
        var values: [String: (slot: Int, shape: [Int], indices: Bool)] = ["input": (0, [1] + inputShape, inputIsIndices)]
        var graphNodes: [GraphModel.Node] = []
        let lastNeeded = nodes.firstIndex { $0.name == output }!
        for node in nodes[...lastNeeded] {
            let incoming = node.inputs.map { values[$0]! }
            let context = BuildContext(file: file, node: node, inputShapes: incoming.map(\.shape))
            let isIndexOp = ["embedding", "reshape", "flatten", "concat"].contains(node.op)
            if !isIndexOp, let i = incoming.firstIndex(where: \.indices) {
                throw context.error(.shapeMismatch, field: "inputs",
                                    "'\(node.inputs[i])' holds integer indices (it feeds an embedding), but \(node.op) needs floating-point values")
            }
            if node.op == "embedding" && !incoming[0].indices {
                throw context.error(.shapeMismatch, field: "inputs",
                                    "embedding needs integer indices, but '\(node.inputs[0])' holds floating-point values; feed it `input` directly")
            }
            if node.op == "concat" && Set(incoming.map(\.indices)).count > 1 {
                throw context.error(.shapeMismatch, field: "inputs", "concat mixes integer indices with floating-point values")
            }
            let (kind, shape) = try context.infer()
            let indices = node.op == "embedding" ? false : incoming.contains { $0.indices }
            values[node.name] = (graphNodes.count + 1, shape, indices)
            graphNodes.append(GraphModel.Node(name: node.name, op: node.op, kind: kind,
                                              inputs: incoming.map(\.slot), outputShape: shape))
        }
        return GraphModel(nodes: graphNodes, inputShape: inputShape, inputIsIndices: inputIsIndices)
    }
}

// MARK: - Shape inference and construction

/// Infers one node's output shape from its input shapes, checks its argument values, and makes its layer.
/// Every check a layer's `init` or forward would make with a precondition is made here first, as an error.
private struct BuildContext {
    let file: String
    let node: ModelSpec.Node
    let inputShapes: [[Int]]

    var args: SpecArguments { node.arguments }
    var x: [Int] { inputShapes[0] }

    func error(_ kind: ModelSpecError.Kind, field: String?, _ message: String) -> ModelSpecError {
        ModelSpecError(kind, file: file, node: "'\(node.name)' (#\(node.index))", field: field, message: message)
    }

    /// Describes the incoming shape without the batch dim of 1, as a user thinks of it.
    private var incoming: String { "the input '\(node.inputs[0])' has shape \(x) (for a batch of 1)" }

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

    private func nonNegative(_ names: String...) throws {
        for name in names {
            switch args.values[name] {
            case .int(let v)? where v < 0, .pair(let v, _)? where v < 0, .pair(_, let v)? where v < 0:
                throw error(.invalidValue, field: name, "must not be negative, found \(v)")
            default: continue
            }
        }
    }

    private func rank(_ allowed: Set<Int>, _ layout: String) throws {
        guard allowed.contains(x.count) else {
            throw error(.shapeMismatch, field: "inputs", "\(node.op) needs input \(layout), but \(incoming)")
        }
    }

    private func channels(_ field: String, dim: Int) throws {
        let expected = args.int(field)
        guard x[dim] == expected else {
            throw error(.shapeMismatch, field: field, "\(node.op) expects \(expected) but \(incoming), so \(field) must be \(x[dim])")
        }
    }

    /// A dim argument in `-rank..<rank`, normalised to non-negative.
    private func dimension(_ field: String, rank: Int) throws -> Int {
        let dim = args.int(field)
        guard (-rank..<rank).contains(dim) else {
            throw error(.invalidValue, field: field, "dim \(dim) is out of range for rank-\(rank) \(incoming)")
        }
        return dim < 0 ? dim + rank : dim
    }

    private func eps() throws {
        guard args.number("eps") > 0 else { throw error(.invalidValue, field: "eps", "must be positive, found \(args.number("eps"))") }
    }

    /// `⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1`, which must be at least 1.
    private func windowOutput(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1, axis: String) throws -> Int {
        let out = (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
        guard size + 2 * padding - dilation * (kernel - 1) - 1 >= 0, out >= 1 else {
            throw error(.shapeMismatch, field: "kernel_size",
                        "the \(axis) window (kernel \(kernel), dilation \(dilation), padding \(padding)) does not fit: \(incoming)")
        }
        return out
    }

    func infer() throws -> (GraphModel.Kind, [Int]) {
        switch node.op {
        case "linear":
            try positive("in_features", "out_features")
            try rank(Set(2...8), "[N, …, in_features]")
            try channels("in_features", dim: x.count - 1)
            return (.layer(Linear(args.int("in_features"), args.int("out_features"), bias: args.bool("bias"))),
                    x.dropLast() + [args.int("out_features")])

        case "conv2d", "conv1d":
            let is2d = node.op == "conv2d"
            try positive("in_channels", "out_channels", "kernel_size", "stride", "dilation", "groups")
            try nonNegative("padding")
            let (cin, cout, groups) = (args.int("in_channels"), args.int("out_channels"), args.int("groups"))
            guard cin % groups == 0 && cout % groups == 0 else {
                throw error(.invalidValue, field: "groups", "in_channels \(cin) and out_channels \(cout) must both be divisible by groups = \(groups)")
            }
            try rank([is2d ? 4 : 3], is2d ? "[N, C, H, W]" : "[N, C, L]")
            try channels("in_channels", dim: 1)
            if is2d {
                let (k, s, p, d) = (args.pair("kernel_size"), args.pair("stride"), args.pair("padding"), args.pair("dilation"))
                let ho = try windowOutput(x[2], kernel: k.0, stride: s.0, padding: p.0, dilation: d.0, axis: "height")
                let wo = try windowOutput(x[3], kernel: k.1, stride: s.1, padding: p.1, dilation: d.1, axis: "width")
                let layer = Conv2d(cin, cout, kernelSize: k, stride: s, padding: p, dilation: d, groups: groups, bias: args.bool("bias"))
                return (.layer(layer), [x[0], cout, ho, wo])
            }
            let (k, s, p, d) = (args.int("kernel_size"), args.int("stride"), args.int("padding"), args.int("dilation"))
            let lo = try windowOutput(x[2], kernel: k, stride: s, padding: p, dilation: d, axis: "length")
            let layer = Conv1d(cin, cout, kernelSize: k, stride: s, padding: p, dilation: d, groups: groups, bias: args.bool("bias"))
            return (.layer(layer), [x[0], cout, lo])

        case "maxpool2d", "avgpool2d":
            try positive("kernel_size", "stride")
            try nonNegative("padding")
            let k = args.pair("kernel_size"), p = args.pair("padding")
            let s = args.optionalPair("stride") ?? k
            guard p.0 <= k.0 / 2 && p.1 <= k.1 / 2 else {
                throw error(.invalidValue, field: "padding", "padding \(p) must be at most half the kernel \(k), as in PyTorch")
            }
            try rank([4], "[N, C, H, W]")
            let ho = try windowOutput(x[2], kernel: k.0, stride: s.0, padding: p.0, axis: "height")
            let wo = try windowOutput(x[3], kernel: k.1, stride: s.1, padding: p.1, axis: "width")
            let layer: any Layer = node.op == "maxpool2d"
                ? MaxPool2d(k, stride: s, padding: p)
                : AvgPool2d(k, stride: s, padding: p, countIncludePad: args.bool("count_include_pad"))
            return (.layer(layer), [x[0], x[1], ho, wo])

        case "adaptiveavgpool2d":
            try positive("output_size")
            try rank([4], "[N, C, H, W]")
            let size = args.pair("output_size")
            return (.layer(AdaptiveAvgPool2d(size)), [x[0], x[1], size.0, size.1])

        case "batchnorm1d", "batchnorm2d":
            try positive("num_features")
            try eps()
            if let m = args.optionalNumber("momentum"), !(0...1).contains(m) {
                throw error(.invalidValue, field: "momentum", "must be in [0, 1] or null, found \(m)")
            }
            let is2d = node.op == "batchnorm2d"
            try rank(is2d ? [4] : [2, 3], is2d ? "[N, C, H, W]" : "[N, C] or [N, C, L]")
            try channels("num_features", dim: 1)
            let (n, e, m) = (args.int("num_features"), args.number("eps"), args.optionalNumber("momentum"))
            let (affine, track) = (args.bool("affine"), args.bool("track_running_stats"))
            let layer: any Layer = is2d
                ? BatchNorm2d(n, eps: e, momentum: m, affine: affine, trackRunningStats: track)
                : BatchNorm1d(n, eps: e, momentum: m, affine: affine, trackRunningStats: track)
            return (.layer(layer), x)

        case "layernorm":
            try positive("normalized_shape")
            try eps()
            let normalized = args.ints("normalized_shape")
            guard x.count > normalized.count, Array(x.suffix(normalized.count)) == normalized else {
                throw error(.shapeMismatch, field: "normalized_shape",
                            "\(normalized) must equal the trailing dims of the input, but \(incoming)")
            }
            let layer = LayerNorm(normalized, eps: args.number("eps"), elementwiseAffine: args.bool("elementwise_affine"), bias: args.bool("bias"))
            return (.layer(layer), x)

        case "groupnorm":
            try positive("num_groups", "num_channels")
            try eps()
            let (groups, channelCount) = (args.int("num_groups"), args.int("num_channels"))
            guard channelCount % groups == 0 else {
                throw error(.invalidValue, field: "num_groups", "\(channelCount) channels do not split into \(groups) groups")
            }
            try rank(Set(2...8), "[N, C, …]")
            try channels("num_channels", dim: 1)
            return (.layer(GroupNorm(groups, channelCount, eps: args.number("eps"), affine: args.bool("affine"))), x)

        case "dropout":
            let p = args.number("p")
            guard (0...1).contains(p) else { throw error(.invalidValue, field: "p", "a probability must be in [0, 1], found \(p)") }
            return (.layer(Dropout(p: p)), x)

        case "flatten":
            let start = try dimension("start_dim", rank: x.count), end = try dimension("end_dim", rank: x.count)
            guard start <= end else {
                throw error(.invalidValue, field: "start_dim", "start_dim \(args.int("start_dim")) comes after end_dim \(args.int("end_dim")) for \(incoming)")
            }
            let merged = x[start...end].reduce(1, *)
            return (.layer(Flatten(startDim: args.int("start_dim"), endDim: args.int("end_dim"))),
                    Array(x[..<start]) + [merged] + Array(x[(end + 1)...]))

        case "relu": return (.layer(ReLU()), x)
        case "silu": return (.layer(SiLU()), x)
        case "tanh": return (.layer(Tanh()), x)
        case "sigmoid": return (.layer(Sigmoid()), x)
        case "leakyrelu": return (.layer(LeakyReLU(negativeSlope: args.number("negative_slope"))), x)
        case "gelu": return (.layer(GELU(approximate: args.string("approximate") == "tanh" ? .tanh : .none)), x)
        case "softmax", "logsoftmax":
            let dim = try dimension("dim", rank: x.count)
            guard dim != 0 else {
                throw error(.invalidValue, field: "dim", "normalising over the batch dim mixes samples; use dim 1 or -1")
            }
            return (.layer(node.op == "softmax" ? Softmax(dim: args.int("dim")) : LogSoftmax(dim: args.int("dim"))), x)

        case "embedding":
            try positive("num_embeddings", "embedding_dim")
            let vocabulary = args.int("num_embeddings")
            if let padding = args.optionalInt("padding_idx"), !(-vocabulary..<vocabulary).contains(padding) {
                throw error(.invalidValue, field: "padding_idx", "\(padding) is out of range for \(vocabulary) embeddings")
            }
            let layer = Embedding(vocabulary, args.int("embedding_dim"), paddingIdx: args.optionalInt("padding_idx"))
            return (.layer(layer), x + [args.int("embedding_dim")])

        case "add":
            var shape = x
            for (name, other) in zip(node.inputs, inputShapes).dropFirst() {
                guard let combined = specBroadcastShapes(shape, other) else {
                    throw error(.shapeMismatch, field: "inputs",
                                "cannot add '\(name)' of shape \(other) to \(shape) (from '\(node.inputs[0])'); shapes must match or broadcast")
                }
                shape = combined
            }
            return (.add, shape)

        case "concat":
            let dim = try dimension("dim", rank: x.count)
            guard dim != 0 else { throw error(.invalidValue, field: "dim", "concatenating along the batch dim (0) would change the batch size") }
            var shape = x
            for (name, other) in zip(node.inputs, inputShapes).dropFirst() {
                var a = shape, b = other
                guard a.count == b.count else {
                    throw error(.shapeMismatch, field: "inputs", "'\(name)' has shape \(other), rank \(other.count), but '\(node.inputs[0])' has rank \(x.count)")
                }
                a[dim] = 0
                b[dim] = 0
                guard a == b else {
                    throw error(.shapeMismatch, field: "inputs",
                                "'\(name)' has shape \(other), which differs from \(x) (from '\(node.inputs[0])') outside dim \(dim)")
                }
                shape[dim] += other[dim]
            }
            return (.concat(dim: dim), shape)

        case "reshape":
            let target = args.ints("shape")
            guard target.allSatisfy({ $0 > 0 || $0 == -1 }), target.filter({ $0 == -1 }).count <= 1 else {
                throw error(.invalidValue, field: "shape", "sizes must be positive with at most one -1, found \(target)")
            }
            let count = x.dropFirst().reduce(1, *), known = target.filter { $0 > 0 }.reduce(1, *)
            let resolved = target.map { $0 == -1 ? count / known : $0 }
            guard (target.contains(-1) && count % known == 0) || (!target.contains(-1) && count == known) else {
                throw error(.shapeMismatch, field: "shape",
                            "cannot reshape \(Array(x.dropFirst())) (\(count) values per sample) to \(target); the shape excludes the batch dim")
            }
            return (.reshape(resolved), [x[0]] + resolved)

        default:
            fatalError("ModelSpec: op '\(node.op)' has a schema but no builder")
        }
    }
}

/// NumPy broadcasting of two shapes, or nil when they are incompatible.
func specBroadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a, pb = Array(repeating: 1, count: rank - b.count) + b
    var out: [Int] = []
    for (x, y) in zip(pa, pb) {
        guard x == y || x == 1 || y == 1 else { return nil }
        out.append(x == 1 ? y : x)
    }
    return out
}
