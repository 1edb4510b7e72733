import ArgumentParser
import Foundation
import Strata
import StrataDistributed

/// `dlbench`: runs the standard workloads of shared/bench/WORKLOADS.md and prints one JSON object per line,
/// the fields of `reference_torch.py` with `"framework": "strata"` plus memory and workload-specific extras.
@main
struct DLBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlbench",
        abstract: "Times Strata on the standard workloads; prints one JSON line per workload and mode.",
        discussion: """
            Workloads: \(Registry.description). Run in release: swift run -c release dlbench.
            Under mpirun (mpirun -np 2 dlbench --threads 1 --only mlp,cnn), the model workloads' train steps run \
            data-parallel, each rank on its own batch, and rank 0 reports samples/s over all ranks and the \
            all-reduce's share of the step (make bench-distributed).
            """)

    @Option(help: "Threads for OpenBLAS and Strata's own loops (default: Strata.threads).")
    var threads: Int?

    @Option(help: "Comma-separated workloads; see the list above.")
    var only: String = Registry.defaultSelection

    @Option(help: "Timed steps per workload (gemm times max(3, steps/4), as reference_torch.py).")
    var steps: Int = Timing.defaultSteps

    @Option(help: "Warm-up steps before timing.")
    var warmup: Int = Timing.defaultWarmup

    @Option(help: "Also write the JSON lines to this file (overwritten).")
    var json: String?

    @Flag(help: "Print the OpenBLAS build (openblas_get_config), the thread count and the kernels' instruction-set level, then exit.")
    var info = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        guard steps >= 1 else { throw ValidationError("--steps must be at least 1, got \(steps)") }
        guard warmup >= 0 else { throw ValidationError("--warmup must be at least 0, got \(warmup)") }
        do { _ = try KernelISA.requested() } catch { throw ValidationError("\(error)") }
        let unknown = names.filter { Registry.workload(named: $0) == nil }
        guard unknown.isEmpty else {
            throw ValidationError("unknown workload(s) \(unknown.joined(separator: ", ")) in --only; known: \(Registry.description)")
        }
    }

    /// `--only` split into workload names, group names (`gemm`) expanded.
    var names: [String] {
        only.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .flatMap { Registry.groups[$0] ?? [$0] }
    }

    func run() throws {
        if let threads { Strata.threads = threads }
        if info {
            print("OpenBLAS: \(Strata.blasConfiguration)")
            print("Strata threads: \(Strata.threads)")
            let isa = Strata.instructionSet
            print("Strata kernels: \(isa) (\(isa.lanes) Float32 lanes; widest on this CPU: \(KernelISA.best); STRATA_ISA forces one)")
            return
        }
        let group = MPIProcessGroup.isLaunchedByMPI ? try MPIProcessGroup.start() : nil
        defer { group?.finish() }
        if let group, threads == nil { Strata.threads = group.threadsPerRank }
        let isPrimary = (group?.rank ?? 0) == 0
        let timing = Timing(warmup: warmup, steps: steps)
        var sink = try ReportSink(path: isPrimary ? json : nil)
        for name in names {
            for record in measure(Registry.workload(named: name)!, timing: timing, threads: Strata.threads, group: group)
            where isPrimary {
                sink.emit(record)
            }
        }
    }
}
