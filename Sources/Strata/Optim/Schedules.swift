import Foundation

/// A learning-rate schedule: call `step()` once per epoch (or per batch for one-cycle and warm-up), as
/// PyTorch's `lr_scheduler` classes; it writes the new rate into every parameter group of the optimizer.
///
/// A schedule is a rule `rate(at:baseRate:)` from the number of steps taken and a group's base rate (its rate
/// when the schedule was made) to that group's rate now. To write one, subclass this and override it; as in
/// PyTorch, the rate for step 0 is applied when the schedule is made:
///
/// ```swift
/// /// η_t = η₀ / √(1 + t), the inverse square-root decay.
/// final class InverseSquareRoot: LearningRateSchedule {
///     override func rate(at step: Int, baseRate: Double) -> Double { baseRate / (1 + Double(step)).squareRoot() }
/// }
/// ```
open class LearningRateSchedule {
    /// The optimizer whose groups' rates the schedule writes.
    public let optimizer: Optimizer
    /// Each group's learning rate when the schedule was made (PyTorch's `base_lrs`).
    public let baseRates: [Double]
    /// Steps taken so far (PyTorch's `last_epoch`).
    public private(set) var stepCount = 0

    /// A schedule over `optimizer`'s groups, taking their current rates as the base rates; sets the rates
    /// for step 0.
    public init(_ optimizer: Optimizer) {
        self.optimizer = optimizer
        baseRates = optimizer.groups.map(\.learningRate)
        apply()
    }

    /// The learning rate after `step` steps of a group whose base rate is `baseRate`; every schedule
    /// overrides it.
    open func rate(at step: Int, baseRate: Double) -> Double {
        fatalError("\(Self.self) must override rate(at:baseRate:)")
    }

    /// Advances one step and sets the groups' learning rates.
    public func step() {
        stepCount += 1
        apply()
    }

    /// Sets the step count, for resuming, and applies the matching rates.
    public func restore(stepCount: Int) {
        self.stepCount = stepCount
        apply()
    }

    private func apply() {
        for i in optimizer.groups.indices {
            optimizer.groups[i].learningRate = rate(at: stepCount, baseRate: baseRates[i])
        }
    }
}

/// Multiplies the rate by `gamma` every `stepSize` steps (`StepLR`).
public final class StepSchedule: LearningRateSchedule {
    let stepSize: Int, gamma: Double
    /// Decays by `gamma` every `stepSize` steps.
    public init(_ optimizer: Optimizer, stepSize: Int, gamma: Double = 0.1) {
        require(stepSize > 0, "StepSchedule: step size must be positive, got \(stepSize)")
        (self.stepSize, self.gamma) = (stepSize, gamma)
        super.init(optimizer)
    }
    override public func rate(at step: Int, baseRate: Double) -> Double { baseRate * pow(gamma, Double(step / stepSize)) }
}

/// Multiplies the rate by `gamma` at each milestone (`MultiStepLR`).
public final class MultiStepSchedule: LearningRateSchedule {
    let milestones: [Int], gamma: Double
    /// Decays by `gamma` at each of `milestones`.
    public init(_ optimizer: Optimizer, milestones: [Int], gamma: Double = 0.1) {
        (self.milestones, self.gamma) = (milestones.sorted(), gamma)
        super.init(optimizer)
    }
    override public func rate(at step: Int, baseRate: Double) -> Double {
        baseRate * pow(gamma, Double(milestones.filter { $0 <= step }.count))
    }
}

/// Multiplies the rate by `gamma` every step (`ExponentialLR`).
public final class ExponentialSchedule: LearningRateSchedule {
    let gamma: Double
    /// Decays by `gamma` every step.
    public init(_ optimizer: Optimizer, gamma: Double) {
        self.gamma = gamma
        super.init(optimizer)
    }
    override public func rate(at step: Int, baseRate: Double) -> Double { baseRate * pow(gamma, Double(step)) }
}

/// Cosine annealing from the base rate to `minimumRate` over `period` steps (`CosineAnnealingLR`, closed form):
/// `η_t = η_min + (η_0 − η_min)·(1 + cos(π·t / T)) / 2`.
public final class CosineSchedule: LearningRateSchedule {
    let period: Int, minimumRate: Double
    /// Anneals to `minimumRate` over `period` steps.
    public init(_ optimizer: Optimizer, period: Int, minimumRate: Double = 0) {
        require(period > 0, "CosineSchedule: period must be positive, got \(period)")
        (self.period, self.minimumRate) = (period, minimumRate)
        super.init(optimizer)
    }
    override public func rate(at step: Int, baseRate: Double) -> Double {
        let t = Double(min(step, period)) / Double(period)
        return minimumRate + (baseRate - minimumRate) * (1 + cos(Double.pi * t)) / 2
    }
}

/// Linear warm-up from `startFactor`·base to the base rate over `warmupSteps` steps (`LinearLR` with
/// `end_factor` 1, and its defaults: 5 steps from a third).
public final class LinearWarmupSchedule: LearningRateSchedule {
    let warmupSteps: Int, startFactor: Double
    /// Warms up over `warmupSteps` steps from `startFactor` times each base rate.
    public init(_ optimizer: Optimizer, warmupSteps: Int = 5, startFactor: Double = 1.0 / 3) {
        require(warmupSteps > 0, "LinearWarmupSchedule: warm-up steps must be positive, got \(warmupSteps)")
        (self.warmupSteps, self.startFactor) = (warmupSteps, startFactor)
        super.init(optimizer)
    }
    override public func rate(at step: Int, baseRate: Double) -> Double {
        baseRate * (startFactor + (1 - startFactor) * Double(min(step, warmupSteps)) / Double(warmupSteps))
    }
}

/// The one-cycle policy (`OneCycleLR`, cosine annealing, three-phase off): warm up from `maxRate / divFactor`
/// to `maxRate` over `pctStart` of `totalSteps`, then anneal to `maxRate / (divFactor · finalDivFactor)`,
/// for every group whatever its base rate. Step it once per batch.
public final class OneCycleSchedule: LearningRateSchedule {
    let maxRate: Double, totalSteps: Int, pctStart: Double, divFactor: Double, finalDivFactor: Double
    /// The one-cycle policy over `totalSteps` steps, with PyTorch's defaults.
    public init(_ optimizer: Optimizer, maxRate: Double, totalSteps: Int, pctStart: Double = 0.3,
                divFactor: Double = 25, finalDivFactor: Double = 1e4) {
        require(totalSteps > 1, "OneCycleSchedule: total steps must be more than 1, got \(totalSteps)")
        (self.maxRate, self.totalSteps, self.pctStart, self.divFactor, self.finalDivFactor) =
            (maxRate, totalSteps, pctStart, divFactor, finalDivFactor)
        super.init(optimizer)
    }
    override public func rate(at step: Int, baseRate: Double) -> Double {
        let initial = maxRate / divFactor, final = initial / finalDivFactor
        let peak = pctStart * Double(totalSteps) - 1
        let end = Double(totalSteps) - 1
        let t = Double(min(step, totalSteps - 1))
        func anneal(_ from: Double, _ to: Double, _ fraction: Double) -> Double { to + (from - to) * (1 + cos(Double.pi * fraction)) / 2 }
        return t <= peak ? anneal(initial, maxRate, t / peak) : anneal(maxRate, final, (t - peak) / (end - peak))
    }
}

/// Multiplies the rate by `factor` when a watched metric has not improved for `patience` epochs
/// (`ReduceLROnPlateau`, mode min, relative threshold). Call `step(metric:)` once per epoch.
public final class ReduceOnPlateauSchedule {
    /// The optimizer whose groups' rates the schedule writes.
    public let optimizer: Optimizer
    let factor: Double, patience: Int, threshold: Double, minimumRate: Double
    /// The best metric seen.
    public private(set) var best = Double.infinity
    /// Epochs since the best metric.
    public private(set) var badEpochs = 0

    /// Reduces by `factor` after `patience` epochs without a relative improvement of `threshold`.
    public init(_ optimizer: Optimizer, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4, minimumRate: Double = 0) {
        require(factor < 1, "ReduceOnPlateauSchedule: factor must be below 1, got \(factor)")
        (self.optimizer, self.factor, self.patience, self.threshold, self.minimumRate) = (optimizer, factor, patience, threshold, minimumRate)
    }

    /// Records one epoch's metric, and reduces every group's rate (not below `minimumRate`) after too many epochs without improvement.
    public func step(metric: Double) {
        if metric < best * (1 - threshold) {
            best = metric
            badEpochs = 0
            return
        }
        badEpochs += 1
        guard badEpochs > patience else { return }
        for i in optimizer.groups.indices {
            optimizer.groups[i].learningRate = max(optimizer.groups[i].learningRate * factor, minimumRate)
        }
        badEpochs = 0
    }
}
