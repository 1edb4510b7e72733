import DLTrainKit
import Foundation
import Strata
import StrataTraining
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The classes of hostile input the fuzz harness (Tests/StrataFuzz) found crashing dltrain or silently accepted,
/// through the built binary: each exits 1 with one `dltrain: error:` line naming the file and the bad entry. The
/// library-level tests of the same classes are in DLTrainKitTests (HostileCheckpointTests, PNMTests), StrataTests
/// (StateDictValueTests, OptimizerStateValidationTests, MNISTFileTests) and Tests/FuzzRegressions (the kept cases,
/// replayed by `make fuzz`).
@Suite(.serialized) struct HostileInputCLITests {
    static let spec = #"{"nodes":[{"op":"avgpool2d","kernel_size":7},{"op":"flatten"},{"name":"fc1","op":"linear","in_features":16,"out_features":8},{"name":"bn","op":"batchnorm1d","num_features":8},{"op":"relu"},{"name":"fc2","op":"linear","in_features":8,"out_features":10}]}"#

    /// A checkpoint dltrain wrote after one epoch of a small model with a BatchNorm and Adam, as tensors and metadata.
    static let original: (tensors: [String: Tensor], metadata: [String: String])? = {
        guard let directory = try? temporaryDirectory() else { return nil }
        defer { try? FileManager.default.removeItem(at: directory) }
        let spec = directory.appendingPathComponent("spec.json"), checkpoint = directory.appendingPathComponent("ck.safetensors")
        guard (try? Data(HostileInputCLITests.spec.utf8).write(to: spec)) != nil,
              let result = try? DLTrain.run(["train", "--model-file", spec.path, "--limit", "64", "--epochs", "2", "--batch-size", "16",
                                             "--optimizer", "adam", "--log-every", "0", "--threads", "1", "--checkpoint", checkpoint.path]),
              result.status == 0, let file = try? SafetensorsFile.read(from: checkpoint) else { return nil }
        return (file.tensors, file.metadata)
    }()

    /// Runs `commands` (with `PATH` standing for the edited checkpoint) and expects each to exit 1 with one line
    /// naming the file and `named`.
    func expectRefused(named: String, _ edit: (inout [String: Tensor], inout [String: String]) -> Void,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        var (tensors, metadata) = try #require(Self.original, "the base checkpoint was not written", sourceLocation: sourceLocation)
        edit(&tensors, &metadata)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("hostile.safetensors")
        try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: url)
        for command in [["eval", "--checkpoint", url.path, "--limit", "20", "--threads", "1"],
                        ["predict", "--checkpoint", url.path, "--index", "0", "--threads", "1"],
                        ["train", "--resume", url.path, "--threads", "1", "--log-every", "0"]] {
            let result = try DLTrain.run(command)
            #expect(result.status == 1, "\(command[0]) \(named): exit \(result.status) \(result.stderr)", sourceLocation: sourceLocation)
            #expect(result.stderrLines.count == 1 && result.stderr.hasPrefix("dltrain: error:"), "\(command[0]): \(result.stderr)",
                    sourceLocation: sourceLocation)
            #expect(result.stderr.contains(url.path) && result.stderr.contains(named), "\(command[0]): \(result.stderr)",
                    sourceLocation: sourceLocation)
        }
    }

    @Test func theUneditedCheckpointEvaluatesPredictsAndResumes() throws {
        let (tensors, metadata) = try #require(Self.original)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("ck.safetensors")
        try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: url)
        for command in [["eval", "--checkpoint", url.path, "--limit", "20"], ["predict", "--checkpoint", url.path, "--index", "0"]] {
            let result = try DLTrain.run(command)
            #expect(result.status == 0, "\(command[0]): \(result.stderr)")
        }
    }

    @Test func countsNearIntMaxAreRefused() throws {
        for key in ["strata.epoch", "strata.global_step", "strata.seen"] {
            try expectRefused(named: key) { _, meta in meta[key] = "9223372036854775807" }
        }
    }

    @Test func aNaNOr1e300BatchNormCountIsRefused() throws {
        try expectRefused(named: "bn.num_batches_tracked") { tensors, _ in tensors["bn.num_batches_tracked"] = Tensor([Double.nan], shape: []) }
        try expectRefused(named: "bn.num_batches_tracked") { tensors, _ in
            tensors["bn.num_batches_tracked"] = Tensor([1e300], shape: []).to(.float64)
        }
    }

    @Test func aNaNOr1e300OptimizerStepIsRefused() throws {
        let key = Checkpoint.optimizerPrefix + "state.0.step"
        try expectRefused(named: "state.0.step") { tensors, _ in tensors[key] = Tensor([Double.nan], shape: []) }
        try expectRefused(named: "state.0.step") { tensors, _ in tensors[key] = Tensor([1e300], shape: []).to(.float64) }
        try expectRefused(named: "state.0.step") { tensors, _ in tensors[key] = Tensor([Int64(1), 2], shape: [2]) }
    }

    @Test func nonFiniteWeightsAreRefusedNamingTheTensor() throws {
        try expectRefused(named: "fc2.weight") { tensors, _ in
            var values = tensors["fc2.weight"]!.toDoubles()
            values[0] = .nan
            tensors["fc2.weight"] = Tensor(values, shape: tensors["fc2.weight"]!.shape)
        }
    }

    @Test func anInputShapeThatDoesNotFitIsRefused() throws {
        for shape in ["28,28,1", "1,5,5", "1,9223372036854775807,28"] {
            try expectRefused(named: "strata.input_shape") { _, meta in meta["strata.input_shape"] = shape }
        }
    }

    @Test func aPGMClaimingHugeDimensionsIsRefusedNotAllocated() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (tensors, metadata) = try #require(Self.original)
        let checkpoint = directory.appendingPathComponent("ck.safetensors"), image = directory.appendingPathComponent("huge.pgm")
        try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: checkpoint)
        try Data(Array("P5 16777216 16777216 255\n".utf8) + [0, 0]).write(to: image)
        let result = try DLTrain.run(["predict", "--checkpoint", checkpoint.path, image.path])
        #expect(result.status == 1 && result.stderrLines.count == 1 && result.stderr.contains(image.path), "\(result.stderr)")
    }

    @Test func anIDXCountAboveTheMemoryBudgetIsRefusedNamingTheFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let mnist = EmbeddedData.mnistDirectory
        for name in try FileManager.default.contentsOfDirectory(atPath: mnist.path) {
            try FileManager.default.copyItem(at: mnist.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        // 4e9 labels declared over a few hundred gzipped bytes: more than a 64 MiB budget, refused before reading.
        let labels = try FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasPrefix("train-labels") }!
        let header: [UInt8] = [0, 0, 8, 1] + withUnsafeBytes(of: UInt32(4_000_000_000).bigEndian) { Array($0) }
        let bytes = header + [UInt8](repeating: 3, count: 100)
        try (labels.hasSuffix(".gz") ? Gzip.compress(bytes) : Data(bytes)).write(to: directory.appendingPathComponent(labels))
        let result = try DLTrain.run(["train", "--data", directory.path, "--epochs", "1", "--limit", "10"],
                                     environment: ["STRATA_MEMORY_BUDGET": "64M"])
        #expect(result.status == 1 && result.stderrLines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(labels) && result.stderr.contains("memory budget"), "\(result.stderr)")
    }

    /// A checkpoint whose tensors need more than the memory budget (a sparse file: its size is real, its disk
    /// use is not) is refused before anything is allocated, by eval, predict and resume alike.
    @Test func aCheckpointBeyondTheMemoryBudgetIsRefusedNamingTheFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("huge.safetensors")
        let count = 128 << 20
        let header = Array(#"{"big":{"dtype":"BOOL","shape":[\#(count)],"data_offsets":[0,\#(count)]}}"#.utf8)
        try Data(withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header).write(to: url)
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(8 + header.count + count))
        try handle.close()
        for command in [["eval", "--checkpoint", url.path], ["predict", "--checkpoint", url.path, "--index", "0"],
                        ["train", "--resume", url.path]] {
            let result = try DLTrain.run(command + ["--threads", "1"], environment: ["STRATA_MEMORY_BUDGET": "64M"])
            #expect(result.status == 1 && result.stderrLines.count == 1, "\(command[0]): \(result.stderr)")
            #expect(result.stderr.contains("\(url.path): the tensors' data: needs 128.0 MiB, more than the memory budget of 64.0 MiB"),
                    "\(command[0]): \(result.stderr)")
        }
    }

    /// Disk full during a checkpoint write: a tmpfs that holds one checkpoint but not a second beside it (the atomic
    /// write's temporary file). The run stops with one line naming the file; the previous checkpoint is intact and
    /// loadable, and no temporary file is left.
    @Test func aFullDiskLeavesThePreviousCheckpointIntactAndNoTemporaryFile() throws {
        let (tensors, metadata) = try #require(Self.original)
        let work = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: work) }
        let mountPoint = work.appendingPathComponent("small")
        try FileManager.default.createDirectory(at: mountPoint, withIntermediateDirectories: true)
        let probe = work.appendingPathComponent("probe.safetensors")
        try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: probe)
        let size = try #require(try FileManager.default.attributesOfItem(atPath: probe.path)[.size] as? Int)
        // tmpfs counts whole pages: room for the checkpoint and not a page more.
        let pages = (size + 4095) / 4096
        let mount = Process()
        mount.executableURL = URL(fileURLWithPath: "/bin/mount")
        mount.arguments = ["-t", "tmpfs", "-o", "size=\(pages * 4096)", "tmpfs", mountPoint.path]
        try mount.run()
        mount.waitUntilExit()
        try #require(mount.terminationStatus == 0, "mounting a tmpfs needs root (the test machine runs as root)")
        defer {
            let umount = Process()
            umount.executableURL = URL(fileURLWithPath: "/bin/umount")
            umount.arguments = [mountPoint.path]
            try? umount.run()
            umount.waitUntilExit()
        }
        let checkpoint = mountPoint.appendingPathComponent("ck.safetensors")
        try FileManager.default.copyItem(at: probe, to: checkpoint)
        let before = try Data(contentsOf: checkpoint)

        // Through the library: the write fails naming the temporary file's path, the old file is unchanged.
        let error = try #require(throws: IOError.self) { try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: checkpoint) }
        #expect("\(error)".contains(mountPoint.path), "\(error)")
        #expect(try Data(contentsOf: checkpoint) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint.path) == ["ck.safetensors"])

        // Through dltrain: resuming writes the next epoch's checkpoint over it, which does not fit.
        let result = try DLTrain.run(["train", "--resume", checkpoint.path, "--epochs", "3", "--threads", "1", "--log-every", "0",
                                      "--checkpoint", checkpoint.path])
        #expect(result.status == 1 && result.stderrLines.count == 1 && result.stderr.contains(mountPoint.path),
                "exit \(result.status): \(result.stderr)")
        #expect(try Data(contentsOf: checkpoint) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint.path) == ["ck.safetensors"])
        _ = try DLTrainCheckpoint.read(from: checkpoint).makeModel(url: checkpoint)
    }
}
