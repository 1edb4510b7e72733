/// The outcome of `gradcheck`: whether it passed, and for each failure what differed where.
public struct GradCheckResult: Sendable, CustomStringConvertible {
    /// Whether every element agreed.
    public var passed: Bool { failures.isEmpty }
    /// One line per mismatching element, or per other failed check.
    public var failures: [String]
    /// The largest |analytic − numeric| seen over all inputs.
    public var maxAbsoluteError: Double

    /// `passed`, or a line per failing element.
    public var description: String {
        passed ? "gradcheck passed (max abs error \(maxAbsoluteError))"
               : "gradcheck failed:\n" + failures.prefix(10).joined(separator: "\n")
    }
}

/// Checks the analytic gradients of `function` against central finite differences, in Float64.
///
/// The output is contracted with a random upstream gradient `v` (so a pullback that forgets to multiply by
/// its incoming gradient fails), the scalar `Σ f(x)·v` is differentiated analytically by `backward()` and
/// numerically with `(L(x + eps) − L(x − eps)) / 2eps` element by element. An element passes iff
/// `|analytic − numeric| ≤ atol + rtol·|numeric|`. Backward is then run a second time over the same graph,
/// and the gradients must be bit-identical to the first run.
///
/// - Parameters:
///   - inputs: the arguments. Float64 tensors are checked (they become leaves requiring grad); tensors of
///     other dtypes (indices, masks) are passed through unchanged.
///   - eps: the finite-difference step.
///   - atol: the absolute tolerance.
///   - rtol: the relative tolerance.
///   - seed: seeds the random upstream gradient.
///   - function: the computation under test.
/// - Returns: the result, with a line per failing element.
public func gradcheck(_ inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
                      seed: UInt64 = 0x5EED, _ function: ([Tensor]) -> Tensor) -> GradCheckResult {
    require(inputs.contains { $0.dtype == .float64 }, "gradcheck: at least one input must be float64")
    let leaves = gradcheckLeaves(inputs)
    return checkGradients(of: leaves, eps: eps, atol: atol, rtol: rtol, seed: seed) { function(leaves) }
}

/// Fresh leaves for `inputs`: float64 ones require grad, the others (indices, masks) are passed as they are.
func gradcheckLeaves(_ inputs: [Tensor]) -> [Tensor] {
    inputs.map { input -> Tensor in
        let copy = input.contiguous().clone().detached()
        copy.requiresGrad = input.dtype == .float64
        return copy
    }
}

/// The check over leaf tensors that `function` reads and that can be perturbed in place (`gradcheck` of
/// inputs, and of a module's parameters in NN/ModuleGradCheck.swift).
func checkGradients(of leaves: [Tensor], eps: Double, atol: Double, rtol: Double, seed: UInt64,
                            _ function: () -> Tensor) -> GradCheckResult {
    var generator = RandomGenerator(seed: seed)
    let output = function()
    require(output.dtype == .float64, "gradcheck: the function must return float64, got \(output.dtype)")
    let upstream = Tensor((0..<output.count).map { _ in generator.nextNormal() }, shape: output.shape)
    var result = GradCheckResult(failures: [], maxAbsoluteError: 0)
    guard output.isTracked else {
        result.failures.append("the output is not connected to any float64 input")
        return result
    }
    output.backward(seed: upstream, retainGraph: true)
    let firstRun = leaves.map { $0.grad?.toDoubles() }
    for leaf in leaves { leaf.zeroGrad() }
    output.backward(seed: upstream, retainGraph: true)
    for (index, leaf) in leaves.enumerated() where leaf.requiresGrad {
        let second = leaf.grad?.toDoubles()
        if second?.map(\.bitPattern) != firstRun[index]?.map(\.bitPattern) {
            result.failures.append("input \(index): a second backward gave different gradients")
        }
    }

    func contracted() -> Double {
        withNoGrad { (function() * upstream).sum().item() }
    }
    for (index, leaf) in leaves.enumerated() where leaf.requiresGrad {
        if let g = leaf.grad, g.shape != leaf.shape {
            result.failures.append("input \(index): gradient shape \(g.shape) differs from input shape \(leaf.shape)")
            continue
        }
        let analytic = leaf.grad?.toDoubles() ?? [Double](repeating: 0, count: leaf.count)
        let values = leaf.pointer(Double.self)
        for element in 0..<leaf.count {
            let original = values[element]
            values[element] = original + eps
            let plus = contracted()
            values[element] = original - eps
            let minus = contracted()
            values[element] = original
            let numeric = (plus - minus) / (2 * eps)
            let error = abs(analytic[element] - numeric)
            result.maxAbsoluteError = max(result.maxAbsoluteError, error)
            if !(error <= atol + rtol * abs(numeric)) {
                result.failures.append("input \(index) \(leaf.shape) element \(element): analytic \(analytic[element]), numeric \(numeric)")
            }
        }
    }
    return result
}
