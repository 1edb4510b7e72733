import Strata
import Testing

// An optimizer and a schedule written outside the library, as a client package would write them: this file
// imports Strata plainly (no @testable), so it sees only the public API.

/// Heavy-ball momentum with decoupled weight decay, written with tensor ops:
/// `m ← μ·m + ∇`, `θ ← θ·(1 − η·λ) − η·m`.
private final class HeavyBall: Optimizer {
    let momentum: Double

    init(_ parameters: [Tensor], learningRate: Double, momentum: Double = 0.9, weightDecay: Double = 0) {
        self.momentum = momentum
        super.init(groups: [ParameterGroup(parameters, learningRate: learningRate, weightDecay: weightDecay)])
    }

    init(groups: [ParameterGroup], momentum: Double = 0.9) {
        self.momentum = momentum
        super.init(groups: groups)
    }

    override func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
        let m = state.buffer("momentum", like: parameter)
        m.copy(from: m * momentum + gradient)
        parameter.copy(from: parameter * (1 - group.learningRate * group.weightDecay) - m * group.learningRate)
    }
}

/// `η_t = η₀ / √(1 + t)`.
private final class InverseSquareRoot: LearningRateSchedule {
    override func rate(at step: Int, baseRate: Double) -> Double { baseRate / (1 + Double(step)).squareRoot() }
}

/// A float64 regression `y = 2·x₀ − 3·x₁ + 0.5` on 32 fixed points.
private func regressionData() -> (x: Tensor, y: Tensor) {
    let x = randomInput([32, 2], seed: 11)
    let y = (x * Tensor([2.0, -3.0])).sum(dims: [1], keepDims: true) + 0.5
    return (x, y)
}

@Suite struct UserOptimizerTests {
    @Test func aUserOptimizerTrainsARegression() {
        Strata.seed(1)
        let (x, y) = regressionData()
        let model = Linear(2, 1, dtype: .float64)
        let optimizer = HeavyBall(model.parameters(), learningRate: 0.05)
        func loss() -> Tensor { Loss.mse(model(x), y) }
        let initial = withNoGrad { loss().item() }
        for _ in 0..<300 {
            optimizer.zeroGrad()
            loss().backward()
            optimizer.step()
        }
        let final = withNoGrad { loss().item() }
        // The data are exactly linear, so the loss goes to zero: below 1e-10 after 300 steps (from > 1).
        #expect(initial > 1 && final < 1e-10, "loss \(initial) → \(final)")
        expectClose(model.weight, [2, -3], atol: 1e-5)
        expectClose(model.bias!, [0.5], atol: 1e-5)
    }

    @Test func itsStateIsSavedAndRestoredByTheLibrary() throws {
        let (x, y) = regressionData()
        Strata.seed(2)
        let (a, b) = (Linear(2, 1, dtype: .float64), Linear(2, 1, dtype: .float64))
        try b.loadStateDict(a.stateDict())
        let first = HeavyBall(a.parameters(), learningRate: 0.05)
        func step(_ model: Linear, _ optimizer: Optimizer) {
            optimizer.zeroGrad()
            Loss.mse(model(x), y).backward()
            optimizer.step()
        }
        for _ in 0..<3 { step(a, first) }
        let saved = first.stateDict()
        #expect(saved.keys.sorted() == ["param_groups.0.lr", "state.0.momentum", "state.0.step", "state.1.momentum", "state.1.step"])
        #expect(saved["state.0.step"]?.item() == 3)
        // A fresh optimizer over a copy of the parameters continues identically once loaded.
        try b.loadStateDict(a.stateDict())
        let resumed = HeavyBall(b.parameters(), learningRate: 1)
        try resumed.loadStateDict(saved)
        #expect(resumed.learningRate == 0.05)
        for _ in 0..<2 { step(a, first); step(b, resumed) }
        #expect(a.weight.toDoubles() == b.weight.toDoubles() && a.bias!.toDoubles() == b.bias!.toDoubles())
    }

    @Test func eachGroupUsesItsOwnRateAndDecay() {
        let (p, q) = (Tensor([1.0, 2.0]), Tensor([1.0, 2.0]))
        for t in [p, q] { t.requiresGrad = true }
        (p * Tensor([0.5, -1.0]) + q * Tensor([0.5, -1.0])).sum().backward()
        let optimizer = HeavyBall(groups: [ParameterGroup([p], learningRate: 0.1), ParameterGroup([q], learningRate: 1, weightDecay: 0.5)])
        optimizer.step()
        // First step m = g: p − 0.1·g; q·(1 − 1·0.5) − 1·g.
        expectClose(p, [1 - 0.05, 2 + 0.1], atol: 1e-12)
        expectClose(q, [0.5 - 0.5, 1 + 1], atol: 1e-12)
    }

    @Test func aUserScheduleSetsEveryGroupsRate() {
        let optimizer = HeavyBall(groups: [ParameterGroup([Tensor.zeros([1])], learningRate: 1),
                                           ParameterGroup([Tensor.zeros([1])], learningRate: 0.1)])
        let schedule = InverseSquareRoot(optimizer)
        #expect(schedule.baseRates == [1, 0.1])
        var seen: [[Double]] = [optimizer.groups.map(\.learningRate)]
        for _ in 0..<3 {
            schedule.step()
            seen.append(optimizer.groups.map(\.learningRate))
        }
        // η₀/√(1 + t) for t = 0…3.
        for (t, rates) in seen.enumerated() {
            expectClose(Tensor(rates), [1, 0.1].map { $0 / (1 + Double(t)).squareRoot() }, atol: 1e-15, rtol: 0)
        }
        schedule.restore(stepCount: 8)
        expectClose(Tensor(optimizer.groups.map(\.learningRate)), [1.0 / 3, 0.1 / 3], atol: 1e-15, rtol: 0)
    }

    @Test func aUserScheduleDrivesTraining() {
        Strata.seed(3)
        let (x, y) = regressionData()
        let model = Linear(2, 1, dtype: .float64)
        let optimizer = HeavyBall(model.parameters(), learningRate: 0.05)
        let schedule = InverseSquareRoot(optimizer)
        for _ in 0..<300 {
            optimizer.zeroGrad()
            Loss.mse(model(x), y).backward()
            optimizer.step()
            schedule.step()
        }
        #expect(abs(optimizer.learningRate - 0.05 / 301.0.squareRoot()) < 1e-15)
        // A slower, decaying rate still fits the exact linear data: loss below 1e-6.
        #expect(withNoGrad { Loss.mse(model(x), y).item() } < 1e-6)
    }
}
