import Foundation
import Testing

/// `dlbench` runs every workload for one step and prints well-formed report lines. Timing is never asserted.
@Suite struct DLBenchSmokeTests {
    static let binary = BuiltExecutable.url("dlbench")

    private func lines(_ output: ProcessOutput, sourceLocation: SourceLocation = #_sourceLocation) -> [[String: Any]] {
        #expect(output.status == 0, "\(output.stderr)", sourceLocation: sourceLocation)
        return output.stdout.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test func everyWorkloadReportsOneLinePerMode() throws {
        let binary = try #require(Self.binary, "dlbench was not built")
        let output = finish(try startProcess(binary, ["--only", "gemm128,add,mlp,cnn,cifar,lstm,transformer,tiny",
                                                      "--steps", "1", "--warmup", "0", "--threads", "1"]))
        let reports = lines(output)
        let expected = ["gemm128/infer", "add/infer", "tiny/train"]
            + ["mlp", "cnn", "cifar", "lstm", "transformer"].flatMap { ["\($0)/train", "\($0)/infer"] }
        #expect(reports.map { "\($0["workload"] ?? "")/\($0["mode"] ?? "")" }.sorted() == expected.sorted())
        for report in reports {
            #expect(report["framework"] as? String == "strata" && report["threads"] as? Int == 1)
            for field in ["batch", "step_ms", "samples_per_s", "gflops", "allocs_per_step"] {
                #expect(report[field] is NSNumber, "\(field) missing in \(report)")
            }
            #expect((report["samples_per_s"] as? Double ?? 0) > 0)
        }
        #expect(reports.first { $0["workload"] as? String == "tiny" }?["us_per_op"] is NSNumber)
        #expect(reports.first { $0["workload"] as? String == "gemm128" }?["raw_cblas_ratio"] is NSNumber)
    }

    @Test(.enabled(if: MPIRun.launcher != nil, Comment(rawValue: MPIRun.missing)))
    func underMPIRankZeroReportsTheDataParallelTrainStep() throws {
        let output = try MPIRun.run(try #require(Self.binary, "dlbench was not built"),
                                    ["--only", "mlp", "--steps", "1", "--warmup", "0", "--threads", "1"])
        let reports = lines(output)
        #expect(reports.count == 1, "\(output.stdout)")
        #expect(reports.first?["mode"] as? String == "train" && reports.first?["ranks"] as? Int == 2)
        #expect(reports.first?["allreduce_share"] is NSNumber)
    }
}
