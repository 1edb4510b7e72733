import RealModule

/// Adam, with `torch.optim.Adam`'s update (L2 weight decay added to the gradient) and defaults:
///
///     g ← ∇ + λ·θ
///     m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2015).
public final class Adam: Optimizer {
    /// PyTorch's default learning rate.
    public static let defaultLearningRate = 1e-3
    /// PyTorch's default weight decay.
    public static let defaultWeightDecay = 0.0

    /// The decay of the first-moment average.
    public var beta1: Double
    /// The decay of the second-moment average.
    public var beta2: Double
    /// Added to the denominator.
    public var epsilon: Double

    /// Adam over `parameters`, with PyTorch's defaults.
    public convenience init(_ parameters: [Tensor], learningRate: Double = Adam.defaultLearningRate, beta1: Double = 0.9,
                            beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = Adam.defaultWeightDecay) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// Adam over parameter groups, each with its own rate and decay.
    public init(groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        (self.beta1, self.beta2, self.epsilon) = (beta1, beta2, epsilon)
        super.init(groups: groups)
    }

    override public var stateBufferNames: Set<String>? { ["exp_avg", "exp_avg_sq"] }

    override public func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
        adamUpdate(parameter, gradient, state, group, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupled: false)
    }
}

/// AdamW: Adam with decoupled weight decay (θ ← θ·(1 − η·λ) before the step, instead of L2 on the gradient),
/// with `torch.optim.AdamW`'s defaults (decay 0.01).
///
/// reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019).
public final class AdamW: Optimizer {
    /// PyTorch's default learning rate.
    public static let defaultLearningRate = 1e-3
    /// PyTorch's default (decoupled) weight decay.
    public static let defaultWeightDecay = 0.01

    /// The decay of the first-moment average.
    public var beta1: Double
    /// The decay of the second-moment average.
    public var beta2: Double
    /// Added to the denominator.
    public var epsilon: Double

    /// AdamW over `parameters`, with PyTorch's defaults.
    public convenience init(_ parameters: [Tensor], learningRate: Double = AdamW.defaultLearningRate, beta1: Double = 0.9,
                            beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = AdamW.defaultWeightDecay) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    /// AdamW over parameter groups, each with its own rate and decay.
    public init(groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        (self.beta1, self.beta2, self.epsilon) = (beta1, beta2, epsilon)
        super.init(groups: groups)
    }

    override public var stateBufferNames: Set<String>? { ["exp_avg", "exp_avg_sq"] }

    override public func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
        adamUpdate(parameter, gradient, state, group, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupled: true)
    }
}

/// The update Adam and AdamW share, with the buffers `exp_avg` (m) and `exp_avg_sq` (v).
private func adamUpdate(_ parameter: Tensor, _ gradient: Tensor, _ state: ParameterState, _ group: ParameterGroup,
                        beta1: Double, beta2: Double, epsilon: Double, decoupled: Bool) {
    let (m, v) = (state.buffer("exp_avg", like: parameter), state.buffer("exp_avg_sq", like: parameter))
    let t = Double(state.step)
    let stepSize = group.learningRate / (1 - Double.pow(beta1, t))
    let correction2 = (1 - Double.pow(beta2, t)).squareRoot()
    let l2 = decoupled ? 0 : group.weightDecay
    let decay = decoupled ? 1 - group.learningRate * group.weightDecay : 1
    func run<T: FloatElement>(_: T.Type) {
        let (p, g, mp, vp) = (parameter.pointer(T.self), gradient.pointer(T.self), m.pointer(T.self), v.pointer(T.self))
        let (b1, b2, eps) = (T(beta1), T(beta2), T(epsilon))
        let (stepSize, correction2, l2, decay) = (T(stepSize), T(correction2), T(l2), T(decay))
        for i in 0..<parameter.count {
            let d = g[i] + l2 * p[i]
            mp[i] = b1 * mp[i] + (1 - b1) * d
            vp[i] = b2 * vp[i] + (1 - b2) * d * d
            p[i] = p[i] * decay - stepSize * mp[i] / (vp[i].squareRoot() / correction2 + eps)
        }
    }
    switch parameter.dtype {
    case .float32: run(Float.self)
    case .float64: run(Double.self)
    default: unsupported("Adam step", parameter.dtype)
    }
}
