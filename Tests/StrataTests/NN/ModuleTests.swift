import Strata
import Testing

/// A model written as an ordinary struct-like class, with a residual connection and nested arrays.
private final class Residual: Layer {
    let inner: Linear
    let norm = Scale()
    init(_ width: Int) { inner = Linear(width, width) }
    func callAsFunction(_ input: Tensor) -> Tensor { input + norm(inner(input).relu()) }
}

/// A module with a parameter, a buffer and a camelCase name.
private final class Scale: Layer {
    var gainFactor = Tensor.ones([1])
    @Buffer var runningMean = Tensor.zeros([1])
    init() { gainFactor.requiresGrad = true }
    func callAsFunction(_ input: Tensor) -> Tensor { input * gainFactor }
}

private final class Net: Module {
    let layers: [Residual] = [Residual(3), Residual(3)]
    let head = Sequential { Linear(3, 2); ReLU(); Linear(2, 1, bias: false) }
}

@Suite struct ModuleTests {
    @Test func parametersAreFoundWithPyTorchNames() {
        let names = Net().stateDict().keys.sorted()
        #expect(names == [
            "head.0.bias", "head.0.weight", "head.2.weight",
            "layers.0.inner.bias", "layers.0.inner.weight", "layers.0.norm.gain_factor", "layers.0.norm.running_mean",
            "layers.1.inner.bias", "layers.1.inner.weight", "layers.1.norm.gain_factor", "layers.1.norm.running_mean",
        ])
        #expect(Net().parameters().count == 9)  // buffers are not parameters
    }

    @Test func loadStateDictReportsEveryProblemAtOnce() {
        let net = Net()
        var state = net.stateDict()
        state["layers.0.inner.weight"] = Tensor.zeros([2, 3])
        state["extra.weight"] = Tensor.zeros([1])
        state.removeValue(forKey: "head.2.weight")
        #expect(throws: StateDictError.self) { try net.loadStateDict(state) }
        do {
            try net.loadStateDict(state)
        } catch let error as StateDictError {
            #expect(error.missing == ["head.2.weight"])
            #expect(error.unexpected == ["extra.weight"])
            #expect(error.shapeMismatches.map(\.name) == ["layers.0.inner.weight"])
            #expect(error.description.contains("layers.0.inner.weight: checkpoint shape [2, 3], model shape [3, 3]"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func loadStateDictCopiesValuesAcrossModels() throws {
        let (a, b) = (Net(), Net())
        try b.loadStateDict(a.stateDict())
        let x = Tensor.normal([4, 3])
        expectClose(b.head(b.layers[1](b.layers[0](x))), a.head(a.layers[1](a.layers[0](x))).toDoubles(), atol: 0, rtol: 0)
        // Non-strict loading ignores missing and unexpected keys but still copies what matches.
        try b.loadStateDict(["head.2.weight": Tensor.zeros([1, 2]), "nonsense": Tensor.zeros([1])], strict: false)
        expectClose(b.head.layers[2](Tensor.ones([1, 2])), [0])
    }

    @Test func freezingStopsGradients() {
        let net = Net()
        net.head.freeze()
        #expect(net.trainableParameters().count == 6)
        let y = net.head(net.layers[0](Tensor.normal([2, 3]))).sum()
        y.backward()
        #expect(net.head.parameters().allSatisfy { $0.grad == nil })
        #expect(net.layers[0].inner.weight.grad != nil)
    }

    @Test func linearMatchesItsFormulaAndPassesGradcheck() {
        let layer = Linear(3, 2, dtype: .float64)
        #expect(layer.weight.shape == [2, 3] && layer.bias!.shape == [2])
        let x = randomInput([4, 3])
        let expected = x.matmul(layer.weight.transposed()) + layer.bias!
        expectClose(layer(x), expected.toDoubles(), atol: 1e-12)
        #expect(gradcheck(layer, inputs: [x]) { layer($0[0]) }.passed)
        #expect(gradcheck(layer, inputs: [randomInput([2, 5, 3])]) { layer($0[0]) }.passed)
        let noBias = Linear(3, 4, bias: false, dtype: .float64)
        #expect(gradcheck(noBias, inputs: [randomInput([1, 3])]) { noBias($0[0].transposed().transposed()) }.passed)
        #expect(gradcheck(noBias, inputs: [randomInput([0, 3])]) { noBias($0[0]) }.passed)
    }

    @Test func linearInitialisationFollowsPyTorchBounds() {
        Strata.seed(3)
        let layer = Linear(400, 300)
        let bound = 1 / 400.0.squareRoot()
        let w = layer.weight.toDoubles(), b = layer.bias!.toDoubles()
        #expect(w.allSatisfy { abs($0) <= bound } && b.allSatisfy { abs($0) <= bound })
        // U(−a, a) has standard deviation a/√3.
        let mean = w.reduce(0, +) / Double(w.count)
        let std = (w.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(w.count)).squareRoot()
        #expect(abs(std - bound / 3.0.squareRoot()) < 0.02 * bound)
    }

    @Test func orthogonalInitIsOrthogonal() {
        for shape in [[6, 4], [4, 6], [5, 5]] {
            let q = Init.orthogonal(shape, dtype: .float64)
            let gram = shape[0] >= shape[1] ? q.transposed().matmul(q) : q.matmul(q.transposed())
            let n = min(shape[0], shape[1])
            let identity = (0..<n * n).map { $0 / n == $0 % n ? 1.0 : 0.0 }
            expectClose(gram, identity, atol: 1e-12)
        }
    }
}
