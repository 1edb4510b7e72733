import Strata
import Testing

@Suite struct RecurrentTests {
    /// `[x, h0, (c0), W_ih, W_hh, b_ih, b_hh]` for `cell` with T steps, batch B, I inputs and H hidden units.
    private func arguments(_ cell: RecurrentCell, steps: Int, batch: Int, features: Int, hidden: Int) -> [Tensor] {
        let g = cell.gateCount * hidden
        var seed: UInt64 = 10
        func next(_ shape: [Int]) -> Tensor {
            seed += 1
            return randomInput(shape, seed: seed, in: -0.8...0.8)
        }
        var args = [next([steps, batch, features]), next([batch, hidden])]
        if cell == .lstm { args.append(next([batch, hidden])) }
        return args + [next([g, features]), next([g, hidden]), next([g]), next([g])]
    }

    private func run(_ cell: RecurrentCell, _ a: [Tensor], reverse: Bool) -> Tensor {
        let c0: Tensor? = cell == .lstm ? a[2] : nil
        let w = cell == .lstm ? Array(a[3...]) : Array(a[2...])
        let r = Tensor.recurrentLayer(cell, input: a[0], h0: a[1], c0: c0, weightIH: w[0], weightHH: w[1],
                                      biasIH: w[2], biasHH: w[3], reverse: reverse)
        // Every output contributes: all hidden states, the final hidden state and the final cell state.
        var parts = [r.outputs.sum(dim: 0) * 0.5, r.hidden]
        if let c = r.cell { parts.append(c * 0.25) }
        return parts.dropFirst().reduce(parts[0], +)
    }

    @Test(arguments: [RecurrentCell.rnnTanh, .lstm, .gru])
    func fusedLayerPassesGradcheck(cell: RecurrentCell) {
        for reverse in [false, true] {
            expectGradcheck(arguments(cell, steps: 4, batch: 2, features: 3, hidden: 2), "\(cell) reverse \(reverse)") {
                run(cell, $0, reverse: reverse)
            }
        }
        expectGradcheck(arguments(cell, steps: 1, batch: 1, features: 2, hidden: 3), "\(cell) one step") { run(cell, $0, reverse: false) }
    }

    @Test func lstmSingleStepMatchesTheGateEquations() {
        // One step, one unit, zero initial state, all weights 0 except W_ih = [1, 2, 3, 4] (i, f, g, o) on input x = 0.5.
        let x = Tensor([0.5], shape: [1, 1, 1]), zero = Tensor([0.0], shape: [1, 1])
        let r = Tensor.recurrentLayer(.lstm, input: x, h0: zero, c0: zero, weightIH: Tensor([1.0, 2, 3, 4], shape: [4, 1]),
                                      weightHH: Tensor.zeros([4, 1], dtype: .float64), biasIH: nil, biasHH: nil)
        // i = σ(0.5), g = tanh(1.5), o = σ(2): c = i·g = 0.6224593·0.9051483 = 0.5634132, h = o·tanh(c) = 0.8807971·0.5106033.
        expectClose(r.cell!, [0.6224593312018546 * 0.9051482536448664], atol: 1e-12)
        expectClose(r.hidden, [0.8807970779778823 * 0.5106032939284287], atol: 1e-9)
    }

    @Test func backpropagationThroughAThousandSteps() {
        let args = arguments(.lstm, steps: 1000, batch: 1, features: 1, hidden: 2).map { $0.to(.float32) }
        for a in args { a.requiresGrad = true }
        let r = Tensor.recurrentLayer(.lstm, input: args[0], h0: args[1], c0: args[2], weightIH: args[3], weightHH: args[4],
                                      biasIH: args[5], biasHH: args[6])
        r.outputs.sum().backward()
        #expect(args[0].grad!.shape == [1000, 1, 1])
        #expect(args[4].grad!.toDoubles().allSatisfy { $0.isFinite })
    }
}

@Suite struct RecurrentLayerTests {
    @Test func parameterNamesAndShapesArePyTorchs() {
        let lstm = LSTM(3, 4, numLayers: 2, bidirectional: true)
        let state = lstm.stateDict()
        #expect(state.count == 16)
        #expect(state["weight_ih_l0"]?.shape == [16, 3])
        #expect(state["weight_hh_l0_reverse"]?.shape == [16, 4])
        #expect(state["weight_ih_l1"]?.shape == [16, 8])   // layer 1 reads both directions
        #expect(state["bias_hh_l1_reverse"]?.shape == [16])
        #expect(GRU(3, 5, bias: false).stateDict().keys.sorted() == ["weight_hh_l0", "weight_ih_l0"])
        #expect(RNN(2, 3).stateDict()["weight_ih_l0"]?.shape == [3, 2])
    }

    @Test func outputShapesFollowBatchFirstAndDirections() {
        let lstm = LSTM(3, 4, numLayers: 2, batchFirst: true, bidirectional: true)
        let r = lstm(Tensor.normal([5, 7, 3]))
        #expect(r.output.shape == [5, 7, 8] && r.hN.shape == [4, 5, 4] && r.cN.shape == [4, 5, 4])
        let gru = GRU(3, 4)
        #expect(gru(Tensor.normal([7, 5, 3])).output.shape == [7, 5, 4])
    }

    @Test func theLastOutputOfAForwardLayerIsItsFinalHiddenState() {
        let rnn = RNN(2, 3, numLayers: 2, dtype: .float64)
        let r = rnn(randomInput([4, 2, 2]))
        expectClose(r.output.select(0, 3), r.hN.select(0, 1).toDoubles(), atol: 0, rtol: 0)
    }

    @Test(arguments: [RecurrentCell.rnnTanh, .lstm, .gru])
    func stackedBidirectionalLayersPassGradcheck(cell: RecurrentCell) {
        let x = randomInput([2, 3, 2], seed: 5, in: -1...1)   // batch-first [B, T, I]
        let h0 = randomInput([4, 2, 2], seed: 6, in: -0.5...0.5)
        let layer: RecurrentLayer = switch cell {
        case .rnnTanh: RNN(2, 2, numLayers: 2, batchFirst: true, bidirectional: true, dtype: .float64)
        case .lstm: LSTM(2, 2, numLayers: 2, batchFirst: true, bidirectional: true, dtype: .float64)
        case .gru: GRU(2, 2, numLayers: 2, batchFirst: true, bidirectional: true, dtype: .float64)
        }
        let result = gradcheck(layer, inputs: [x, h0]) { a in
            switch layer {
            case let l as LSTM: let r = l(a[0], h0: a[1], c0: a[1] * 0.5); return r.output.sum(dim: 1) + r.hN.sum() + r.cN.sum()
            case let l as GRU: let r = l(a[0], h0: a[1]); return r.output.sum(dim: 1) + r.hN.sum()
            case let l as RNN: let r = l(a[0], h0: a[1]); return r.output.sum(dim: 1) + r.hN.sum()
            default: fatalError("unexpected layer")
            }
        }
        #expect(result.passed, "\(cell): \(result)")
    }
}

@Suite struct ConvolutionalTrainingTests {
    /// Vertical versus horizontal bars in 8×8 images: a small CNN must learn to tell them apart.
    @Test func aSmallCNNLearnsToTellBarOrientations() {
        Strata.seed(3)
        var generator = RandomGenerator(seed: 4)
        var pixels = [Float](repeating: 0, count: 64 * 64), labels: [Int64] = []
        for i in 0..<64 {
            let vertical = i % 2 == 0, position = Int(generator.next() % 8)
            for j in 0..<8 { pixels[i * 64 + (vertical ? j * 8 + position : position * 8 + j)] = 1 }
            labels.append(vertical ? 1 : 0)
        }
        let x = Tensor(pixels, shape: [64, 1, 8, 8]), y = Tensor(labels)
        let model = Sequential {
            Conv2d(1, 4, kernelSize: 3, padding: 1); ReLU(); MaxPool2d(2)
            Flatten(); Linear(64, 2)
        }
        let optimizer = SGD(model.parameters(), learningRate: 0.1, momentum: 0.9)
        var loss = Double.infinity
        for _ in 0..<60 {
            optimizer.zeroGrad()
            let l = Loss.crossEntropy(model(x), y)
            l.backward()
            optimizer.step()
            loss = l.item()
        }
        #expect(loss < 0.05, "final loss \(loss)")
    }
}
