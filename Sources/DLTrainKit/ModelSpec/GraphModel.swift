import Strata

/// A model built from a `ModelSpec`: a graph of layers evaluated in the spec's node order.
///
/// Its layers are child modules named by their nodes, so `stateDict()` reads `conv1.weight`, `bn1.running_mean`, …
/// as a PyTorch module with those attributes does. Graph ops (`add`, `concat`, `reshape`) hold no state.
///
/// Its shape rule (`ShapeInferring`) is its layers' rules and the graph ops' rules below, node by node: the one
/// rule `ModelSpec.build`, `ModelSummary` and `dltrain info` use.
public final class GraphModel: Layer {
    /// What a node computes.
    public enum Kind {
        /// A layer (`Linear`, `Conv2d`, `ReLU`, …) applied to the node's single input.
        case layer(any Layer & ShapeInferring)
        /// The broadcasting sum of all inputs (a residual connection).
        case add
        /// The inputs joined along `dim` (negative counts from the end).
        case concat(dim: Int)
        /// The input reshaped to `[N] + shape` (`shape` excludes the batch dim; one entry may be −1).
        case reshape([Int])
    }

    /// One node of the built graph.
    public struct Node {
        public let name: String
        /// The spec's op name.
        public let op: String
        public let kind: Kind
        /// Value slots consumed: 0 is the graph input, `k` the output of node `k − 1`.
        public let inputs: [Int]
        /// The output shape inferred for a batch of one, `[1, …]`.
        public let outputShape: [Int]
        /// The output's dtype.
        public let outputDType: DType
    }

    /// The nodes in evaluation order; the last one's output is the model's output.
    public let nodes: [Node]
    /// The sample shape (no batch dim) the graph was built for.
    public let inputShape: [Int]
    /// The input's dtype: float32 features, or int64 token ids when the graph starts with an embedding.
    public let inputDType: DType
    /// For each value slot, the last node that reads it, so intermediate tensors are released early.
    private let lastUse: [Int]

    init(nodes: [Node], inputShape: [Int], inputDType: DType) {
        (self.nodes, self.inputShape, self.inputDType) = (nodes, inputShape, inputDType)
        var last = Array(repeating: -1, count: nodes.count + 1)
        for (index, node) in nodes.enumerated() { for slot in node.inputs { last[slot] = index } }
        lastUse = last
    }

    /// The layer nodes, by node name.
    public var entries: [(name: String, entry: ModuleEntry)] {
        nodes.compactMap { if case .layer(let layer) = $0.kind { ($0.name, .module(layer)) } else { nil } }
    }

    /// `[N] + inputShape → [N] + output shape`, evaluating every node once in order.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        guard input.rank == inputShape.count + 1 && Array(input.shape.dropFirst()) == inputShape else { fatalError("GraphModel: input \(input.shape) must be [N] + \(inputShape)") }
        var values: [Tensor?] = [input] + Array(repeating: nil, count: nodes.count)
        for (index, node) in nodes.enumerated() {
            let args = node.inputs.map { values[$0]! }
            switch node.kind {
            case .layer(let layer): values[index + 1] = layer(args[0])
            case .add: values[index + 1] = args.dropFirst().reduce(args[0], +)
            case .concat(let dim): values[index + 1] = Tensor.cat(args, dim: dim)
            case .reshape(let shape): values[index + 1] = args[0].reshaped([args[0].shape[0]] + shape)
            }
            for slot in node.inputs where lastUse[slot] == index { values[slot] = nil }
        }
        return values[nodes.count]!
    }

    /// One node's output for its inputs: a layer's own rule (`infer(shape:dtype:)`), or a graph op's. A layer's
    /// error is nested under the node's name; a graph op's names the node as its `path` and the field as its
    /// `argument`.
    /// - Parameters:
    ///   - inputNames: the names of the values consumed (`input` or node names), for messages.
    static func infer(_ kind: Kind, node: String, op: String, inputNames: [String], inputs: [(shape: [Int], dtype: DType)])
        throws(ShapeError) -> (shape: [Int], dtype: DType, flops: Int) {
        func fail(_ kind: ShapeError.Kind, _ argument: String, _ reason: String) -> ShapeError {
            ShapeError(layer: op, path: node, input: inputs[0].shape, kind: kind, argument: argument, reason: reason)
        }
        let first = inputs[0]
        switch kind {
        case .layer(let layer):
            do { return try layer.infer(shape: first.shape, dtype: first.dtype) } catch { throw error.nested(under: node) }
        case .add:
            var shape = first.shape
            for (name, other) in zip(inputNames, inputs).dropFirst() {
                guard other.dtype == first.dtype && first.dtype.isFloatingPoint else {
                    throw fail(.dtype, "inputs", "cannot add '\(name)' (\(other.dtype)) to '\(inputNames[0])' (\(first.dtype)); add takes floating-point values of one dtype")
                }
                guard let combined = broadcastShapes(shape, other.shape) else {
                    throw fail(.size, "inputs", "cannot add '\(name)' of shape \(other.shape) to \(shape) (from '\(inputNames[0])'); shapes must match or broadcast")
                }
                shape = combined
            }
            return (shape, first.dtype, 0)
        case .concat(let dim):
            let rank = first.shape.count
            guard (-rank..<rank).contains(dim) else { throw fail(.rank, "dim", "dim \(dim) is out of range for rank \(rank)") }
            let d = dim < 0 ? dim + rank : dim
            var shape = first.shape
            for (name, other) in zip(inputNames, inputs).dropFirst() {
                guard other.dtype == first.dtype else {
                    throw fail(.dtype, "inputs", "'\(name)' holds \(other.dtype) but '\(inputNames[0])' holds \(first.dtype); concat takes one dtype")
                }
                guard other.shape.count == rank else {
                    throw fail(.rank, "inputs", "'\(name)' has shape \(other.shape), rank \(other.shape.count), but '\(inputNames[0])' has rank \(rank)")
                }
                guard other.shape.indices.allSatisfy({ $0 == d || other.shape[$0] == first.shape[$0] }) else {
                    throw fail(.size, "inputs", "'\(name)' has shape \(other.shape), which differs from \(first.shape) (from '\(inputNames[0])') outside dim \(d)")
                }
                do { shape[d] = try CheckedSize.add(shape[d], other.shape[d], "concat") } catch {
                    throw fail(.overflow, "inputs", "the joined size along dim \(d) overflows Int")
                }
            }
            return (shape, first.dtype, 0)
        case .reshape(let target):
            let sample = Array(first.shape.dropFirst())
            guard target.allSatisfy({ $0 > 0 || $0 == -1 }), target.filter({ $0 == -1 }).count <= 1 else {
                throw fail(.setting, "shape", "sizes must be positive with at most one -1, found \(target)")
            }
            let count: Int, known: Int
            do {
                count = try CheckedSize.product(sample, "reshape")
                known = try CheckedSize.product(target.filter { $0 > 0 }, "reshape")
            } catch { throw fail(.overflow, "shape", "the shape \(target) has more elements than fit in Int") }
            let resolved = target.map { $0 == -1 ? count / known : $0 }
            guard (target.contains(-1) && count % known == 0) || (!target.contains(-1) && count == known) else {
                throw fail(.size, "shape", "cannot reshape \(sample) (\(count) values per sample) to \(target); the shape excludes the batch dim")
            }
            return ([first.shape[0]] + resolved, first.dtype, 0)
        }
    }

    /// Every node's output shape, dtype and FLOPs for an input of `shape` (batch included) and `dtype`, in node
    /// order.
    /// - Throws: `ShapeError` whose `path` starts with the failing node's name.
    public func nodeShapes(for shape: [Int], dtype: DType) throws(ShapeError) -> [(shape: [Int], dtype: DType, flops: Int)] {
        var values: [(shape: [Int], dtype: DType)] = [(shape, dtype)]
        var results: [(shape: [Int], dtype: DType, flops: Int)] = []
        let names = ["input"] + nodes.map(\.name)
        for node in nodes {
            let result = try Self.infer(node.kind, node: node.name, op: node.op, inputNames: node.inputs.map { names[$0] },
                                        inputs: node.inputs.map { values[$0] })
            results.append(result)
            values.append((result.shape, result.dtype))
        }
        return results
    }
}

extension GraphModel: ShapeInferring {
    /// The last node's shape, and the FLOPs of every layer node summed.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let results = try nodeShapes(for: input, dtype: inputDType)
        var total = 0
        for result in results {
            do { total = try CheckedSize.add(total, result.flops, "FLOPs") } catch {
                throw ShapeError(layer: "GraphModel", input: input, kind: .overflow, reason: "the FLOP count overflows Int")
            }
        }
        return (results.last!.shape, total)
    }

    /// The last node's dtype, for the sample shape the graph was built for.
    public func outputDType(for input: DType) throws(ShapeError) -> DType {
        try nodeShapes(for: [1] + inputShape, dtype: input).last!.dtype
    }
}

/// NumPy broadcasting of two shapes, or nil when they are incompatible.
private func broadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a, pb = Array(repeating: 1, count: rank - b.count) + b
    var out: [Int] = []
    for (x, y) in zip(pa, pb) {
        guard x == y || x == 1 || y == 1 else { return nil }
        out.append(x == 1 ? y : x)
    }
    return out
}
