/// Gradient clipping, as `torch.nn.utils.clip_grad_norm_` and `clip_grad_value_`.
///
/// Gradients may share storage with other gradients of the same backward pass, so clipping replaces each
/// `grad` with a scaled copy rather than writing into it.
public enum GradientClipping {
    /// Scales all gradients by `maxNorm / (‖g‖ + 1e-6)` when the global L2 norm `‖g‖` exceeds `maxNorm`.
    /// - Returns: the global norm before clipping.
    @discardableResult
    public static func clipByNorm(_ parameters: [Tensor], maxNorm: Double) -> Double {
        let grads = parameters.compactMap(\.grad)
        let total = withNoGrad { grads.reduce(0.0) { $0 + ($1 * $1).sum().item() } }.squareRoot()
        let coefficient = maxNorm / (total + 1e-6)
        if coefficient < 1 {
            withNoGrad { for p in parameters { p.grad = p.grad.map { $0 * coefficient } } }
        }
        return total
    }

    /// Clamps every gradient element into `[-limit, limit]`.
    public static func clipByValue(_ parameters: [Tensor], limit: Double) {
        require(limit >= 0, "clipByValue: limit must be non-negative, got \(limit)")
        withNoGrad {
            for p in parameters { p.grad = p.grad?.clamp(min: -limit, max: limit) }
        }
    }
}
