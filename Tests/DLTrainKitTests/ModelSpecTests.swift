import Foundation
import DLTrainKit
import Strata
import TestSupport
import Testing

/// The ```json blocks of Docs/ModelSpec.md, in order, so the documented examples are tested as written.
func documentedExamples() throws -> [String] {
    let docs = try #require(EmbeddedData.packageRoot).appendingPathComponent("Docs/ModelSpec.md")
    let text = try String(contentsOf: docs, encoding: .utf8)
    return text.components(separatedBy: "```json\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
}

/// The layer of the node `name` in `model`.
private func graphLayer(_ model: GraphModel, _ name: String) -> any Layer {
    for node in model.nodes where node.name == name {
        if case .layer(let layer) = node.kind { return layer }
    }
    preconditionFailure("no layer node \(name)")
}

private func spec(_ json: String, file: String = "spec.json") throws -> ModelSpec {
    try ModelSpec.parse(Data(json.utf8), file: file)
}

/// Parses (and, given `inputShape`, builds) `json`, expecting a `ModelSpecError` of `kind` whose message names
/// `spec.json`, `node` and `field`.
private func expectSpecError(_ json: String, kind: ModelSpecError.Kind, node: String?, field: String?,
                             mentioning phrase: String? = nil, inputShape: [Int] = [4], inputDType: DType = .float32,
                             sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try spec(json).build(inputShape: inputShape, inputDType: inputDType)
        Issue.record("expected a \(kind) error", sourceLocation: sourceLocation)
    } catch let error as ModelSpecError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        #expect(error.file == "spec.json", sourceLocation: sourceLocation)
        #expect(error.node == node, "\(error)", sourceLocation: sourceLocation)
        #expect(error.field == field, "\(error)", sourceLocation: sourceLocation)
        let text = error.description
        #expect(text.hasPrefix("spec.json: "), "\(text)", sourceLocation: sourceLocation)
        if let node { #expect(text.contains("node \(node)"), "\(text)", sourceLocation: sourceLocation) }
        if let field { #expect(text.contains("'\(field)'"), "\(text)", sourceLocation: sourceLocation) }
        if let phrase { #expect(text.contains(phrase), "\(text)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct ModelSpecTests {
    @Test func documentedCNNParsesBuildsAndRuns() throws {
        let examples = try documentedExamples()
        #expect(examples.count == 2)
        let cnn = try spec(examples[0], file: "cnn.json")
        #expect(cnn.nodes.count == 10)
        #expect(cnn.output == "fc2")
        #expect(cnn.inputShape == [1, 28, 28])
        #expect(cnn.nodes[1].inputs == ["conv1"])   // default: the previous node
        #expect(cnn.nodes[0].inputs == ["input"])

        let model = try cnn.build(inputShape: [1, 28, 28])
        #expect(model.nodes.map(\.outputShape) == [
            [1, 32, 28, 28], [1, 32, 28, 28], [1, 32, 14, 14], [1, 64, 14, 14], [1, 64, 14, 14], [1, 64, 7, 7],
            [1, 3136], [1, 512], [1, 512], [1, 10],
        ])
        #expect(model.stateDict().keys.sorted() == [
            "conv1.bias", "conv1.weight", "conv2.bias", "conv2.weight", "fc1.bias", "fc1.weight", "fc2.bias", "fc2.weight",
        ])
        #expect(model.stateDict()["conv2.weight"]?.shape == [64, 32, 5, 5])
        let y = model(Tensor.normal([2, 1, 28, 28]))
        #expect(y.shape == [2, 10])
        let finite = y.toDoubles().allSatisfy { $0.isFinite }
        #expect(finite)
    }

    @Test func graphMatchesTheEquivalentSequentialAfterLoadingItsWeights() throws {
        let cnn = try spec(try documentedExamples()[0]).build(inputShape: [1, 28, 28])
        let sequential = Sequential {
            Conv2d(1, 32, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Conv2d(32, 64, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Flatten(); Linear(3136, 512); ReLU(); Linear(512, 10)
        }
        // Sequential's names are positions; the graph's are node names: rename 0 → conv1, 3 → conv2, 7 → fc1, 9 → fc2.
        let rename = ["0": "conv1", "3": "conv2", "7": "fc1", "9": "fc2"]
        var state: [String: Tensor] = [:]
        for (name, tensor) in sequential.stateDict() {
            let parts = name.split(separator: ".", maxSplits: 1)
            state[rename[String(parts[0])]! + "." + parts[1]] = tensor
        }
        try cnn.loadStateDict(state)
        let x = Tensor.normal([3, 1, 28, 28])
        expectClose(cnn(x), sequential(x).toDoubles(), shape: [3, 10], atol: 1e-6, rtol: 1e-5)
    }

    @Test func unnamedNodesAreNamedLikeSequential() throws {
        let model = try spec("""
            {"nodes": [{"op": "linear", "in_features": 4, "out_features": 3}, {"op": "tanh", "comment": "squashes to (-1, 1)"},
                       {"op": "linear", "in_features": 3, "out_features": 2, "bias": false}]}
            """).build(inputShape: [4])
        #expect(model.stateDict().keys.sorted() == ["0.bias", "0.weight", "2.weight"])
        let reference = Sequential { Linear(4, 3); Tanh(); Linear(3, 2, bias: false) }
        try model.loadStateDict(reference.stateDict())
        let x = Tensor.normal([5, 4])
        expectClose(model(x), reference(x).toDoubles(), shape: [5, 2], atol: 1e-7, rtol: 1e-6)
    }

    @Test func documentedResidualGraphAddsItsBranches() throws {
        let model = try spec(try documentedExamples()[1]).build(inputShape: [1, 28, 28])
        #expect(model.stateDict().keys.sorted() == [
            "fc1.bias", "fc1.weight", "head.bias", "head.weight", "norm.bias", "norm.weight", "stem.bias", "stem.weight",
        ])
        let residual = model.nodes.filter { $0.name == "res1" }.map(\.inputs)
        #expect(residual == [[3, 5]])   // slots of act0 and act1
        let x = Tensor.normal([3, 1, 28, 28])
        // The residual by hand, with the graph's own layers: head(norm(a + gelu(fc1(a)))), a = relu(stem(flatten(x))).
        let (stem, fc1, norm, head) = (graphLayer(model, "stem"), graphLayer(model, "fc1"), graphLayer(model, "norm"), graphLayer(model, "head"))
        let a = stem.callAsFunction(x.flattened(from: 1)).relu()
        let expected = head.callAsFunction(norm.callAsFunction(a + fc1.callAsFunction(a).gelu()))
        expectClose(model(x), expected.toDoubles(), shape: [3, 10], atol: 1e-6, rtol: 1e-5)
    }

    @Test func concatReshapeAndExplicitOutput() throws {
        let model = try spec("""
            {"input_shape": [16],
             "nodes": [
               {"name": "image", "op": "reshape", "shape": [1, 4, -1]},
               {"name": "a", "op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1},
               {"name": "b", "op": "conv2d", "in_channels": 1, "out_channels": 3, "kernel_size": [1, 3], "padding": [0, 1],
                "inputs": "image"},
               {"name": "both", "op": "concat", "inputs": ["a", "b"]},
               {"name": "pool", "op": "adaptiveavgpool2d", "output_size": 1},
               {"name": "flat", "op": "flatten"},
               {"name": "unused", "op": "linear", "in_features": 99, "out_features": 1}
             ],
             "output": "flat"}
            """).build(inputShape: [16])
        #expect(model.nodes.map(\.name) == ["image", "a", "b", "both", "pool", "flat"])   // nodes after the output are not built
        #expect(model.nodes.map(\.outputShape) == [[1, 1, 4, 4], [1, 2, 4, 4], [1, 3, 4, 4], [1, 5, 4, 4], [1, 5, 1, 1], [1, 5]])
        #expect(model(Tensor.normal([2, 16])).shape == [2, 5])
    }

    @Test func embeddingReadsIntegerInput() throws {
        let model = try spec("""
            {"nodes": [{"name": "tok", "op": "embedding", "num_embeddings": 10, "embedding_dim": 4},
                       {"op": "flatten"}, {"name": "head", "op": "linear", "in_features": 20, "out_features": 3}]}
            """).build(inputShape: [5], inputDType: .int64)
        #expect(model.inputDType == .int64)
        #expect(model.nodes.map(\.outputDType) == [.float32, .float32, .float32])
        #expect(model(Tensor.randint(0, 10, shape: [2, 5])).shape == [2, 3])
    }

    @Test func trainAndEvalReachTheGraphsLayers() throws {
        let model = try spec("""
            {"nodes": [{"name": "bn", "op": "batchnorm1d", "num_features": 4}, {"name": "drop", "op": "dropout", "p": 0.25}]}
            """).build(inputShape: [4])
        #expect(model.stateDict().keys.sorted() == ["bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var", "bn.weight"])
        model.eval()
        #expect(model.modules().compactMap { $0 as? any ModeDependent }.allSatisfy { !$0.isTraining })
        let x = Tensor.normal([3, 4])
        expectClose(model(x), (x / (1 + 1e-5).squareRoot()).toDoubles(), atol: 1e-6)   // running stats 0 and 1, no dropout
    }

    @Test func repeatedKeysAreRefusedAndLoadReadsAFile() throws {
        expectSpecError(#"{"nodes": [{"op": "relu", "op": "tanh"}]}"#, kind: .invalidJSON, node: nil, field: "op",
                        mentioning: "appears twice")
        let json = #"{"nodes": [{"op": "relu"}]}"#
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UInt64.random(in: 0 ... .max)).json")
        try Data(json.utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        #expect(try ModelSpec.load(from: url).file == url.path)
        #expect(throws: ModelSpecError.self) { try ModelSpec.load(from: url.appendingPathExtension("missing")) }
        do {
            _ = try ModelSpec.load(from: url.appendingPathExtension("missing"))
        } catch let error as ModelSpecError {
            #expect(error.kind == .unreadableFile)
            #expect(error.description.hasPrefix(url.path + ".missing: "))
        }
    }

    // MARK: Errors, each naming the file, the node and the field

    @Test func invalidJSON() {
        expectSpecError(#"{"nodes": [}"#, kind: .invalidJSON, node: nil, field: nil, mentioning: "not valid JSON")
        expectSpecError("{\"nodes\": [1,\n }", kind: .invalidJSON, node: nil, field: nil, mentioning: "line 2, column 2")
    }

    @Test func topLevelProblems() {
        expectSpecError(#"{"nodes": [{"op": "relu"}], "ouput": "x"}"#, kind: .unexpectedArgument, node: nil, field: "ouput")
        expectSpecError(#"{"name": "empty"}"#, kind: .missingArgument, node: nil, field: "nodes")
        expectSpecError(#"{"nodes": []}"#, kind: .wrongType, node: nil, field: "nodes")
        expectSpecError(#"{"nodes": [{"op": "relu"}], "output": "head"}"#, kind: .unknownInput, node: nil, field: "output")
        expectSpecError(#"{"nodes": [{"op": "relu"}], "version": 2}"#, kind: .invalidValue, node: nil, field: "version")
        expectSpecError(#"{"nodes": [{"op": "relu"}], "input_shape": [4, 0]}"#, kind: .wrongType, node: nil, field: "input_shape")
        expectSpecError(#"{"nodes": [{"op": "relu"}], "input_shape": [3]}"#, kind: .shapeMismatch, node: nil, field: "input_shape",
                        mentioning: "declares input shape [3] but the data has [4]")
        expectSpecError(#"{"nodes": ["relu"]}"#, kind: .wrongType, node: "#0", field: nil)
    }

    @Test func unknownOp() {
        expectSpecError(#"{"nodes": [{"name": "pool", "op": "maxpool3d", "kernel_size": 2}]}"#,
                        kind: .unknownOp, node: "'pool' (#0)", field: "op", mentioning: "unknown op 'maxpool3d'; did you mean `maxpool2d`?")
        expectSpecError(#"{"nodes": [{"name": "a"}]}"#, kind: .missingArgument, node: "'a' (#0)", field: "op")
    }

    @Test func missingExtraAndWronglyTypedArguments() {
        expectSpecError(#"{"nodes": [{"name": "fc", "op": "linear", "in_features": 4}]}"#,
                        kind: .missingArgument, node: "'fc' (#0)", field: "out_features", mentioning: "linear requires `out_features`")
        expectSpecError(#"{"nodes": [{"name": "fc", "op": "linear", "in_features": 4, "out_features": 2, "bais": true}]}"#,
                        kind: .unexpectedArgument, node: "'fc' (#0)", field: "bais", mentioning: "takes no argument `bais`; did you mean `bias`?")
        expectSpecError(#"{"nodes": [{"name": "fc", "op": "linear", "in_features": "4", "out_features": 2}]}"#,
                        kind: .wrongType, node: "'fc' (#0)", field: "in_features", mentioning: #"expects an integer, found "4""#)
        expectSpecError(#"{"nodes": [{"name": "fc", "op": "linear", "in_features": 4, "out_features": 2.5}]}"#,
                        kind: .wrongType, node: "'fc' (#0)", field: "out_features")
        expectSpecError(#"{"nodes": [{"name": "fc", "op": "linear", "in_features": 4, "out_features": 2, "bias": 1}]}"#,
                        kind: .wrongType, node: "'fc' (#0)", field: "bias")
        expectSpecError(#"{"nodes": [{"name": "c", "op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": [3, 3, 3]}]}"#,
                        kind: .wrongType, node: "'c' (#0)", field: "kernel_size", inputShape: [1, 8, 8])
        // A misspelt argument is reported as such, not as the missing argument it was meant to be.
        expectSpecError(#"{"nodes": [{"name": "c", "op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel": 3}]}"#,
                        kind: .unexpectedArgument, node: "'c' (#0)", field: "kernel", mentioning: "did you mean `kernel_size`?")
        expectSpecError(#"{"nodes": [{"name": "g", "op": "gelu", "approximate": "fast"}]}"#,
                        kind: .wrongType, node: "'g' (#0)", field: "approximate")
        expectSpecError(#"{"nodes": [{"name": "r", "op": "relu", "inputs": 3}]}"#, kind: .wrongType, node: "'r' (#0)", field: "inputs")
    }

    @Test func invalidArgumentValues() {
        expectSpecError(#"{"nodes": [{"name": "d", "op": "dropout", "p": 1.5}]}"#, kind: .invalidValue, node: "'d' (#0)", field: "p")
        expectSpecError(#"{"nodes": [{"name": "fc", "op": "linear", "in_features": 4, "out_features": 0}]}"#,
                        kind: .invalidValue, node: "'fc' (#0)", field: "out_features", mentioning: "must be positive")
        expectSpecError(#"{"nodes": [{"name": "c", "op": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3, "groups": 2}]}"#,
                        kind: .invalidValue, node: "'c' (#0)", field: "groups", inputShape: [3, 8, 8])
        expectSpecError(#"{"nodes": [{"name": "s", "op": "softmax", "dim": 0}]}"#, kind: .invalidValue, node: "'s' (#0)", field: "dim")
        expectSpecError(#"{"nodes": [{"name": "s", "op": "softmax", "dim": 2}]}"#, kind: .shapeMismatch, node: "'s' (#0)", field: "dim",
                        mentioning: "dim 2 is out of range for rank 2")
        expectSpecError(#"{"nodes": [{"name": "s", "op": "softmax", "dim": -2}]}"#, kind: .invalidValue, node: "'s' (#0)", field: "dim",
                        mentioning: "the batch dim")
        expectSpecError(#"{"nodes": [{"name": "f", "op": "flatten", "start_dim": 0}]}"#, kind: .invalidValue, node: "'f' (#0)",
                        field: "start_dim", mentioning: "the batch dim")
        expectSpecError(#"{"nodes": [{"name": "p", "op": "maxpool2d", "kernel_size": 2, "padding": 2}]}"#,
                        kind: .invalidValue, node: "'p' (#0)", field: "padding", inputShape: [1, 8, 8])
        expectSpecError(#"{"nodes": [{"name": "a.b", "op": "relu"}]}"#, kind: .invalidValue, node: "'a.b' (#0)", field: "name")
        expectSpecError(#"{"nodes": [{"name": "r", "op": "reshape", "shape": [-1, -1]}]}"#, kind: .invalidValue, node: "'r' (#0)", field: "shape")
    }

    @Test func unknownInputsForwardReferencesAndCycles() {
        expectSpecError(#"{"nodes": [{"name": "a", "op": "relu"}, {"name": "b", "op": "relu", "inputs": "c"}]}"#,
                        kind: .unknownInput, node: "'b' (#1)", field: "inputs", mentioning: "no earlier node is named 'c'")
        // A forward reference would allow a cycle (a ← b ← a), so it is refused even though 'b' exists.
        expectSpecError(#"{"nodes": [{"name": "a", "op": "relu", "inputs": "b"}, {"name": "b", "op": "relu", "inputs": "a"}]}"#,
                        kind: .unknownInput, node: "'a' (#0)", field: "inputs", mentioning: "no cycles")
        expectSpecError(#"{"nodes": [{"name": "a", "op": "relu"}, {"name": "b", "op": "add", "inputs": ["a", "b"]}]}"#,
                        kind: .cycle, node: "'b' (#1)", field: "inputs", mentioning: "cannot consume itself")
        expectSpecError(#"{"nodes": [{"name": "a", "op": "relu"}, {"name": "b", "op": "add", "inputs": ["a"]}]}"#,
                        kind: .invalidValue, node: "'b' (#1)", field: "inputs", mentioning: "two or more inputs")
        expectSpecError(#"{"nodes": [{"name": "a", "op": "relu"}, {"name": "b", "op": "relu", "inputs": ["a", "input"]}]}"#,
                        kind: .invalidValue, node: "'b' (#1)", field: "inputs", mentioning: "exactly one input")
    }

    @Test func duplicateNames() {
        expectSpecError(#"{"nodes": [{"name": "a", "op": "relu"}, {"name": "a", "op": "tanh"}]}"#,
                        kind: .duplicateName, node: "'a' (#1)", field: "name", mentioning: "node #0 already has this name")
        expectSpecError(#"{"nodes": [{"name": "input", "op": "relu"}]}"#, kind: .duplicateName, node: "'input' (#0)", field: "name")
    }

    @Test func shapeMismatchesAreFoundByInference() {
        // The documented CNN with a wrong in_features: the message gives the right one.
        let wrong = (try? documentedExamples()[0].replacingOccurrences(of: "\"in_features\": 3136", with: "\"in_features\": 3000")) ?? ""
        expectSpecError(wrong, kind: .shapeMismatch, node: "'fc1' (#7)", field: "in_features",
                        mentioning: "dimension 1 is 3136, but the layer's in_features is 3000", inputShape: [1, 28, 28])
        expectSpecError(#"{"nodes": [{"name": "c", "op": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3}]}"#,
                        kind: .shapeMismatch, node: "'c' (#0)", field: "in_channels", inputShape: [1, 8, 8])
        expectSpecError(#"{"nodes": [{"name": "c", "op": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 9}]}"#,
                        kind: .shapeMismatch, node: "'c' (#0)", field: "kernel_size", mentioning: "does not fit", inputShape: [1, 8, 8])
        expectSpecError(#"{"nodes": [{"name": "c", "op": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3}]}"#,
                        kind: .shapeMismatch, node: "'c' (#0)", field: "inputs", mentioning: "needs input [N, C, H, W]", inputShape: [8])
        // Conv2d's own rule also takes an unbatched [C, H, W]; in a spec the batch dim always comes first.
        expectSpecError(#"{"nodes": [{"name": "c", "op": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3}]}"#,
                        kind: .shapeMismatch, node: "'c' (#0)", field: "inputs", mentioning: "needs input [N, C, H, W]", inputShape: [1, 8])
        expectSpecError("""
            {"nodes": [{"name": "a", "op": "linear", "in_features": 4, "out_features": 3},
                       {"name": "b", "op": "linear", "in_features": 4, "out_features": 5, "inputs": "input"},
                       {"name": "sum", "op": "add", "inputs": ["a", "b"]}]}
            """, kind: .shapeMismatch, node: "'sum' (#2)", field: "inputs", mentioning: "cannot add 'b' of shape [1, 5] to [1, 3]")
        expectSpecError("""
            {"nodes": [{"name": "a", "op": "linear", "in_features": 4, "out_features": 3},
                       {"name": "cat", "op": "concat", "dim": 1, "inputs": ["a", "input"]},
                       {"name": "r", "op": "reshape", "shape": [5]}]}
            """, kind: .shapeMismatch, node: "'r' (#2)", field: "shape", mentioning: "7 values per sample")
        expectSpecError(#"{"nodes": [{"name": "n", "op": "layernorm", "normalized_shape": [5]}]}"#,
                        kind: .shapeMismatch, node: "'n' (#0)", field: "normalized_shape")
        expectSpecError(#"{"nodes": [{"name": "bn", "op": "batchnorm2d", "num_features": 4}]}"#,
                        kind: .shapeMismatch, node: "'bn' (#0)", field: "inputs")
        expectSpecError("""
            {"nodes": [{"name": "e", "op": "embedding", "num_embeddings": 10, "embedding_dim": 4},
                       {"name": "e2", "op": "linear", "in_features": 4, "out_features": 2, "inputs": "input"}]}
            """, kind: .dtypeMismatch, node: "'e2' (#1)", field: "inputs", mentioning: "needs floating-point values, not int64",
            inputDType: .int64)
        expectSpecError(#"{"nodes": [{"op": "relu"}, {"name": "e", "op": "embedding", "num_embeddings": 10, "embedding_dim": 4}]}"#,
                        kind: .dtypeMismatch, node: "'e' (#1)", field: "inputs", mentioning: "needs int64 indices, not float32")
    }

    // MARK: Sizes from the file: overflow-checked, and held to the memory budget before anything is allocated

    /// Each spec the fuzzing of `dltrain` found trapping or aborting in the allocator, refused as `.tooLarge` naming
    /// the node (the sizes are far beyond any machine's budget, so the test holds wherever it runs).
    @Test func hugeAndOverflowingSizesAreRefusedBeforeAllocating() {
        let image = [1, 28, 28]
        // A Linear with 10¹² outputs: 784·10¹² weights, 2.8 PiB; refused by its state's size, not by allocating it.
        expectSpecError(#"{"nodes": [{"op": "flatten"}, {"op": "linear", "in_features": 784, "out_features": 1000000000000}]}"#,
                        kind: .tooLarge, node: "'1' (#1)", field: nil, mentioning: "more than the memory budget", inputShape: image)
        expectSpecError(#"{"nodes": [{"op": "flatten"}, {"op": "linear", "in_features": 784, "out_features": 9223372036854775807}]}"#,
                        kind: .tooLarge, node: "'1' (#1)", field: nil, mentioning: "more elements than fit in Int", inputShape: image)
        // Padding, dilation and kernel sizes near Int.max: the window arithmetic overflows.
        for (argument, value) in [("padding", "9223372036854775807"), ("dilation", "4611686018427387904")] {
            expectSpecError(#"{"nodes": [{"op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "\#(argument)": \#(value)}]}"#,
                            kind: .tooLarge, node: "'0' (#0)", field: "kernel_size", mentioning: "overflows", inputShape: image)
        }
        expectSpecError(#"{"nodes": [{"op": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 9223372036854775807}]}"#,
                        kind: .tooLarge, node: "'0' (#0)", field: nil, mentioning: "more elements than fit in Int", inputShape: image)
        expectSpecError(#"{"nodes": [{"op": "maxpool2d", "kernel_size": 9223372036854775807, "padding": 4611686018427387903}]}"#,
                        kind: .tooLarge, node: "'0' (#0)", field: "kernel_size", mentioning: "overflows", inputShape: image)
        // A Reshape whose product overflows.
        expectSpecError(#"{"nodes": [{"op": "reshape", "shape": [4294967296, 4294967296, -1]}]}"#,
                        kind: .tooLarge, node: "'0' (#0)", field: "shape", mentioning: "more elements than fit in Int", inputShape: image)
        // Adaptive pooling to a size whose output overflows, or fits Int but not memory (2⁵² floats, 16 PiB).
        expectSpecError(#"{"nodes": [{"op": "adaptiveavgpool2d", "output_size": [4294967296, 4294967296]}, {"op": "flatten"}]}"#,
                        kind: .tooLarge, node: "'0' (#0)", field: nil, mentioning: "more elements than fit in Int", inputShape: image)
        expectSpecError(#"{"nodes": [{"op": "adaptiveavgpool2d", "output_size": [67108864, 67108864]}, {"op": "flatten"}]}"#,
                        kind: .tooLarge, node: "'0' (#0)", field: nil, mentioning: "its output [1, 1, 67108864, 67108864]", inputShape: image)
        // An input sample that alone exceeds the budget (2⁴⁸ floats, 1 PiB).
        expectSpecError(#"{"nodes": [{"op": "relu"}]}"#, kind: .tooLarge, node: nil, field: "input_shape",
                        mentioning: "more than the memory budget", inputShape: [1 << 24, 1 << 24])
    }
}
