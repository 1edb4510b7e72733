/// Activation functions. Each pullback multiplies the incoming gradient by the derivative at the input.

enum ReLUFunction: UnaryFunction { static func apply<T: FloatElement>(_ x: T) -> T { x > 0 ? x : 0 } }
enum ReLUGradFunction: BinaryFunction {
    /// `g · 1[x > 0]`: the gradient `g` where the input `x` was positive.
    static func apply<T: FloatElement>(_ g: T, _ x: T) -> T { x > 0 ? g : 0 }
}

extension Tensor {
    /// `max(x, 0)`.
    public func relu() -> Tensor {
        let x = detached()
        return Tensor.differentiable("relu", inputs: [self], output: unary(ReLUFunction.self, op: "relu")) { g in
            [Tensor.binary(ReLUGradFunction.self, g, x, op: "relu backward")]
        }
    }
}
