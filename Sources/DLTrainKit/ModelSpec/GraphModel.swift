import Strata

/// A model built from a `ModelSpec`: a graph of layers evaluated in the spec's node order.
///
/// Its layers are child modules named by their nodes, so `stateDict()` reads `conv1.weight`, `bn1.running_mean`, …
/// as a PyTorch module with those attributes does. Graph ops (`add`, `concat`, `reshape`) hold no state.
public final class GraphModel: Layer {
    /// What a node computes.
    public enum Kind {
        /// A layer (`Linear`, `Conv2d`, `ReLU`, …) applied to the node's single input.
        case layer(any Layer)
        /// The broadcasting sum of all inputs (a residual connection).
        case add
        /// The inputs joined along `dim` (non-negative, never the batch dim).
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
    }

    /// The nodes in evaluation order; the last one's output is the model's output.
    public let nodes: [Node]
    /// The sample shape (no batch dim) the graph was built for.
    public let inputShape: [Int]
    /// Whether the input is int64 indices (the graph starts with an embedding) rather than features.
    public let inputIsIndices: Bool
    /// For each value slot, the last node that reads it, so intermediate tensors are released early.
    private let lastUse: [Int]

    init(nodes: [Node], inputShape: [Int], inputIsIndices: Bool) {
        (self.nodes, self.inputShape, self.inputIsIndices) = (nodes, inputShape, inputIsIndices)
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
}
