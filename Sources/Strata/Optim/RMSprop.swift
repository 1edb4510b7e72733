/// RMSprop with `torch.optim.RMSprop`'s update:
///
///     g ← ∇ + λ·θ,   v ← α·v + (1 − α)·g²
///     d ← √(v − ḡ²) + ε if centred (ḡ ← α·ḡ + (1 − α)·g), else √v + ε
///     b ← μ·b + g/d and θ ← θ − η·b with momentum μ > 0, else θ ← θ − η·g/d
public final class RMSprop: Optimizer {
    public var alpha: Double
    public var epsilon: Double
    public var momentum: Double
    public var centered: Bool

    public init(_ parameters: [Tensor], learningRate: Double = 0.01, alpha: Double = 0.99, epsilon: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false) {
        (self.alpha, self.epsilon, self.momentum, self.centered) = (alpha, epsilon, momentum, centered)
        super.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)])
    }

    // Specialised entry points: a generic override is called through the vtable and would otherwise run
    // its loop through protocol witnesses, an order of magnitude slower than the flat loop.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    override func update<T: FloatElement>(_: T.Type, parameter p: UnsafeMutablePointer<T>, grad g: UnsafeMutablePointer<T>,
                                          count: Int, group: ParameterGroup, state: ParameterState, like parameter: Tensor) {
        let lr = T(group.learningRate), wd = T(group.weightDecay), a = T(alpha), eps = T(epsilon), mu = T(momentum)
        let v = state.buffer("square_avg", like: parameter).pointer(T.self)
        let mean = centered ? state.buffer("grad_avg", like: parameter).pointer(T.self) : nil
        let b = momentum > 0 ? state.buffer("momentum_buffer", like: parameter).pointer(T.self) : nil
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

/// Adagrad with `torch.optim.Adagrad`'s update:
///
///     g ← ∇ + λ·θ,   s ← s + g²,   θ ← θ − η / (1 + (t − 1)·δ) · g / (√s + ε)
public final class Adagrad: Optimizer {
    public var learningRateDecay: Double
    public var epsilon: Double
    public var initialAccumulatorValue: Double

    public init(_ parameters: [Tensor], learningRate: Double = 0.01, learningRateDecay: Double = 0, weightDecay: Double = 0,
                initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10) {
        (self.learningRateDecay, self.epsilon, self.initialAccumulatorValue) = (learningRateDecay, epsilon, initialAccumulatorValue)
        super.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)])
    }

    // Specialised entry points: a generic override is called through the vtable and would otherwise run
    // its loop through protocol witnesses, an order of magnitude slower than the flat loop.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    override func update<T: FloatElement>(_: T.Type, parameter p: UnsafeMutablePointer<T>, grad g: UnsafeMutablePointer<T>,
                                          count: Int, group: ParameterGroup, state: ParameterState, like parameter: Tensor) {
        let isNew = state.buffers["sum"] == nil
        let s = state.buffer("sum", like: parameter).pointer(T.self)
        if isNew { s.update(repeating: T(initialAccumulatorValue), count: count) }
        let clr = T(group.learningRate / (1 + Double(state.step - 1) * learningRateDecay))
        let wd = T(group.weightDecay), eps = T(epsilon)
        for i in 0..<count {
            let d = g[i] + wd * p[i]
            s[i] += d * d
            p[i] -= clr * d / (s[i].squareRoot() + eps)
        }
    }
}
