import Foundation
import Strata
import Testing

/// The snippets in Snippets/ (the examples a user copies and the code of the DocC articles), run as the
/// executables SwiftPM builds from them, each for a few steps, with what each prints checked.
@Suite struct ExamplesTests {
    /// Runs snippet `name` with `arguments` and returns its standard output, after checking it exited with 0.
    private func run(_ name: String, _ arguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let binary = try #require(BuiltExecutable.url(name), "the snippet \(name) was not built", sourceLocation: sourceLocation)
        let output = finish(try startProcess(binary, arguments))
        #expect(output.status == 0, "\(name) exited with \(output.status): \(output.stderr)", sourceLocation: sourceLocation)
        return output.stdout
    }

    /// The number after `prefix` on the last line that starts with it.
    private func value(after prefix: String, in output: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Double {
        let line = try #require(output.split(separator: "\n").last { $0.hasPrefix(prefix) }, "no '\(prefix)' line in:\n\(output)",
                                sourceLocation: sourceLocation)
        return try #require(Double(line.dropFirst(prefix.count).prefix { !$0.isWhitespace && $0 != "," }),
                            "no number after '\(prefix)' in \(line)", sourceLocation: sourceLocation)
    }

    @Test func mnistTrainsOnTheFirst2000ImagesToBetterThan80PercentOnTheTestSet() throws {
        let output = try run("MNISTTraining", ["2000"])
        // One epoch of 32 steps on 2,000 real MNIST images; the MLP measured 0.8428 here.
        #expect(try value(after: "test accuracy ", in: output) > 0.8)
    }

    @Test func theCustomOpPassesItsGradcheck() throws {
        let output = try run("CustomOp")
        #expect(output.contains("gradcheck passed: true"), "\(output)")
        #expect(output.contains("weight gradient [3, 5]"), "\(output)")
    }

    @Test func theCharacterTransformerLearnsItsFileAndSamplesFromIt() throws {
        let root = try #require(EmbeddedData.packageRoot)
        let file = root.appendingPathComponent("Docs/Architecture.md")
        let output = try run("CharTransformer", [file.path, "40", "60"])
        let first = try value(after: "step 1: loss ", in: output), last = try value(after: "step 40: loss ", in: output)
        // A uniform guess over the file's characters costs log(vocabulary) ≈ 4.5 nats; 40 steps go well below it.
        #expect(last < first - 1, "loss \(first) → \(last)")
        let sample = try #require(output.range(of: "sample: ").map { output[$0.upperBound...].dropLast() })
        let vocabulary = Set(try String(contentsOf: file, encoding: .utf8))
        #expect(sample.count == 61 && sample.allSatisfy(vocabulary.contains), "sample: \(sample)")
    }

    @Test func thePyTorchStateDictGivesPyTorchsLogits() throws {
        let output = try run("PyTorchStateDict")
        // Float32 on both sides; measured 6e-8 here. The snippet itself fails above 1e-5.
        #expect(try value(after: "logits [4, 10], largest difference: ", in: output) < 1e-5)
        #expect(output.contains("same predictions: true"), "\(output)")
    }

    @Test func theGuidesSnippetsRunAndPrintWhatTheirCommentsSay() throws {
        #expect(try value(after: "accuracy ", in: run("FirstModel")) > 0.95)
        let tensors = try run("Tensors")
        #expect(tensors.contains("[2, 3] [11.0, 12.0, 13.0, 21.0, 22.0, 23.0]") && tensors.contains("[3, 2] [1, 3] false"), "\(tensors)")
        #expect(try run("Autodiff").hasPrefix("[7.0, 2.0]\n[10.0, 5.0]\ntrue\nfalse false true\n"))
        let layers = try run("Layers")
        #expect(layers.contains("1.linear1.weight [64, 16]") && layers.contains("[2, 5, 16] [1, 2, 16] [1, 2, 16] [2, 5, 16]"), "\(layers)")
        #expect(try run("SaveForPyTorch").contains("[\"format\": \"pt\"] 9"))
        #expect(try run("CustomDataset").contains("80 20 [34, 33, 33]"))
        #expect(try run("Performance").contains("threads "))
        #expect(try run("TrainingLoop").contains("resumed losses equal the uninterrupted run's: true"))
    }

    @Test(.enabled(if: MPIRun.launcher != nil, Comment(rawValue: MPIRun.missing)))
    func theDataParallelGuideTrainsOnTwoRanks() throws {
        let output = try MPIRun.run(try #require(BuiltExecutable.url("DataParallel"), "the snippet DataParallel was not built"), [])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("2 ranks, final loss "), "\(output.stdout)")
    }
}
