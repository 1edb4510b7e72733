import Foundation
import Strata
import Testing

/// A parameter `[1, 2]` with gradient `[0.5, -1]`, the fixture the hand-computed steps below start from.
private func parameterWithGradient() -> Tensor {
    let p = Tensor([1.0, 2.0])
    p.requiresGrad = true
    (p * Tensor([0.5, -1.0])).sum().backward()
    return p
}

@Suite struct OptimizerTests {
    @Test func sgdWithMomentumAndWeightDecay() {
        let p = parameterWithGradient()
        let sgd = SGD([p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
        sgd.step()
        // d = g + 0.01·θ = [0.51, −0.98]; first step b = d; θ − 0.1·b.
        expectClose(p, [1 - 0.051, 2 + 0.098], atol: 1e-12)
        sgd.step()
        // d = [0.5 + 0.00949, −1 + 0.01902]; b = 0.9·b + d; θ − 0.1·b.
        let d = [0.5 + 0.01 * 0.949, -1 + 0.01 * 2.098]
        let b = [0.9 * 0.51 + d[0], 0.9 * -0.98 + d[1]]
        expectClose(p, [0.949 - 0.1 * b[0], 2.098 - 0.1 * b[1]], atol: 1e-12)
    }

    @Test func sgdNesterov() {
        let p = parameterWithGradient()
        SGD([p], learningRate: 0.1, momentum: 0.9, nesterov: true).step()
        // b = g; step uses g + 0.9·b = 1.9·g.
        expectClose(p, [1 - 0.1 * 1.9 * 0.5, 2 + 0.1 * 1.9], atol: 1e-12)
    }

    @Test func adamFirstStepMovesEachWeightByTheLearningRate() {
        let p = parameterWithGradient()
        Adam([p], learningRate: 0.01).step()
        // With bias correction, m̂ = g and v̂ = g², so the step is lr·g/(|g| + ε·…) ≈ lr·sign(g).
        expectClose(p, [1 - 0.01 * 0.5 / (0.5 + 1e-8), 2 + 0.01 * 1 / (1 + 1e-8)], atol: 1e-12)
    }

    @Test func adamWDecaysWeightsBeforeTheStep() {
        let p = parameterWithGradient()
        AdamW([p], learningRate: 0.01, weightDecay: 0.1).step()
        expectClose(p, [1 * (1 - 0.001) - 0.01 * 0.5 / (0.5 + 1e-8), 2 * (1 - 0.001) + 0.01 / (1 + 1e-8)], atol: 1e-12)
    }

    @Test func rmspropAndAdagradFirstSteps() {
        let p = parameterWithGradient()
        RMSprop([p], learningRate: 0.01).step()
        // v = 0.01·g², θ − lr·g/(√v + ε) = θ − lr·g/(0.1·|g| + ε).
        expectClose(p, [1 - 0.01 * 0.5 / (0.05 + 1e-8), 2 + 0.01 / (0.1 + 1e-8)], atol: 1e-12)
        let q = parameterWithGradient()
        Adagrad([q], learningRate: 0.1).step()
        expectClose(q, [1 - 0.1 * 0.5 / (0.5 + 1e-10), 2 + 0.1 / (1 + 1e-10)], atol: 1e-12)
    }

    @Test func parameterGroupsHaveTheirOwnLearningRates() {
        let (a, b) = (parameterWithGradient(), parameterWithGradient())
        SGD(groups: [ParameterGroup([a], learningRate: 0.1), ParameterGroup([b], learningRate: 1)]).step()
        expectClose(a, [0.95, 2.1], atol: 1e-12)
        expectClose(b, [0.5, 3], atol: 1e-12)
    }

    @Test func stateRoundTripsSoAResumedOptimizerContinuesIdentically() throws {
        let (p, q) = (parameterWithGradient(), parameterWithGradient())
        let first = Adam([p], learningRate: 0.01)
        first.step()
        q.copy(from: p)
        let resumed = Adam([q], learningRate: 0.5)
        try resumed.loadStateDict(first.stateDict())
        #expect(resumed.learningRate == 0.01)
        first.step()
        resumed.step()
        #expect(p.toDoubles() == q.toDoubles())
        #expect(throws: OptimizerStateError.self) {
            try resumed.loadStateDict(["state.7.exp_avg": Tensor.zeros([2], dtype: .float64)])
        }
    }

    @Test func clippingByNormScalesToTheMaximumAndReturnsTheNorm() {
        let p = parameterWithGradient()
        let norm = GradientClipping.clipByNorm([p], maxNorm: 0.5)
        #expect(abs(norm - 1.25.squareRoot()) < 1e-12)
        let scale = 0.5 / (1.25.squareRoot() + 1e-6)
        expectClose(p.grad!, [0.5 * scale, -scale], atol: 1e-12)
    }
}


/// The defaults of `torch.optim` in PyTorch 2.15 (read with `inspect.signature` on each class's `__init__`):
/// SGD lr 1e-3 (its default since PyTorch 2.2), momentum 0, dampening 0, weight_decay 0; Adam lr 1e-3,
/// betas (0.9, 0.999), eps 1e-8, weight_decay 0; AdamW the same with weight_decay 0.01; RMSprop lr 1e-2,
/// alpha 0.99, eps 1e-8, weight_decay 0, momentum 0; Adagrad lr 1e-2, lr_decay 0, weight_decay 0,
/// initial_accumulator_value 0, eps 1e-10.
@Suite struct OptimizerDefaultTests {
    private let p = [Tensor.zeros([1])]

    @Test func sgd() {
        let sgd = SGD(p)
        #expect(sgd.learningRate == 1e-3 && sgd.groups[0].weightDecay == 0)
        #expect(sgd.momentum == 0 && sgd.dampening == 0 && !sgd.nesterov)
        #expect(SGD.defaultLearningRate == 1e-3 && SGD.defaultWeightDecay == 0)
    }

    @Test func adamAndAdamW() {
        let adam = Adam(p), adamW = AdamW(p)
        #expect(adam.learningRate == 1e-3 && adam.groups[0].weightDecay == 0)
        #expect(adam.beta1 == 0.9 && adam.beta2 == 0.999 && adam.epsilon == 1e-8)
        #expect(adamW.learningRate == 1e-3 && adamW.groups[0].weightDecay == 0.01)
        #expect(adamW.beta1 == 0.9 && adamW.beta2 == 0.999 && adamW.epsilon == 1e-8)
        #expect(Adam.defaultWeightDecay == 0 && AdamW.defaultWeightDecay == 0.01)
        #expect(Adam.defaultLearningRate == 1e-3 && AdamW.defaultLearningRate == 1e-3)
    }

    @Test func rmspropAndAdagrad() {
        let rmsprop = RMSprop(p), adagrad = Adagrad(p)
        #expect(rmsprop.learningRate == 1e-2 && rmsprop.groups[0].weightDecay == 0)
        #expect(rmsprop.alpha == 0.99 && rmsprop.epsilon == 1e-8 && rmsprop.momentum == 0 && !rmsprop.centered)
        #expect(adagrad.learningRate == 1e-2 && adagrad.groups[0].weightDecay == 0)
        #expect(adagrad.learningRateDecay == 0 && adagrad.initialAccumulatorValue == 0 && adagrad.epsilon == 1e-10)
        #expect(RMSprop.defaultLearningRate == 1e-2 && Adagrad.defaultLearningRate == 1e-2)
    }

    @Test func groupInitialisersTakeTheSameDefaults() {
        let groups = [ParameterGroup(p, learningRate: 0.5)]
        let rmsprop = RMSprop(groups: groups), adagrad = Adagrad(groups: groups)
        #expect(rmsprop.alpha == 0.99 && rmsprop.epsilon == 1e-8 && adagrad.epsilon == 1e-10 && adagrad.learningRate == 0.5)
    }

    @Test func adagradStartsItsSumAtTheInitialAccumulatorValue() {
        let q = Tensor([1.0])
        q.requiresGrad = true
        (q * 2.0).sum().backward()
        Adagrad([q], learningRate: 0.1, initialAccumulatorValue: 5).step()
        // s = 5 + g² = 9, θ − 0.1·g/(√s + ε) = 1 − 0.1·2/3.
        expectClose(q, [1 - 0.2 / (3 + 1e-10)], atol: 1e-12)
    }
}
