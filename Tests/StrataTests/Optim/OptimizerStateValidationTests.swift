import Foundation
import Strata
import Testing

/// Optimizer `loadStateDict` checks every entry against the parameters it belongs to before changing anything (the
/// fuzz harness found a `step` of NaN or 1e300 trapping in the integer conversion, and wrong shapes, unknown buffers
/// and missing ones accepted).
@Suite struct OptimizerStateValidationTests {
    /// An Adam over a float32 [2, 3] and [2] parameter after one step, and its state dict.
    static func stepped() -> (Adam, [String: Tensor]) {
        let w = Tensor([Float](arrayLiteral: 1, 2, 3, 4, 5, 6), shape: [2, 3]), b = Tensor([Float](arrayLiteral: 1, 2), shape: [2])
        w.requiresGrad = true
        b.requiresGrad = true
        let adam = Adam([w, b])
        ((w * w).sum() + (b * b).sum()).backward()
        adam.step()
        return (adam, adam.stateDict())
    }

    @Test func itsOwnStateDictLoads() throws {
        let (adam, state) = Self.stepped()
        try adam.loadStateDict(state)
        #expect(adam.stateDict()["state.0.step"]!.toDoubles() == [1])
    }

    @Test func anEntryThatDoesNotFitIsRefusedNamingItAndNothingChanges() throws {
        let cases: [(String, Tensor?)] = [
            ("state.0.step", Tensor([Double.nan], shape: [])), ("state.0.step", Tensor([1e300], shape: []).to(.float64)),
            ("state.0.step", Tensor([-1], shape: [])), ("state.0.step", Tensor([2.5], shape: [])),
            ("state.0.step", Tensor([Int64.max], shape: [])), ("state.0.step", Tensor([Int64(1), 2], shape: [2])),
            ("state.0.step", Tensor([Int64(1)], shape: [1])), ("state.0.step", nil),
            ("param_groups.0.lr", Tensor([Double.nan], shape: [])), ("param_groups.0.lr", Tensor([-0.1], shape: [])),
            ("param_groups.0.lr", Tensor([0.1, 0.2], shape: [2])), ("param_groups.1.lr", Tensor([0.1], shape: [])),
            ("state.0.exp_avg", Tensor.zeros([3, 2])), ("state.0.exp_avg", nil),
            ("state.0.exp_avg", Tensor([1, 2, 3, 4, 5, .nan], shape: [2, 3])),
            ("state.0.exp_avg_sq", Tensor([1, 2, 3, 4, 5, 1e300], shape: [2, 3]).to(.float64)),
            ("state.0.momentum_buffer", Tensor.zeros([2, 3])), ("state.2.step", Tensor([Int64(1)], shape: [])),
            ("state.01.step", Tensor([Int64(1)], shape: [])), ("state.-1.step", Tensor([Int64(1)], shape: [])),
            ("bogus", Tensor([Int64(1)], shape: [])),
        ]
        for (key, tensor) in cases {
            let (adam, state) = Self.stepped()
            var edited = state
            edited[key] = tensor
            let error = try #require(throws: OptimizerStateError.self, "\(key)") { try adam.loadStateDict(edited) }
            #expect(error.key == key, "\(key): \(error)")
            #expect(adam.stateDict()["state.0.step"]!.toDoubles() == [1] && adam.learningRate == Adam.defaultLearningRate, "\(key)")
        }
    }

    @Test func aWholeFloatStepLoadsAsItsCount() throws {
        let (adam, state) = Self.stepped()
        var edited = state
        edited["state.0.step"] = Tensor([7.0], shape: []).to(.float64)
        try adam.loadStateDict(edited)
        #expect(adam.stateDict()["state.0.step"]!.scalars(as: Int64.self) == [7])
    }

    @Test func theBuiltInOptimizersNameTheirBuffers() {
        let p = [Tensor.zeros([2])]
        #expect(Adam(p).stateBufferNames == ["exp_avg", "exp_avg_sq"])
        #expect(AdamW(p).stateBufferNames == ["exp_avg", "exp_avg_sq"])
        #expect(SGD(p).stateBufferNames == [])
        #expect(SGD(p, momentum: 0.9).stateBufferNames == ["momentum_buffer"])
        #expect(RMSprop(p, momentum: 0.9, centered: true).stateBufferNames == ["square_avg", "grad_avg", "momentum_buffer"])
        #expect(Adagrad(p).stateBufferNames == ["sum"])
    }
}
