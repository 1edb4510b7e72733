import RealModule

/// Adam, with `torch.optim.Adam`'s update (L2 weight decay added to the gradient):
///
///     g ← ∇ + λ·θ
///     m ← β₁·m + (1 − β₁)·g,   v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// reference: Kingma & Ba, "Adam: A Method for Stochastic Optimization" (2015).
public class Adam: Optimizer {
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double
    /// AdamW's decoupled decay (θ ← θ·(1 − η·λ) before the step) instead of L2 on the gradient.
    let decoupledWeightDecay: Bool

    public convenience init(_ parameters: [Tensor], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                            epsilon: Double = 1e-8, weightDecay: Double = 0) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public convenience init(groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        self.init(groups: groups, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupled: false)
    }

    init(groups: [ParameterGroup], beta1: Double, beta2: Double, epsilon: Double, decoupled: Bool) {
        (self.beta1, self.beta2, self.epsilon, self.decoupledWeightDecay) = (beta1, beta2, epsilon, decoupled)
        super.init(groups: groups)
    }

    @_specialize(where T == Float)
    @_specialize(where T == Double)
    override func update<T: FloatElement>(_: T.Type, parameter p: UnsafeMutablePointer<T>, grad g: UnsafeMutablePointer<T>,
                                          count: Int, group: ParameterGroup, state: ParameterState, like parameter: Tensor) {
        let m = state.buffer("exp_avg", like: parameter).pointer(T.self)
        let v = state.buffer("exp_avg_sq", like: parameter).pointer(T.self)
        let t = Double(state.step)
        let b1 = T(beta1), b2 = T(beta2), eps = T(epsilon)
        let stepSize = T(group.learningRate / (1 - Double.pow(beta1, t)))
        let correction2 = T((1 - Double.pow(beta2, t)).squareRoot())
        let l2 = decoupledWeightDecay ? 0 : T(group.weightDecay)
        let decay = decoupledWeightDecay ? T(1 - group.learningRate * group.weightDecay) : 1
        for i in 0..<count {
            let d = g[i] + l2 * p[i]
            m[i] = b1 * m[i] + (1 - b1) * d
            v[i] = b2 * v[i] + (1 - b2) * d * d
            p[i] = p[i] * decay - stepSize * m[i] / (v[i].squareRoot() / correction2 + eps)
        }
    }
}

/// AdamW: Adam with decoupled weight decay, as `torch.optim.AdamW` (default decay 0.01).
///
/// reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (2019).
public final class AdamW: Adam {
    public convenience init(_ parameters: [Tensor], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                            epsilon: Double = 1e-8, weightDecay: Double = 0.01) {
        self.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)],
                  beta1: beta1, beta2: beta2, epsilon: epsilon)
    }

    public init(groups: [ParameterGroup], beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) {
        super.init(groups: groups, beta1: beta1, beta2: beta2, epsilon: epsilon, decoupled: true)
    }
}
