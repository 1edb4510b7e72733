/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay,
/// with `torch.optim.SGD`'s update rule and defaults:
///
///     g ← ∇ + λ·θ
///     b ← g on the first step, else μ·b + (1 − τ)·g
///     g ← g + μ·b if Nesterov, else b
///     θ ← θ − η·g
public final class SGD: Optimizer {
    /// `torch.optim.SGD`'s default learning rate (PyTorch 2.x; before 2.2 it had none).
    public static let defaultLearningRate = 1e-3
    /// PyTorch's default weight decay.
    public static let defaultWeightDecay = 0.0

    /// The momentum factor (0: plain SGD).
    public var momentum: Double
    /// The dampening of the momentum.
    public var dampening: Double
    /// Whether the step uses Nesterov momentum.
    public var nesterov: Bool

    /// SGD over `parameters`, with PyTorch's defaults.
    public convenience init(_ parameters: [Tensor], learningRate: Double = SGD.defaultLearningRate, momentum: Double = 0,
                            dampening: Double = 0, weightDecay: Double = SGD.defaultWeightDecay, nesterov: Bool = false) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  momentum: momentum, dampening: dampening, nesterov: nesterov)
    }

    /// SGD over parameter groups, each with its own rate and decay.
    public init(groups: [ParameterGroup], momentum: Double = 0, dampening: Double = 0, nesterov: Bool = false) {
        require(!nesterov || (momentum > 0 && dampening == 0), "SGD: Nesterov momentum requires momentum > 0 and zero dampening")
        (self.momentum, self.dampening, self.nesterov) = (momentum, dampening, nesterov)
        super.init(groups: groups)
    }

    override public var stateBufferNames: Set<String>? { momentum != 0 ? ["momentum_buffer"] : [] }

    override public func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
        let first = state.buffers["momentum_buffer"] == nil
        let buffer = momentum != 0 ? state.buffer("momentum_buffer", like: parameter) : nil
        switch parameter.dtype {
        case .float32: run(Float.self, parameter, gradient, buffer, first: first, group: group)
        case .float64: run(Double.self, parameter, gradient, buffer, first: first, group: group)
        default: unsupported("SGD step", parameter.dtype)
        }
    }

    private func run<T: FloatElement>(_: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ buffer: Tensor?, first: Bool,
                                      group: ParameterGroup) {
        let (p, g, count) = (parameter.pointer(T.self), gradient.pointer(T.self), parameter.count)
        let lr = T(group.learningRate), wd = T(group.weightDecay)
        guard let buffer else {
            for i in 0..<count { p[i] -= lr * (g[i] + wd * p[i]) }
            return
        }
        let mu = T(momentum), keep = T(1 - dampening)
        let b = buffer.pointer(T.self)
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
