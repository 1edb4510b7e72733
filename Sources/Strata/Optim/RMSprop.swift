/// RMSprop with `torch.optim.RMSprop`'s update and defaults:
///
///     g ← ∇ + λ·θ,   v ← α·v + (1 − α)·g²
///     d ← √(v − ḡ²) + ε if centred (ḡ ← α·ḡ + (1 − α)·g), else √v + ε
///     b ← μ·b + g/d and θ ← θ − η·b with momentum μ > 0, else θ ← θ − η·g/d
public final class RMSprop: Optimizer {
    /// PyTorch's default learning rate.
    public static let defaultLearningRate = 1e-2
    /// PyTorch's default weight decay.
    public static let defaultWeightDecay = 0.0

    /// The decay of the squared-gradient average.
    public var alpha: Double
    /// Added to the denominator.
    public var epsilon: Double
    /// The momentum factor (0: none).
    public var momentum: Double
    /// Whether the squared average is centred by the mean gradient's square.
    public var centered: Bool

    /// RMSprop over `parameters`, with PyTorch's defaults.
    public convenience init(_ parameters: [Tensor], learningRate: Double = RMSprop.defaultLearningRate, alpha: Double = 0.99,
                            epsilon: Double = 1e-8, weightDecay: Double = RMSprop.defaultWeightDecay, momentum: Double = 0,
                            centered: Bool = false) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  alpha: alpha, epsilon: epsilon, momentum: momentum, centered: centered)
    }

    /// RMSprop over parameter groups, each with its own rate and decay.
    public init(groups: [ParameterGroup], alpha: Double = 0.99, epsilon: Double = 1e-8, momentum: Double = 0,
                centered: Bool = false) {
        (self.alpha, self.epsilon, self.momentum, self.centered) = (alpha, epsilon, momentum, centered)
        super.init(groups: groups)
    }

    override public var stateBufferNames: Set<String>? {
        Set(["square_avg"] + (centered ? ["grad_avg"] : []) + (momentum > 0 ? ["momentum_buffer"] : []))
    }

    override public func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
        let v = state.buffer("square_avg", like: parameter)
        let mean = centered ? state.buffer("grad_avg", like: parameter) : nil
        let b = momentum > 0 ? state.buffer("momentum_buffer", like: parameter) : nil
        switch parameter.dtype {
        case .float32: run(Float.self, parameter, gradient, v, mean, b, group: group)
        case .float64: run(Double.self, parameter, gradient, v, mean, b, group: group)
        default: unsupported("RMSprop step", parameter.dtype)
        }
    }

    private func run<T: FloatElement>(_: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ squareAverage: Tensor,
                                      _ gradientAverage: Tensor?, _ momentumBuffer: Tensor?, group: ParameterGroup) {
        let (p, g, v, count) = (parameter.pointer(T.self), gradient.pointer(T.self), squareAverage.pointer(T.self), parameter.count)
        let mean = gradientAverage?.pointer(T.self), b = momentumBuffer?.pointer(T.self)
        let lr = T(group.learningRate), wd = T(group.weightDecay), a = T(alpha), eps = T(epsilon), mu = T(momentum)
        for i in 0..<count {
            let d = g[i] + wd * p[i]
            v[i] = a * v[i] + (1 - a) * d * d
            var variance = v[i]
            if let mean {
                mean[i] = a * mean[i] + (1 - a) * d
                variance -= mean[i] * mean[i]
            }
            let denominator = variance.squareRoot() + eps
            if let b {
                b[i] = mu * b[i] + d / denominator
                p[i] -= lr * b[i]
            } else {
                p[i] -= lr * d / denominator
            }
        }
    }
}

/// Adagrad with `torch.optim.Adagrad`'s update and defaults:
///
///     g ← ∇ + λ·θ,   s ← s + g²,   θ ← θ − η / (1 + (t − 1)·δ) · g / (√s + ε)
public final class Adagrad: Optimizer {
    /// PyTorch's default learning rate.
    public static let defaultLearningRate = 1e-2
    /// PyTorch's default weight decay.
    public static let defaultWeightDecay = 0.0

    /// The learning rate's decay per step: `lr / (1 + (t − 1)·decay)`.
    public var learningRateDecay: Double
    /// Added to the denominator.
    public var epsilon: Double
    /// The initial value of the squared-gradient sum.
    public var initialAccumulatorValue: Double

    /// Adagrad over `parameters`, with PyTorch's defaults.
    public convenience init(_ parameters: [Tensor], learningRate: Double = Adagrad.defaultLearningRate, learningRateDecay: Double = 0,
                            weightDecay: Double = Adagrad.defaultWeightDecay, initialAccumulatorValue: Double = 0,
                            epsilon: Double = 1e-10) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  learningRateDecay: learningRateDecay, initialAccumulatorValue: initialAccumulatorValue, epsilon: epsilon)
    }

    /// Adagrad over parameter groups, each with its own rate and decay.
    public init(groups: [ParameterGroup], learningRateDecay: Double = 0, initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10) {
        (self.learningRateDecay, self.epsilon, self.initialAccumulatorValue) = (learningRateDecay, epsilon, initialAccumulatorValue)
        super.init(groups: groups)
    }

    override public var stateBufferNames: Set<String>? { ["sum"] }

    override public func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
        let sum = state.buffer("sum", like: parameter, initialValue: initialAccumulatorValue)
        let rate = group.learningRate / (1 + Double(state.step - 1) * learningRateDecay)
        switch parameter.dtype {
        case .float32: run(Float.self, parameter, gradient, sum, rate: rate, weightDecay: group.weightDecay)
        case .float64: run(Double.self, parameter, gradient, sum, rate: rate, weightDecay: group.weightDecay)
        default: unsupported("Adagrad step", parameter.dtype)
        }
    }

    private func run<T: FloatElement>(_: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ sum: Tensor, rate: Double,
                                      weightDecay: Double) {
        let (p, g, s, count) = (parameter.pointer(T.self), gradient.pointer(T.self), sum.pointer(T.self), parameter.count)
        let clr = T(rate), wd = T(weightDecay), eps = T(epsilon)
        for i in 0..<count {
            let d = g[i] + wd * p[i]
            s[i] += d * d
            p[i] -= clr * d / (s[i].squareRoot() + eps)
        }
    }
}
