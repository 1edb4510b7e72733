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
