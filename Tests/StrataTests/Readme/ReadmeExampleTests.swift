import Foundation
import Strata
import Testing

/// The README's examples, verbatim between the markers, so that they always compile and work;
/// `theReadmeShowsTheseExamplesVerbatim` checks that the README holds each block as it stands here.
/// The training-loop example, which needs StrataTraining, is in Tests/StrataTrainingTests/ReadmeTrainerTests.swift.
@Suite struct ReadmeExampleTests {
    @Test func theReadmeExampleTrains() {
        // README example begins
        Strata.seed(0)
        let x = Tensor.normal([512, 2])                             // 512 points in the plane
        let y = (x.select(1, 0) * x.select(1, 1)).gt(0).to(.int64)  // class 1 in quadrants I and III
        let model = Sequential { Linear(2, 32); ReLU(); Linear(32, 32); ReLU(); Linear(32, 2) }
        let optimizer = Adam(model.parameters(), learningRate: 0.01)
        for step in 1...300 {
            optimizer.zeroGrad()
            let loss = Loss.crossEntropy(model(x), y)
            loss.backward()
            optimizer.step()
            if step % 100 == 0 { print("step \(step): loss \(loss.item())") }
        }
        let accuracy = withNoGrad { model(x).argmax(dim: 1).eq(y).to(.float32).mean().item() }
        print("accuracy \(accuracy)")
        // README example ends
        #expect(accuracy > 0.95)
    }

    /// Tests/Golden/readme_mlp.safetensors was saved by PyTorch's own `safetensors.torch.save_file`
    /// (Tests/Golden/make_readme_model.py), with PyTorch's probabilities for the same input beside it.
    @Test func theStateDictExampleGivesPyTorchsProbabilities() throws {
        let golden = try #require(EmbeddedData.packageRoot).appendingPathComponent("Tests/Golden")
        let modelFile = golden.appendingPathComponent("readme_mlp.safetensors")
        // README state-dict example begins
        let stateDict = try Safetensors.load(modelFile)                 // [String: Tensor] under PyTorch's names
        for (name, tensor) in stateDict.sorted(by: { $0.key < $1.key }) {
            print(name, tensor.dtype, tensor.shape)                     // 0.bias float32 [16], 0.weight float32 [16, 4], …
        }
        // The PyTorch module's layers in its order, so the names and layouts match: 0.weight is [out, in].
        let model = Sequential { Linear(4, 16); ReLU(); Linear(16, 3) }
        try model.loadStateDict(stateDict, strict: true)                // throws naming a missing, extra or misshapen tensor
        model.eval()                                                    // dropout off, batch norm on running statistics
        let x = Tensor([0.5, -1.0, 0.25, 2.0] as [Float], shape: [1, 4])  // one sample, [1, 4]
        let probabilities = withNoGrad { model(x).softmax(dim: 1) }     // [1, 3]; nothing is recorded on the tape
        print(probabilities.toDoubles())                                // PyTorch's model(x).softmax(dim=1)
        // README state-dict example ends
        let expected = try #require(try Safetensors.load(golden.appendingPathComponent("readme_mlp_io.safetensors"))["probabilities"])
        // Float32 on both sides: measured equal to the last bit here; the tolerance allows another summation order.
        expectClose(probabilities, expected.toDoubles(), shape: [1, 3], atol: 1e-6, rtol: 1e-5)
    }

    @Test func theReadmeShowsTheseExamplesVerbatim() throws {
        let root = try #require(EmbeddedData.packageRoot)
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let sources = [URL(fileURLWithPath: #filePath),
                       root.appendingPathComponent("Tests/StrataTrainingTests/ReadmeTrainerTests.swift")]
        var blocks = 0
        for source in sources {
            for block in try readmeBlocks(in: String(contentsOf: source, encoding: .utf8)) {
                #expect(readme.contains(block), "README.md lacks, verbatim, the block of \(source.lastPathComponent):\n\(block)")
                blocks += 1
            }
        }
        #expect(blocks == 3)
    }
}

/// The code between each `// README … begins` and `// README … ends` marker pair of a test file, with the
/// test's indentation removed.
private func readmeBlocks(in source: String) throws -> [String] {
    var blocks: [String] = [], current: [Substring]?
    for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("// README") && trimmed.hasSuffix("begins") { current = []; continue }
        if trimmed.hasPrefix("// README") && trimmed.hasSuffix("ends"), let lines = current {
            let indent = lines.filter { !$0.isEmpty }.map { $0.prefix { $0 == " " }.count }.min() ?? 0
            blocks.append(lines.map { String($0.dropFirst(indent)) }.joined(separator: "\n"))
            current = nil
            continue
        }
        current?.append(line)
    }
    return blocks
}
