/// Checks the gradients of `function` with respect to `inputs` and every trainable parameter of `module`,
/// which must be float64. Parameters are perturbed in place and restored.
public func gradcheck(_ module: some Module, inputs: [Tensor], eps: Double = 1e-6, atol: Double = 1e-5, rtol: Double = 1e-3,
                      seed: UInt64 = 0x5EED, _ function: ([Tensor]) -> Tensor) -> GradCheckResult {
    let parameters = module.trainableParameters()
    require(parameters.allSatisfy { $0.dtype == .float64 && $0.isContiguous },
                 "gradcheck: the module's parameters must be contiguous float64 tensors")
    let leaves = gradcheckLeaves(inputs)
    module.zeroGrad()
    defer { module.zeroGrad() }
    return checkGradients(of: leaves + parameters, eps: eps, atol: atol, rtol: rtol, seed: seed) { function(leaves) }
}
