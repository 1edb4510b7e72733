/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
/// with `torch.optim.SGD`'s update rule:
///
///     g ← ∇ + λ·θ
///     b ← g on the first step, else μ·b + (1 − τ)·g
///     g ← g + μ·b if Nesterov, else b
///     θ ← θ − η·g
public final class SGD: Optimizer {
    public var momentum: Double
    public var dampening: Double
    public var nesterov: Bool

    public convenience init(_ parameters: [Tensor], learningRate: Double = 1e-3, momentum: Double = 0, dampening: Double = 0,
                            weightDecay: Double = 0, nesterov: Bool = false) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  momentum: momentum, dampening: dampening, nesterov: nesterov)
    }

    public init(groups: [ParameterGroup], momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) {
        require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum requires momentum > 0 and zero dampening")
        (self.momentum, self.dampening, self.nesterov) = (momentum, dampening, nesterov)
        super.init(groups: groups)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    override func update<T: FloatElement>(_: T.Type, parameter p: UnsafeMutablePointer<T>, grad g: UnsafeMutablePointer<T>,
                                          count: Int, group: ParameterGroup, state: ParameterState, like parameter: Tensor) {
        let lr = T(group.learningRate), wd = T(group.weightDecay)
        guard momentum != 0 else {
            for i in 0..<count { p[i] -= lr * (g[i] + wd * p[i]) }
            return
        }
        let mu = T(momentum), keep = T(1 - dampening)
        let first = state.buffers["momentum_buffer"] == nil
        let b = state.buffer("momentum_buffer", like: parameter).pointer(T.self)
        // One loop per case, so that each is a branch-free loop the compiler vectorises.
        switch (first, nesterov) {
        case (true, false):
            for i in 0..<count { let d = g[i] + wd * p[i]; b[i] = d; p[i] -= lr * d }
        case (false, false):
            for i in 0..<count { let d = g[i] + wd * p[i]; b[i] = mu * b[i] + keep * d; p[i] -= lr * b[i] }
        case (true, true):
            for i in 0..<count { let d = g[i] + wd * p[i]; b[i] = d; p[i] -= lr * (d + mu * d) }
        case (false, true):
            for i in 0..<count {
                let d = g[i] + wd * p[i]; b[i] = mu * b[i] + keep * d; p[i] -= lr * (d + mu * b[i])
            }
        }
    }
}
