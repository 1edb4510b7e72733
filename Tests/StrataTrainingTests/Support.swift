import Foundation
import Strata
import StrataTraining

/// A fresh path in the temporary directory.
func temporaryURL(_ name: String) -> URL {
    FileManager.default.temporaryDirectory.appendingPathComponent("strata-training-\(UUID().uuidString)-\(name)")
}

/// A state dict as raw bit patterns, so equality means bit-identical.
func bits(_ state: [String: Tensor]) -> [String: [UInt64]] {
    state.mapValues { t in
        switch t.dtype {
        case .float32: t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
        case .float64: t.scalars(as: Double.self).map(\.bitPattern)
        default: t.toDoubles().map(\.bitPattern)
        }
    }
}

/// The largest elementwise difference between two state dicts with the same keys and shapes.
func maxDifference(_ a: [String: Tensor], _ b: [String: Tensor]) -> Double {
    a.keys.map { key in
        guard let other = b[key], other.shape == a[key]!.shape else { return .infinity }
        return zip(a[key]!.toDoubles(), other.toDoubles()).map { abs($0 - $1) }.max() ?? 0
    }.max() ?? 0
}

/// `y = sin(2·x₀) + x₁² − x₀·x₂ + 0.05·ε` for `x ~ N(0, 1)³`, `ε ~ N(0, 1)`: inputs `[n, 3]`, targets `[n, 1]`,
/// drawn from a generator of its own (the global one is left alone).
func regressionData(_ n: Int, seed: UInt64) -> TensorDataset {
    var generator = RandomGenerator(seed: seed)
    var inputs: [Float] = [], targets: [Float] = []
    for _ in 0..<n {
        let x = (0..<3).map { _ in generator.nextNormal() }
        inputs += x.map { Float($0) }
        targets.append(Float(sin(2 * x[0]) + x[1] * x[1] - x[0] * x[2] + 0.05 * generator.nextNormal()))
    }
    return TensorDataset(inputs: Tensor(inputs, shape: [n, 3]), targets: Tensor(targets, shape: [n, 1]))
}

/// Records every callback event, as text, in order.
final class EventRecorder: TrainingCallback {
    var events: [String] = []
    func trainerDidRestore(_ trainer: Trainer) { events.append("restore \(trainer.state.epoch):\(trainer.state.batch)") }
    func epochWillStart(_ trainer: Trainer, epoch: Int, startBatch: Int) { events.append("start \(epoch):\(startBatch)") }
    func stepDidEnd(_ trainer: Trainer, _ progress: StepProgress) { events.append("step \(progress.globalStep)") }
    func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) { events.append("end \(record.epoch)") }
    func checkpointDidSave(_ trainer: Trainer, to url: URL) { events.append("saved \(url.lastPathComponent)") }
}

/// The mean squared error of a batch's outputs against its targets.
func mse(_ output: Tensor, _ batch: Batch) -> Tensor { Loss.mse(output, batch.targets) }
