import Foundation
import DLTrainKit
import Strata
import StrataDistributed
import StrataTraining

// Run by DLTrainTests under `mpirun -np 2`: `DistributedHarness collectives` exercises the collectives
// (all-reduce, gradient buckets, broadcast) and prints one JSON line per check and rank;
// `DistributedHarness nan-on-rank RANK CHECKPOINT` trains until rank RANK's loss turns NaN in epoch 2.
// The tests read the lines and decide; this program only measures.

/// Integer-valued patterns, so every sum below is exact in every dtype.
func pattern(_ i: Int, rank: Int) -> Double { Double((i * 7 + rank * 13) % 101 - 50) }

/// Multiplies its input by NaN on one rank from a given call on.
final class NaNOnRank: Layer {
    let isPoisoned: Bool, fromCall: Int
    var calls = 0
    init(isPoisoned: Bool, fromCall: Int) { (self.isPoisoned, self.fromCall) = (isPoisoned, fromCall) }
    func callAsFunction(_ x: Tensor) -> Tensor {
        calls += 1
        return isPoisoned && calls >= fromCall ? x * Double.nan : x
    }
}

struct Harness {
    let group: MPIProcessGroup

    func report(_ fields: [String: Any]) {
        var line = fields
        line["rank"] = group.rank
        let data = try! JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    func checkAllReduce() {
        for dtype in [DType.float32, .float64, .int64] {
            for count in [1, 2, 3, 7, 17, 1023, 65_537, 1_000_003] {
                let mine = (0..<count).map { pattern($0, rank: group.rank) }
                let summed: [Double]
                switch dtype {
                case .float32:
                    var buffer = mine.map { Float($0) }
                    buffer.withUnsafeMutableBytes { group.allReduceSum($0, dtype: dtype) }
                    summed = buffer.map { Double($0) }
                case .int64:
                    var buffer = mine.map { Int64($0) }
                    buffer.withUnsafeMutableBytes { group.allReduceSum($0, dtype: dtype) }
                    summed = buffer.map { Double($0) }
                default:
                    var buffer = mine
                    group.allReduceSum(&buffer)
                    summed = buffer
                }
                let expected = (0..<count).map { i in (0..<group.size).reduce(0) { $0 + pattern(i, rank: $1) } }
                let error = zip(summed, expected).map { abs($0 - $1) }.max() ?? 0
                report(["check": "allreduce", "dtype": dtype.rawValue, "count": count, "max_error": error])
            }
        }
    }

    func checkGradientBuckets() {
        // Odd shapes, float32 and float64 mixed, and 64-byte buckets, so parameters span several buckets.
        let shapes = [[3], [5, 7], [1], [1000, 3], [2, 2, 2]]
        let dtypes: [DType] = [.float32, .float32, .float64, .float32, .float64]
        let parameters = zip(shapes, dtypes).map { Tensor.zeros($0, dtype: $1) }
        let buckets = GradientBuckets(parameters, group: group, bucketBytes: 64)
        // Parameter 2 has no gradient on rank 1: it contributes zeros there.
        func contributes(_ index: Int, _ rank: Int) -> Bool { !(index == 2 && rank == 1) }
        for (index, p) in parameters.enumerated() where contributes(index, group.rank) {
            p.grad = Tensor((0..<p.count).map { pattern($0 + index, rank: group.rank) }, shape: p.shape).to(p.dtype)
        }
        buckets.average()
        var error = 0.0
        for (index, p) in parameters.enumerated() {
            let expected = (0..<p.count).map { i in
                (0..<group.size).reduce(0.0) { $0 + (contributes(index, $1) ? pattern(i + index, rank: $1) : 0) } / Double(group.size)
            }
            error = max(error, zip(p.grad!.toDoubles(), expected).map { abs($0 - $1) }.max() ?? 0)
        }
        report(["check": "gradient-buckets", "buckets": buckets.bucketSizes.count, "max_error": error])
    }

    func checkBroadcast() {
        func makeModel(seed: UInt64) -> Sequential {
            Strata.seed(seed)
            return Sequential { Linear(5, 3); ReLU(); Linear(3, 2) }
        }
        let model = makeModel(seed: UInt64(100 + group.rank))
        broadcastState(of: model, from: 0, in: group)
        let mine = model.stateDict(), root = makeModel(seed: 100).stateDict()
        let error = mine.keys.map { key in zip(mine[key]!.toDoubles(), root[key]!.toDoubles()).map { abs($0 - $1) }.max() ?? 0 }.max() ?? 0
        report(["check": "broadcast", "max_error": error])
    }

    func nanOnRank(_ badRank: Int, checkpoint: URL) {
        var configuration = TrainingConfiguration()
        (configuration.epochs, configuration.batchSize, configuration.limit, configuration.logEvery) = (3, 32, 640, 0)
        // 10 steps per epoch and rank: the poison arrives at step 15, in epoch 2, after epoch 1's checkpoint.
        let model = Sequential { Flatten(); Linear(784, 10); NaNOnRank(isPoisoned: group.rank == badRank, fromCall: 15) }
        do {
            let run = try TrainingRun(configuration: configuration, train: MNIST(directory: EmbeddedData.mnistDirectory, split: .train),
                                      test: nil, model: model, processGroup: group)
            run.trainer.callbacks.append(ModelCheckpoint(url: checkpoint))
            try run.trainer.fit()
            report(["scenario": "nan-on-rank", "error": "none"])
        } catch {
            report(["scenario": "nan-on-rank", "error": "\(error)"])
        }
    }
}

let harness = Harness(group: try MPIProcessGroup.start())
Strata.threads = 1
let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "collectives":
    harness.checkAllReduce()
    harness.checkGradientBuckets()
    harness.checkBroadcast()
case "nan-on-rank" where arguments.count == 3:
    harness.nanOnRank(Int(arguments[1]) ?? 1, checkpoint: URL(fileURLWithPath: arguments[2]))
default:
    FileHandle.standardError.write(Data("usage: DistributedHarness collectives | nan-on-rank RANK CHECKPOINT\n".utf8))
    harness.group.abortAll(code: 64)
}
harness.group.finish()
