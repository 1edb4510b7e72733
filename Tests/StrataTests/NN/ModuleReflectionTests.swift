import Strata
import Testing

// What `Module`'s default `entries` finds, names and refuses (the table on `Module`).

private func leaf(_ shape: [Int]) -> Tensor {
    let t = Tensor.zeros(shape)
    t.requiresGrad = true
    return t
}

/// A base class with state of its own, so that a subclass's entries include it, first.
private class Block: Module {
    let proj = Linear(2, 2)
    var scale = leaf([1])
}

/// Every supported form, alongside properties that hold no state and are ignored.
private final class Everything: Block {
    var list = [leaf([1]), leaf([2])]                       // ParameterList
    var table = ["beta": leaf([3]), "alpha": leaf([4])]     // ParameterDict, sorted keys
    let heads: [any Layer] = [Linear(2, 3), ReLU()]                   // ModuleList
    let branches = ["right": Linear(2, 1), "left": Linear(2, 1)]     // ModuleDict, sorted keys
    var gate: Tensor? = leaf([5])
    var missing: Tensor? = nil
    let extra: Linear? = Linear(1, 1)
    let absent: Linear? = nil
    var maybeList: [Tensor]? = [leaf([6])]
    @Buffer var counter = Tensor.zeros([1])
    lazy var cache = leaf([7])
    // Ignored: no tensor or module inside, or a reference to an object that is not a module.
    let width = 3, name = "block", rate = 0.5, flag = true
    let sizes = [1, 2, 3], settings = (stride: 2, padding: 1), dtype = DType.float32
    let activation: (Tensor) -> Tensor = { $0.relu() }
    let optimizer = SGD([leaf([1])], learningRate: 0.1)
    var emptyList: [Tensor] = []
}

@Suite struct ModuleReflectionTests {
    @Test func everySupportedFormIsNamedAsPyTorchNamesIt() {
        let module = Everything()
        _ = module.cache                                                 // a lazy var counts once it exists
        #expect(module.namedEntries().filter { if case .module = $0.entry { false } else { true } }.map(\.name) == [
            "proj.weight", "proj.bias", "scale",                        // the superclass's properties first
            "list.0", "list.1", "table.alpha", "table.beta",
            "heads.0.weight", "heads.0.bias", "branches.left.weight", "branches.left.bias",
            "branches.right.weight", "branches.right.bias", "gate", "extra.weight", "extra.bias", "maybe_list.0",
            "counter", "cache",
        ])
        #expect(module.namedBuffers().map(\.name) == ["counter"])
        #expect(module.modules().count == 1 + 1 + 2 + 2 + 1)             // itself, proj, heads, branches, extra
        #expect(module.stateDict()["table.alpha"]?.shape == [4])
    }

    @Test func entriesAreLookedUpByDottedName() {
        let module = Everything()
        #expect(module.parameter(named: "table.beta")?.shape == [3])
        #expect(module.parameter(named: "heads.0.weight") === (module.heads[0] as! Linear).weight)
        #expect(module.parameter(named: "counter") == nil)              // a buffer, not a parameter
        #expect(module.buffer(named: "counter") != nil)
        #expect(module.module(named: "branches.left") === module.branches["left"])
        #expect(module.module(named: "heads.1") is ReLU)
        #expect(module.parameter(named: "heads.2.weight") == nil && module.parameter(named: "nonsense") == nil)
        #expect(module.module(named: "") == nil)
        // Index 1 must not match a prefix of index 10.
        let deep = Sequential((0..<11).map { _ in Linear(1, 1) })
        #expect(deep.parameter(named: "10.bias") === (deep.layers[10] as! Linear).bias)
        #expect(deep.parameter(named: "1.bias") === (deep.layers[1] as! Linear).bias)
        // Through nested stacks, with the names PyTorch's get_submodule takes.
        let encoder = TransformerEncoder(numLayers: 2) { TransformerEncoderLayer(dModel: 4, nhead: 2, dimFeedforward: 8) }
        #expect(encoder.module(named: "layers.1.self_attn") === encoder.layers[1].selfAttn)
        #expect(encoder.parameter(named: "layers.1.self_attn.out_proj.weight") === encoder.layers[1].selfAttn.outProj.weight)
    }

    @Test func aSharedParameterIsTrainedOnce() {
        // Tied weights: two layers hold one tensor. PyTorch's named_parameters lists it once; the state dict
        // keeps both names.
        let model = Sequential { Linear(2, 2, bias: false); Linear(2, 2, bias: false) }
        (model.layers[1] as! Linear).weight = (model.layers[0] as! Linear).weight
        #expect(model.namedParameters().map(\.name) == ["0.weight"])
        #expect(model.stateDict().keys.sorted() == ["0.weight", "1.weight"])
        let shared = Linear(2, 2)
        #expect(Sequential { shared; shared }.modules().count == 2)
    }

    // MARK: Refused properties

    /// Expects the standard error of an exit test to contain every one of `parts`.
    private func expectMessage(_ result: ExitTest.Result?, _ parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        let message = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        for part in parts { #expect(message.contains(part), "\(message)", sourceLocation: sourceLocation) }
    }

    @Test func propertiesThatCannotBeNamedStopWithTheirNameAndType() async {
        // (Set<Tensor> cannot be written: Tensor is not Hashable.)
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = OptionalList().parameters()
        }, ["OptionalList.items", "Array<Optional<Tensor>>"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = EmptyOptionalList().parameters()
        }, ["EmptyOptionalList.items", "Array<Optional<Tensor>>"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Pair().stateDict()
        }, ["Pair.both", "(Tensor, Tensor)"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Wrapped().parameters()
        }, ["Wrapped.weights", "Weights"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Nested().parameters()
        }, ["Nested.grid", "Array<Array<Tensor>>"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = IntKeyed().parameters()
        }, ["IntKeyed.table", "Dictionary<Int, Tensor>"])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = DottedKey().parameters()
        }, ["DottedKey.table", "\"a.b\""])
        expectMessage(await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Cycle().parameters()
        }, ["parent", "Cycle", "cycle"])
    }
}

private final class OptionalList: Module { var items: [Tensor?] = [leaf([1]), nil] }
private final class EmptyOptionalList: Module { var items: [Tensor?] = [] }
private final class Pair: Module { var both = (leaf([1]), leaf([1])) }
private struct Weights { var w = leaf([1]) }
private final class Wrapped: Module { var weights = Weights() }
private final class Nested: Module { var grid = [[leaf([1])]] }
private final class IntKeyed: Module { var table = [1: leaf([1])] }
private final class DottedKey: Module { var table = ["a.b": leaf([1])] }
/// A module whose child refers back to it.
private final class Cycle: Module {
    let child = Child()
    init() { child.parent = self }
    final class Child: Module { var parent: Cycle?; init() {} }
}
