import Foundation
import Strata
import Testing

// Golden tests compare Strata with PyTorch on the files Tests/Golden/make_goldens.py writes
// (rerun it with `python3 Tests/Golden/make_goldens.py`). Each `<case>.safetensors` holds `state.*` (the
// PyTorch state dict), `input.<i>`, `output.<i>`, `upstream.<i>`, `grad.input.<i>`, `grad.param.<name>`
// and `after.*` (the state dict after the forward); see the script's docstring.

/// The Float32 tolerance of every golden comparison of a layer: `|actual − expected| ≤ atol + rtol·|expected|`.
let goldenTolerance = (atol: 1e-5, rtol: 1e-4)

/// The directory holding the golden files: `Tests/Golden`, found from this source file's path.
let goldenDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()    // Tests/StrataTests/Golden
    .deletingLastPathComponent()    // Tests/StrataTests
    .deletingLastPathComponent()    // Tests
    .appendingPathComponent("Golden")

/// The tensors of one golden case, `Tests/Golden/<name>.safetensors`.
struct Golden {
    let name: String
    let tensors: [String: Tensor]

    init(_ name: String) throws {
        self.name = name
        tensors = try Safetensors.load(goldenDirectory.appendingPathComponent("\(name).safetensors"))
    }

    /// The tensor stored under `key`; a missing key is a broken golden file.
    subscript(_ key: String) -> Tensor {
        guard let t = tensors[key] else { fatalError("golden \(name): no tensor \(key)") }
        return t
    }

    /// The tensors named `<prefix>.<rest>`, keyed by `<rest>`.
    func group(_ prefix: String) -> [String: Tensor] {
        var found: [String: Tensor] = [:]
        for (key, t) in tensors where key.hasPrefix(prefix + ".") { found[String(key.dropFirst(prefix.count + 1))] = t }
        return found
    }

    /// `<prefix>.0`, `<prefix>.1`, … up to the first missing index.
    func numbered(_ prefix: String) -> [Tensor] {
        var found: [Tensor] = []
        while let t = tensors["\(prefix).\(found.count)"] { found.append(t) }
        return found
    }
}

/// Expects `actual` to have `expected`'s shape and every element within `atol + rtol·|expected|` of it
/// (the test `expectClose` makes), reporting the worst element under `label` in one expectation.
func expectGoldenClose(_ actual: Tensor, _ expected: Tensor, _ label: String,
                       atol: Double = goldenTolerance.atol, rtol: Double = goldenTolerance.rtol,
                       sourceLocation: SourceLocation = #_sourceLocation) {
    guard actual.shape == expected.shape else {
        Issue.record("\(label): shape \(actual.shape), PyTorch \(expected.shape)", sourceLocation: sourceLocation)
        return
    }
    var worst: (index: Int, excess: Double, actual: Double, expected: Double)?
    for (i, (a, e)) in zip(actual.toDoubles(), expected.toDoubles()).enumerated() {
        let excess = abs(a - e) - (atol + rtol * abs(e))
        if (a != e && !(excess <= 0)) && (worst == nil || excess > worst!.excess || excess.isNaN) {
            worst = (i, excess, a, e)
        }
    }
    #expect(worst == nil, "\(label): element \(worst?.index ?? 0) is \(worst?.actual ?? 0), PyTorch \(worst?.expected ?? 0) (atol \(atol), rtol \(rtol))",
            sourceLocation: sourceLocation)
}

/// Checks one golden case: loads `state.*` into `module` with `loadStateDict(strict: true)` (so the names and
/// shapes must be PyTorch's), sets training or evaluation mode, runs `forward` on the inputs, and compares
/// the outputs; then back-propagates `Σᵢ (outputᵢ · upstreamᵢ).sum()` and compares the input and parameter
/// gradients; finally compares `after.*` with the module's state dict.
///
/// Float inputs with a stored gradient require grad. `module` is nil for functional cases (losses).
func checkGolden(_ name: String, module: (any Module)?, training: Bool = true,
                 sourceLocation: SourceLocation = #_sourceLocation,
                 _ forward: ([Tensor]) -> [Tensor]) throws {
    let golden = try Golden(name)
    if let module {
        try module.loadStateDict(golden.group("state"), strict: true)
        if training { module.train() } else { module.eval() }
    } else {
        #expect(golden.group("state").isEmpty, "\(name): a functional case has no state", sourceLocation: sourceLocation)
    }
    let inputs = golden.numbered("input").enumerated().map { i, x in
        let leaf = x.clone()
        leaf.requiresGrad = golden.tensors["grad.input.\(i)"] != nil
        return leaf
    }

    let outputs = forward(inputs)
    let expected = golden.numbered("output")
    #expect(outputs.count == expected.count, "\(name): \(outputs.count) outputs, PyTorch \(expected.count)",
            sourceLocation: sourceLocation)
    for (i, (out, want)) in zip(outputs, expected).enumerated() {
        expectGoldenClose(out, want, "\(name) output \(i)", sourceLocation: sourceLocation)
    }

    let upstream = golden.numbered("upstream")
    if !upstream.isEmpty {
        let terms = zip(outputs, upstream).map { out, up in (out * up).sum() }
        let total = terms.dropFirst().reduce(terms[0]) { sum, term in sum + term }
        total.backward()
        for (i, x) in inputs.enumerated() {
            guard let want = golden.tensors["grad.input.\(i)"] else { continue }
            guard let grad = x.grad else {
                Issue.record("\(name): input \(i) got no gradient", sourceLocation: sourceLocation)
                continue
            }
            expectGoldenClose(grad, want, "\(name) grad of input \(i)", sourceLocation: sourceLocation)
        }
        let wanted = golden.group("grad.param")
        for (parameter, tensor) in module?.namedParameters() ?? [] {
            guard let want = wanted[parameter] else {
                #expect(tensor.grad == nil, "\(name): \(parameter) got a gradient PyTorch does not have", sourceLocation: sourceLocation)
                continue
            }
            guard let grad = tensor.grad else {
                Issue.record("\(name): parameter \(parameter) got no gradient", sourceLocation: sourceLocation)
                continue
            }
            expectGoldenClose(grad, want, "\(name) grad of \(parameter)", sourceLocation: sourceLocation)
        }
        let own = Set(module?.namedParameters().map(\.name) ?? [])
        for parameter in wanted.keys where !own.contains(parameter) {
            Issue.record("\(name): PyTorch has a gradient for \(parameter), which the module lacks", sourceLocation: sourceLocation)
        }
    }

    let state = module?.stateDict() ?? [:]
    for (key, want) in golden.group("after") {
        guard let have = state[key] else {
            Issue.record("\(name): no state entry \(key) to compare after the forward", sourceLocation: sourceLocation)
            continue
        }
        expectGoldenClose(have, want, "\(name) \(key) after the forward", sourceLocation: sourceLocation)
    }
}

/// `checkGolden` for a one-tensor-in, one-tensor-out layer.
func checkGolden(_ name: String, layer: any Layer, training: Bool = true,
                 sourceLocation: SourceLocation = #_sourceLocation) throws {
    try checkGolden(name, module: layer, training: training, sourceLocation: sourceLocation) { [layer($0[0])] }
}
