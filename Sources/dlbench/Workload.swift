import Foundation
import Strata

/// One standard workload: its inputs are built when it is made, and each of its steps (train, infer)
/// is timed and reported as one JSON line.
struct Workload {
    /// The name `--only` selects and the `workload` field reports, e.g. `gemm1024`.
    let name: String
    /// Samples per step: the `batch` field, and the numerator of `samples_per_s`.
    let batch: Int
    let steps: [Step]
}

/// One timed step of a workload.
struct Step {
    enum Mode: String { case train, infer }

    let mode: Mode
    /// Floating-point operations per step, counted as `reference_torch.py` counts them (`gflops` field).
    let flops: Double
    /// How many steps to time, given `--steps`: all of them unless a workload times fewer (gemm).
    var timedSteps: (Int) -> Int = { $0 }
    /// Run once before the warm-up (e.g. `model.train()` / `model.eval()`), untimed.
    var setUp: () -> Void = {}
    /// One step.
    let run: () -> Void
    /// A reference implementation of the same step, timed interleaved with `run` so that both see the same
    /// machine load; reported as `"<name>_ratio": run time / baseline time`.
    var baseline: (name: String, run: () -> Void)? = nil
    /// A setting the baseline runs under (raw cblas on OpenBLAS's own threads), entered and left untimed. Such a
    /// baseline is timed in alternating blocks, with a pause after each block for that setting's or Strata's idle
    /// threads to go to sleep, not call by call: a call timed right after a switch would share the cores with
    /// the other side's still-spinning threads.
    var baselineSetting: (enter: () -> Void, leave: () -> Void)? = nil
    /// Workload-specific fields computed from the median step time in seconds (e.g. `gb_per_s`).
    var extras: (Double) -> [(String, JSONValue)] = { _ in [] }
    /// A train step's gradient averaging, run between backward and the optimizer step (data-parallel mode).
    var gradientSync: GradientSync? = nil
}

/// What a train step does between backward and the optimizer step: nothing in one process; under mpirun,
/// `GradientBuckets.average()` over the ranks, timed so the report can give the all-reduce's share of a step.
final class GradientSync {
    let parameters: [Tensor]
    private var buckets: GradientBuckets?
    /// Seconds spent averaging since the last `resetClock()`.
    private(set) var seconds = 0.0

    init(_ parameters: [Tensor]) { self.parameters = parameters }

    /// Averages over `group` from now on.
    func attach(to group: any ProcessGroup) { buckets = GradientBuckets(parameters, group: group) }

    func resetClock() { seconds = 0 }

    func run() {
        guard let buckets else { return }
        seconds += Timing.seconds { buckets.average() }
    }
}

/// What one step's timing found.
struct Measurement {
    /// Median step time, in seconds.
    var seconds: Double
    /// Median baseline time, in seconds, when the step has a baseline.
    var baselineSeconds: Double?
    /// Buffers the pool had to `malloc` during the timed steps, per step.
    var allocationsPerStep: Double
    /// The fraction of the timed steps' total time spent in `gradientSync`, when the step has one.
    var syncShare: Double?
}

extension Timing {
    /// Times `step` (and its baseline, interleaved call by call in alternating order, or in alternating blocks
    /// when it has a `baselineSetting`) after the warm-up.
    func measure(_ step: Step) -> Measurement {
        let count = step.timedSteps(steps)
        step.setUp()
        var times: [Double] = [], baselineTimes: [Double] = []
        var allocations = 0
        func timeRun() {
            let before = Strata.memoryStatistics.allocations
            times.append(Self.seconds(step.run))
            allocations += Strata.memoryStatistics.allocations - before
        }
        if let baseline = step.baseline, let setting = step.baselineSetting {
            // Blocks: Strata, baseline, baseline, Strata; each with one untimed call first.
            let idle = { Thread.sleep(forTimeInterval: 0.3) }   // past OpenBLAS's 2^28-cycle spin, and the pool's
            for _ in 0..<warmup { step.run() }
            for block in 0..<4 {
                if block == 1 || block == 2 {
                    setting.enter()
                    baseline.run()
                    for _ in 0..<(count + 1) / 2 { baselineTimes.append(Self.seconds(baseline.run)) }
                    setting.leave()
                } else {
                    step.run()
                    for _ in 0..<(count + 1) / 2 { timeRun() }
                }
                idle()
            }
            return Measurement(seconds: Self.median(times), baselineSeconds: Self.median(baselineTimes),
                               allocationsPerStep: Double(allocations) / Double(times.count), syncShare: nil)
        }
        for _ in 0..<warmup {
            step.run()
            step.baseline?.run()
        }
        step.gradientSync?.resetClock()
        for i in 0..<count {
            // Alternate which of the pair goes first: on a loaded machine the first call after a pause
            // pays for waking a worker thread, and that cost must not always land on one side.
            let baselineFirst = i % 2 == 1
            if baselineFirst, let baseline = step.baseline { baselineTimes.append(Self.seconds(baseline.run)) }
            timeRun()
            if !baselineFirst, let baseline = step.baseline { baselineTimes.append(Self.seconds(baseline.run)) }
        }
        return Measurement(seconds: Self.median(times),
                           baselineSeconds: baselineTimes.isEmpty ? nil : Self.median(baselineTimes),
                           allocationsPerStep: Double(allocations) / Double(count),
                           syncShare: step.gradientSync.map { $0.seconds / times.reduce(0, +) })
    }
}

/// Builds the workload, times each of its steps and returns one report line per step.
///
/// With a `group` (dlbench under mpirun), only the train steps run, data-parallel: every rank trains on its own
/// batch of `workload.batch` samples and averages gradients over the group, so a step processes `ranks × batch`
/// samples; the lines add `ranks` and `allreduce_share`.
func measure(_ make: () -> Workload, timing: Timing, threads: Int, group: (any ProcessGroup)? = nil) -> [Record] {
    // Start each workload from an empty pool and a fresh high-water mark, so its peak RSS is its own.
    Strata.releaseCachedMemory()
    resetPeakResident()
    Strata.seed(0)
    let workload = make()
    let ranks = group?.size ?? 1
    let steps = group == nil ? workload.steps : workload.steps.filter { $0.gradientSync != nil }
    return steps.map { step in
        if let group { step.gradientSync?.attach(to: group) }
        let m = timing.measure(step)
        var record = Record()
        record.append("workload", .string(workload.name))
        record.append("framework", .string("strata"))
        record.append("threads", .int(threads))
        record.append("batch", .int(workload.batch))
        record.append("mode", .string(step.mode.rawValue))
        if group != nil { record.append("ranks", .int(ranks)) }
        record.append("step_ms", .double(rounded(m.seconds * 1e3, 3)))
        record.append("samples_per_s", .double(rounded(Double(ranks * workload.batch) / m.seconds, 1)))
        record.append("gflops", .double(rounded(Double(ranks) * step.flops / m.seconds / 1e9, 2)))
        if group != nil, let share = m.syncShare { record.append("allreduce_share", .double(rounded(share, 4))) }
        if let peak = peakResidentMegabytes() { record.append("peak_rss_mb", .double(rounded(peak, 1))) }
        record.append("allocs_per_step", .double(rounded(m.allocationsPerStep, 2)))
        if let baseline = step.baseline, let seconds = m.baselineSeconds {
            record.append("\(baseline.name)_ratio", .double(rounded(m.seconds / seconds, 3)))
        }
        for (key, value) in step.extras(m.seconds) { record.append(key, value) }
        return record
    }
}
