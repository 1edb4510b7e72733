import Foundation
import DLTrainKit
import Strata
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `mpirun -np 2` on this machine, over loopback and shared memory.
enum MPIRun {
    static let launcher: URL? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    static let missing = "mpirun is not installed (make setup installs openmpi-bin): the 2-rank tests are skipped"

    /// Root is allowed (CI runs as root); oversubscription and no core binding let two jobs share the cores.
    static func start(_ executable: URL, _ arguments: [String], ranks: Int = 2) throws -> Process {
        try startProcess(try #require(launcher, "\(missing)"),
                         ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", String(ranks), executable.path] + arguments)
    }

    static func run(_ executable: URL, _ arguments: [String], ranks: Int = 2) throws -> ProcessOutput {
        finish(try start(executable, arguments, ranks: ranks))
    }

    static func dltrain(_ arguments: [String]) throws -> ProcessOutput {
        try run(try #require(DLTrain.binary, "dltrain was not built"), arguments)
    }

    static var harness: URL { get throws { try #require(BuiltExecutable.url("DistributedHarness"), "DistributedHarness was not built") } }
}

/// The JSON objects of `text`'s lines that parse as one.
private func jsonLines(_ text: String) -> [[String: Any]] {
    text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
}

/// The children of process `pid` whose command name is `name` (mpirun starts its local ranks itself).
private func children(of pid: Int32, named name: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { child in
        guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
              let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return stat[stat.index(after: open)..<close] == name && fields.count > 2 && Int32(fields[1]) == pid
    }
}

/// Whether process `pid` exists and has not exited (a zombie waiting for its parent counts as exited).
private func isRunning(_ pid: Int32) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return false }
    let state = stat[stat.index(after: close)...].split(separator: " ").first
    return state != "Z" && state != "X"
}

@Suite(.serialized, .enabled(if: MPIRun.launcher != nil, Comment(rawValue: MPIRun.missing)))
struct DistributedTrainingTests {
    @Test func allReduceBucketsAndBroadcastAreExactOnOddSizes() throws {
        let result = try MPIRun.run(try MPIRun.harness, ["collectives"])
        #expect(result.status == 0, "\(result.stderr)")
        let lines = jsonLines(result.stdout)
        // Per rank: 3 dtypes × 8 sizes of all-reduce, the gradient buckets and the broadcast.
        #expect(lines.count == 2 * (24 + 2), "\(result.stdout)")
        for rank in 0..<2 {
            let mine = lines.filter { $0["rank"] as? Int == rank }
            let sizes = Set(mine.compactMap { $0["check"] as? String == "allreduce" ? $0["count"] as? Int : nil })
            #expect(sizes == [1, 2, 3, 7, 17, 1023, 65_537, 1_000_003])
        }
        for line in lines { #expect(line["max_error"] as? Double == 0, "\(line)") }
        let buckets = lines.first { $0["check"] as? String == "gradient-buckets" }
        #expect((buckets?["buckets"] as? Int ?? 0) > 2, "64-byte buckets split the 5 parameters")
    }

    @Test func twoRanksWithBatchBMatchOneProcessWithBatch2BAfter20Steps() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (single, pair) = (directory.appendingPathComponent("one.safetensors"), directory.appendingPathComponent("two.safetensors"))
        // 640 examples: 20 steps of 32 in one process, 20 steps of 2 × 16 over two ranks, the same examples in each step.
        let common = ["train", "--limit", "640", "--epochs", "1", "--threads", "1", "--log-every", "0"]
        let one = try DLTrain.run(common + ["--batch-size", "32", "--checkpoint", single.path])
        let two = try MPIRun.dltrain(common + ["--batch-size", "16", "--checkpoint", pair.path])
        #expect(one.status == 0 && two.status == 0, "\(one.stderr) \(two.stderr)")
        let (a, b) = (try DLTrainCheckpoint.read(from: single), try DLTrainCheckpoint.read(from: pair))
        #expect(a.state.globalStep == 20 && b.state.globalStep == 20 && b.state.worldSize == 2)
        // Float32 sums in another order (each rank's gemm sums 16 rows, then the ranks are averaged) differ in the
        // last bits each step; momentum carries that on. Measured: at most 2.2e-8 on weights of magnitude ~0.05.
        for (name, tensor) in a.modelState {
            let other = try #require(b.modelState[name])
            let difference = zip(tensor.toDoubles(), other.toDoubles()).map { abs($0 - $1) }.max() ?? .infinity
            #expect(difference <= 1e-6, "\(name) differs by \(difference)")
        }
        // Rank 0 alone prints: one header, one test line.
        #expect(two.stdout.components(separatedBy: "dltrain: mlp on mnist").count == 2)
        #expect(two.stdout.components(separatedBy: "test: loss").count == 2 && two.stdout.contains("2 ranks"))
    }

    @Test func checkpointsMoveBetweenDistributedAndSingleProcessRuns() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (fromTwo, fromOne) = (directory.appendingPathComponent("two.safetensors"), directory.appendingPathComponent("one.safetensors"))
        let common = ["--threads", "1", "--log-every", "0"]
        let first = try MPIRun.dltrain(["train", "--limit", "1280", "--epochs", "1", "--checkpoint", fromTwo.path] + common)
        #expect(first.status == 0, "\(first.stderr)")
        let saved = try DLTrainCheckpoint.read(from: fromTwo)
        // Two ranks wrote it; one process continues it.
        let resumed = try DLTrain.run(["train", "--resume", fromTwo.path, "--epochs", "2", "--checkpoint", fromOne.path] + common)
        #expect(resumed.status == 0 && resumed.stdout.contains("epoch 2/2:"), "\(resumed.stderr)")
        let continued = try DLTrainCheckpoint.read(from: fromOne)
        #expect(continued.state.epoch == 2 && continued.state.worldSize == 1)
        #expect(continued.modelState["1.weight"]!.toDoubles() != saved.modelState["1.weight"]!.toDoubles())
        // And back: two ranks continue the single process's checkpoint.
        let back = try MPIRun.dltrain(["train", "--resume", fromOne.path, "--epochs", "3", "--checkpoint", fromTwo.path] + common)
        #expect(back.status == 0 && back.stdout.contains("epoch 3/3:"), "\(back.stderr)")
        #expect(try DLTrainCheckpoint.read(from: fromTwo).state.epoch == 3)
    }

    @Test func aNaNOnOneRankStopsEveryRankAtTheSameStepAndKeepsTheCheckpoint() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("nan.safetensors")
        let result = try MPIRun.run(try MPIRun.harness, ["nan-on-rank", "1", checkpoint.path])
        #expect(result.status == 0, "\(result.stderr)")
        let reports = jsonLines(result.stdout)
        #expect(reports.count == 2)
        for report in reports {
            let error = report["error"] as? String ?? ""
            #expect(error.contains("on rank 1 at step 15") && error.contains("nan"), "\(report)")
        }
        // Epoch 1's checkpoint is the last good one.
        #expect(try DLTrainCheckpoint.read(from: checkpoint).state.epoch == 1)

        // Through dltrain: a diverging run stops on every rank, and one line says why.
        let diverged = try MPIRun.dltrain(["train", "--limit", "640", "--batch-size", "16", "--epochs", "1", "--lr", "1e30",
                                           "--threads", "1", "--log-every", "0"])
        #expect(diverged.status != 0)
        let lines = diverged.stderrLines.filter { $0.hasPrefix("dltrain:") }
        #expect(lines.count == 1 && lines.first?.contains("loss became") == true, "\(diverged.stderr)")
    }

    @Test func killingOneRankStopsTheOtherWithinSecondsAndTheCheckpointLoads() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let checkpoint = directory.appendingPathComponent("killed.safetensors")
        let job = try MPIRun.start(try #require(DLTrain.binary), ["train", "--limit", "1000", "--epochs", "500", "--threads", "1",
                                                                 "--log-every", "0", "--checkpoint", checkpoint.path])
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: checkpoint.path) && Date() < deadline && job.isRunning { usleep(5000) }
        #expect(FileManager.default.fileExists(atPath: checkpoint.path))
        let ranks = children(of: job.processIdentifier, named: "dltrain")
        #expect(ranks.count == 2)
        let victim = try #require(ranks.max())
        kill(victim, SIGKILL)
        let killed = Date()
        let output = finish(job)
        let seconds = Date().timeIntervalSince(killed)
        #expect(output.status != 0 && seconds < 10, "mpirun took \(seconds) s to stop after a rank died: \(output.stderr)")
        for rank in ranks { #expect(!isRunning(rank), "rank \(rank) still runs") }
        // The last checkpoint rank 0 wrote is whole: it loads, and a single process resumes it.
        let saved = try DLTrainCheckpoint.read(from: checkpoint)
        #expect(saved.state.epoch >= 1 && saved.state.worldSize == 2)
        let resumed = try DLTrain.run(["train", "--resume", checkpoint.path, "--epochs", String(saved.state.epoch + 1),
                                       "--threads", "1", "--log-every", "0"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
    }
}
