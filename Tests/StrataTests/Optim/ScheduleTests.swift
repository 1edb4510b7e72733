import Foundation
import Strata
import Testing

@Suite struct ScheduleTests {
    private func optimizer(_ rate: Double = 1) -> SGD { SGD([Tensor.zeros([1])], learningRate: rate) }

    private func rates(_ schedule: LearningRateSchedule, steps: Int) -> [Double] {
        (0..<steps).map { _ in schedule.step(); return schedule.optimizer.learningRate }
    }

    @Test func stepAndMultiStep() {
        #expect(rates(StepSchedule(optimizer(), stepSize: 2, gamma: 0.5), steps: 5) == [1, 0.5, 0.5, 0.25, 0.25])
        let multi = rates(MultiStepSchedule(optimizer(), milestones: [3, 1], gamma: 0.1), steps: 4)
        expectClose(Tensor(multi), [0.1, 0.1, 0.01, 0.01], atol: 1e-15)
    }

    @Test func exponentialAndCosine() {
        expectClose(Tensor(rates(ExponentialSchedule(optimizer(), gamma: 0.5), steps: 3)), [0.5, 0.25, 0.125])
        // η_t = (1 + cos(π t / 4)) / 2 for t = 1…4: 0.853553, 0.5, 0.146447, 0.
        expectClose(Tensor(rates(CosineSchedule(optimizer(), period: 4), steps: 4)), [0.8535533905932737, 0.5, 0.14644660940672627, 0], atol: 1e-12)
    }

    @Test func linearWarmupStartsLowAndReachesTheBase() {
        let schedule = LinearWarmupSchedule(optimizer(0.3), warmupSteps: 3, startFactor: 0.1)
        #expect(abs(schedule.optimizer.learningRate - 0.03) < 1e-12)
        expectClose(Tensor(rates(schedule, steps: 4)), [0.12, 0.21, 0.3, 0.3], atol: 1e-12)
    }

    @Test func oneCyclePeaksAtPctStartAndEndsNearZero() {
        let schedule = OneCycleSchedule(optimizer(), maxRate: 1, totalSteps: 11, pctStart: 0.5)
        #expect(abs(schedule.optimizer.learningRate - 1.0 / 25) < 1e-12)  // initial = max / div
        let all = rates(schedule, steps: 10)
        // The warm-up phase ends at t = pct·total − 1 = 4.5: t = 4 gives 0.971, t = 5 (index 4) gives 0.980.
        #expect(all.firstIndex(of: all.max()!) == 4)
        #expect(abs(all.last! - 1.0 / 25 / 1e4) < 1e-12)
    }

    @Test func reduceOnPlateauWaitsForPatience() {
        let sgd = optimizer()
        let schedule = ReduceOnPlateauSchedule(sgd, factor: 0.5, patience: 1)
        for metric in [1.0, 0.9, 0.95, 0.95] { schedule.step(metric: metric) }
        #expect(sgd.learningRate == 0.5)
    }

    @Test func perGroupRatesScaleIndependently() {
        let sgd = SGD(groups: [ParameterGroup([Tensor.zeros([1])], learningRate: 1), ParameterGroup([Tensor.zeros([1])], learningRate: 0.1)])
        StepSchedule(sgd, stepSize: 1, gamma: 0.5).step()
        #expect(sgd.groups.map(\.learningRate) == [0.5, 0.05])
    }
}
