// The tape's node type lives with the tensor that points at it (`Tensor.gradFn`); Autograd/Engine.swift makes
// nodes (`Tensor.differentiable`) and walks them (`backward()`).

/// One recorded op on the tape: the inputs it read and the pullback that maps the gradient of its output
/// to gradients of those inputs.
///
/// The node holds its inputs, never its output, so the graph has no reference cycles.
final class GradNode {
    let op: String
    private(set) var inputs: [Tensor]
    /// `wants[i]` is whether `inputs[i]` needs a gradient.
    let wants: [Bool]
    private var pullback: ((Tensor) -> [Tensor?])?

    init(op: String, inputs: [Tensor], pullback: @escaping (Tensor) -> [Tensor?]) {
        self.op = op
        self.inputs = inputs
        self.wants = inputs.map(\.isTracked)
        self.pullback = pullback
    }

    func callAsFunction(_ gradient: Tensor) -> [Tensor?] {
        guard let pullback else {
            fatalError("backward: the graph through \(op) was already freed; pass retainGraph: true to the first backward() to run it twice")
        }
        let grads = pullback(gradient)
        require(grads.count == inputs.count, "\(op): pullback returned \(grads.count) gradients for \(inputs.count) inputs")
        return grads
    }

    /// Drops the captured values and the links to the inputs, so a long graph is freed without deep recursion.
    func free() {
        pullback = nil
        inputs = []
    }
}
