import Foundation
import DLTrainKit
import Strata
import TestSupport
import Testing

/// The `lstm` workload's model: an LSTM over rows, then a linear head on the last step. An ordinary class,
/// so the summary cannot propagate shapes through it.
private final class LSTMClassifier: Module {
    let lstm = LSTM(28, 128, batchFirst: true)
    let head = Linear(128, 10)
}

/// The same model with a shape rule of its own, asking its children's.
private final class CountingLSTMClassifier: Module, ShapeInferring {
    let lstm = LSTM(28, 128, batchFirst: true)
    let head = Linear(128, 10)

    func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let recurrent = try lstm.inferShape(for: input)
        let last = try head.inferShape(for: [input[0], 128])
        return (last.outputShape, recurrent.flops + last.flops)
    }
}

@Suite struct ModelSummaryTests {
    @Test func mlpCountsParametersAndFLOPs() {
        let mlp = Sequential { Flatten(); Linear(784, 512); ReLU(); Linear(512, 512); ReLU(); Linear(512, 10) }
        let summary = ModelSummary(mlp, inputShape: [1, 28, 28])
        // Weights plus biases: 784·512 + 512, 512·512 + 512, 512·10 + 10.
        #expect(summary.parameterCount == 401_920 + 262_656 + 5_130)
        #expect(summary.trainableParameterCount == summary.parameterCount)
        // reference_torch.py's mlp: flops = 6·batch·(784·512 + 512·512 + 512·10) for a train step, so 2·(…) per forward sample.
        #expect(summary.flopsPerSample == 2 * (784 * 512 + 512 * 512 + 512 * 10))
        #expect(summary.rows.map(\.name) == ["0", "1", "2", "3", "4", "5"])
        #expect(summary.rows.map(\.type) == ["Flatten", "Linear", "ReLU", "Linear", "ReLU", "Linear"])
        #expect(summary.rows.map(\.outputShape) == [[1, 784], [1, 512], [1, 512], [1, 512], [1, 512], [1, 10]])
        #expect(summary.rows.map(\.parameters) == [0, 401_920, 0, 262_656, 0, 5_130])
        #expect(summary.outputShape == [1, 10])

        mlp.layers[1].freeze()
        #expect(ModelSummary(mlp, inputShape: [1, 28, 28]).trainableParameterCount == 262_656 + 5_130)
    }

    @Test func cnnWorkloadMatchesTheReferenceFLOPs() throws {
        let cnn = Sequential {
            Conv2d(1, 32, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Conv2d(32, 64, kernelSize: 5, padding: 2); ReLU(); MaxPool2d(2)
            Flatten(); Linear(3136, 512); ReLU(); Linear(512, 10)
        }
        // reference_torch.py, cnn(): macs = (28·28·32·25·1) + (14·14·64·25·32) + 3136·512 + 512·10.
        let macs = (28 * 28 * 32 * 25 * 1) + (14 * 14 * 64 * 25 * 32) + 3136 * 512 + 512 * 10
        let summary = ModelSummary(cnn, inputShape: [1, 28, 28])
        #expect(summary.flopsPerSample == 2 * macs)
        #expect(summary.parameterCount == 832 + 51_264 + 1_606_144 + 5_130)   // 32·25+32, 64·32·25+64, 3136·512+512, 512·10+10
        #expect(summary.rows[5].outputShape == [1, 64, 7, 7])

        // The documented spec of the same network counts the same.
        let json = try documentedExamples()[0]
        let graph = try ModelSpec.parse(Data(json.utf8), file: "cnn.json").build(inputShape: [1, 28, 28])
        let graphSummary = ModelSummary(graph, inputShape: [1, 28, 28])
        #expect(graphSummary.flopsPerSample == 2 * macs)
        #expect(graphSummary.parameterCount == summary.parameterCount)
        #expect(graphSummary.rows.map(\.name) == ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2"])
        #expect(graphSummary.rows.map(\.outputShape) == summary.rows.map(\.outputShape))
        // The table printed in Docs/ModelSpec.md is this one.
        let documented = try String(contentsOf: try #require(EmbeddedData.packageRoot).appendingPathComponent("Docs/ModelSpec.md"), encoding: .utf8)
        #expect(documented.contains(graphSummary.description))
    }

    @Test func cifarWorkloadMatchesTheReferenceFLOPs() {
        func block(_ cin: Int, _ cout: Int) -> [any Layer] {
            [Conv2d(cin, cout, kernelSize: 3, padding: 1), BatchNorm2d(cout), ReLU(),
             Conv2d(cout, cout, kernelSize: 3, padding: 1), BatchNorm2d(cout), ReLU(), MaxPool2d(2)]
        }
        let cifar = Sequential(block(3, 32) + block(32, 64) + block(64, 128)
                               + [Flatten(), Linear(2048, 256), ReLU(), Dropout(p: 0.5), Linear(256, 10)])
        // reference_torch.py, cifar(): Σ hw²·cout·9·cin over the six convolutions, + 2048·256 + 256·10.
        var macs = 0
        for (hw, cin, cout) in [(32, 3, 32), (32, 32, 32), (16, 32, 64), (16, 64, 64), (8, 64, 128), (8, 128, 128)] {
            macs += hw * hw * cout * 9 * cin
        }
        macs += 2048 * 256 + 256 * 10
        let summary = ModelSummary(cifar, inputShape: [3, 32, 32])
        #expect(summary.flopsPerSample == 2 * macs)
        #expect(summary.outputShape == [1, 10])
        // Batch norm buffers are not parameters; its weight and bias are.
        #expect(summary.rows[1].parameters == 64)
    }

    @Test func recurrentLayersCountEveryStep() throws {
        // reference_torch.py, lstm(): macs = 28·4·128·(28 + 128) + 128·10 (28 steps of 4 gates).
        let lstm = LSTM(28, 128, batchFirst: true)
        let counted = try lstm.inferShape(for: [1, 28, 28])
        #expect(counted.flops == 2 * 28 * 4 * 128 * (28 + 128))
        #expect(counted.outputShape == [1, 28, 128])
        // GRU: 3 gates; a second layer reads the first's 2·H outputs when bidirectional.
        let gru = GRU(10, 8, numLayers: 2, bidirectional: true)
        #expect(try gru.flops(for: [5, 1, 10]) == 2 * 5 * 2 * (3 * 8 * (10 + 8) + 3 * 8 * (16 + 8)))
        #expect(throws: ShapeError.self) { try gru.flops(for: [5, 1, 11]) }

        let summary = ModelSummary(lstm, inputShape: [28, 28])
        #expect(summary.rows.count == 1)
        #expect(summary.parameterCount == 4 * 128 * (28 + 128) + 2 * 4 * 128)
        #expect(summary.flopsPerSample == 2 * 28 * 4 * 128 * (28 + 128))
    }

    @Test func structModelsListChildrenWithUnknownFLOPs() {
        let summary = ModelSummary(LSTMClassifier(), inputShape: [28, 28])
        #expect(summary.rows.map(\.name) == ["lstm", "head"])
        #expect(summary.rows.map(\.type) == ["LSTM", "Linear"])
        #expect(summary.rows.map(\.outputShape) == [nil, nil])
        #expect(summary.rows.map(\.parameters) == [4 * 128 * (28 + 128) + 2 * 4 * 128, 1_290])
        #expect(summary.flopsPerSample == nil)
        #expect(summary.description.contains("FLOPs per sample: unknown"))

        // A model with its own shape rule gets the reference's total.
        let counting = ModelSummary(CountingLSTMClassifier(), inputShape: [28, 28])
        #expect(counting.flopsPerSample == 2 * (28 * 4 * 128 * (28 + 128) + 128 * 10))
        #expect(counting.outputShape == [1, 10])
    }

    @Test func residualGraphsCountTheirLayersAndListGraphOps() throws {
        let graph = try ModelSpec.parse(Data("""
            {"nodes": [{"name": "fc1", "op": "linear", "in_features": 8, "out_features": 8},
                       {"name": "act", "op": "relu"},
                       {"name": "res", "op": "add", "inputs": ["input", "act"]},
                       {"name": "cat", "op": "concat", "inputs": ["res", "input"]},
                       {"name": "head", "op": "linear", "in_features": 16, "out_features": 2}]}
            """.utf8), file: "res.json").build(inputShape: [8])
        let summary = ModelSummary(graph, inputShape: [8])
        #expect(summary.rows.map(\.name) == ["fc1", "act", "res", "cat", "head"])
        #expect(summary.rows.map(\.type) == ["Linear", "ReLU", "add", "concat", "Linear"])
        #expect(summary.rows.map(\.outputShape) == [[1, 8], [1, 8], [1, 8], [1, 16], [1, 2]])
        #expect(summary.flopsPerSample == 2 * (8 * 8 + 16 * 2))
        #expect(try graph.flops(for: [1, 8]) == 2 * (8 * 8 + 16 * 2))
    }

    @Test func shapesThatDoNotFitGiveUnknownFLOPsNotATrap() {
        let model = Sequential { Linear(4, 3); Linear(5, 2) }
        let summary = ModelSummary(model, inputShape: [4])
        #expect(summary.flopsPerSample == nil)
        #expect(summary.rows.map(\.outputShape) == [[1, 3], nil])
        #expect(summary.parameterCount == 15 + 12)
    }

    @Test func convolutionVariantsCount() throws {
        // Conv1d: 2·Lo·C_out·(C_in/groups)·k with Lo = (20 + 2 − 3)/2 + 1 = 10.
        #expect(try Conv1d(4, 6, kernelSize: 3, stride: 2, padding: 1, groups: 2).inferShape(for: [1, 4, 20]) == ([1, 6, 10], 2 * 10 * 6 * 2 * 3))
        // ConvTranspose2d: every input pixel meets C_in·(C_out/groups)·kh·kw weights; Ho = (5 − 1)·2 + 3 = 11.
        #expect(try ConvTranspose2d(3, 4, kernelSize: 3, stride: 2).inferShape(for: [1, 3, 5, 5]) == ([1, 4, 11, 11], 2 * 25 * 3 * 4 * 9))
        #expect(throws: ShapeError.self) { try Conv2d(3, 4, kernelSize: 3).inferShape(for: [1, 2, 5, 5]) }
        #expect(try Embedding(10, 4).inferShape(for: [1, 7]) == ([1, 7, 4], 0))
        let summary = ModelSummary(ConvTranspose2d(3, 4, kernelSize: 3, stride: 2), inputShape: [3, 5, 5])
        #expect(summary.flopsPerSample == 2 * 25 * 3 * 4 * 9)
        #expect(summary.outputShape == [1, 4, 11, 11])
    }

    @Test func presetsHaveShapeRules() {
        // Every preset is summarised by its layers' rules, the recurrent ones through RowRecurrentClassifier's.
        for preset in ModelPreset.allCases {
            let summary = ModelSummary(preset.makeModel(inputShape: [1, 28, 28], classCount: 10), inputShape: [1, 28, 28])
            #expect(summary.outputShape == [1, 10], "\(preset)")
            #expect((summary.flopsPerSample ?? 0) > 0, "\(preset)")
        }
        // lstm: 28 steps of 4 gates over rows of 28, then the head (reference_torch.py, lstm()).
        let lstm = ModelSummary(ModelPreset.lstm.makeModel(inputShape: [1, 28, 28], classCount: 10), inputShape: [1, 28, 28])
        #expect(lstm.flopsPerSample == 2 * (28 * 4 * 128 * (28 + 128) + 128 * 10))
    }

    @Test func descriptionIsATable() {
        let text = ModelSummary(Sequential { Linear(784, 512); ReLU(); Linear(512, 10) }, inputShape: [784]).description
        let lines = text.split(separator: "\n")
        #expect(lines[0].hasPrefix("Layer"))
        #expect(lines[0].contains("Output shape"))
        #expect(text.contains("Linear  [1, 512]"))
        #expect(text.contains("401,920"))
        #expect(text.contains("Parameters: 407,050 (trainable 407,050)"))
        #expect(text.contains("FLOPs per sample: 813,056 (813 kFLOPs)"))   // 2·(784·512 + 512·10)
    }
}
