import RealModule

/// Loss functions. Shapes: `N` = samples, `C` = classes.
public enum Loss {
    /// Cross-entropy from logits with integer class targets, as `F.cross_entropy`, in one fused op.
    ///
    /// Per sample, with log-probabilities `ℓ = logSoftmax(z)`, class weights `w` (ones by default) and
    /// label smoothing `ε`: `Lᵢ = (1 − ε)·w[yᵢ]·(−ℓ[yᵢ]) + (ε / C)·Σ_c w[c]·(−ℓ[c])`. Samples whose target is
    /// `ignoreIndex` contribute nothing. `.mean` divides by `Σ w[yᵢ]` over the samples not ignored
    /// (their count when unweighted), as PyTorch does.
    ///
    /// - Parameters:
    ///   - logits: `[N, C]`.
    ///   - targets: `[N]`, int64 class indices in `0..<C` (or `ignoreIndex`).
    ///   - weight: optional `[C]` per-class weights.
    ///   - ignoreIndex: a target value that contributes neither loss nor gradient.
    ///   - reduction: `.mean` over the counted targets, `.sum`, or `.none`.
    ///   - labelSmoothing: the mass `ε` spread uniformly over the classes (targets become `(1 − ε)·onehot + ε/C`).
    /// - Returns: a scalar for `.mean`/`.sum`, `[N]` for `.none`.
    ///
    /// The backward pass recomputes the softmax from the logits and the saved per-row log-sum-exp:
    /// `∂Lᵢ/∂z_c = (1 − ε)·w[yᵢ]·(p_c − δ_c,yᵢ) + (ε / C)·(W·p_c − w[c])` with `W = Σ_k w[k]`.
    public static func crossEntropy(_ logits: Tensor, _ targets: Tensor, weight: Tensor? = nil, ignoreIndex: Int = -100,
                                    labelSmoothing: Double = 0, reduction: Reduction = .mean) -> Tensor {
        Tensor.crossEntropy(logits, targets, weight: weight, ignoreIndex: ignoreIndex, labelSmoothing: labelSmoothing,
                            reduction: reduction)
    }

    /// Negative log-likelihood of log-probabilities `[N, C]` at integer targets `[N]`, as `F.nll_loss`:
    /// `Lᵢ = −w[yᵢ]·input[i, yᵢ]`; `.mean` divides by `Σ w[yᵢ]` over samples not ignored.
    public static func nll(_ logProbabilities: Tensor, _ targets: Tensor, weight: Tensor? = nil, ignoreIndex: Int = -100,
                           reduction: Reduction = .mean) -> Tensor {
        require(logProbabilities.rank == 2 && targets.shape == [logProbabilities.shape[0]] && targets.dtype == .int64,
                     "nll: input \(logProbabilities.shape) and targets \(targets.shape) (\(targets.dtype)) must be [N, C] and int64 [N]")
        let classes = logProbabilities.shape[1]
        let kept = targets.ne(Double(ignoreIndex))
        let safeTargets = Tensor.where(kept, targets, Tensor.zeros([], dtype: .int64))
        let picked = logProbabilities.gather(dim: 1, index: safeTargets.unsqueezed(1)).squeezed(1)  // [N]
        let w = weight.map { $0.indexSelect(dim: 0, index: safeTargets) } ?? Tensor.ones([targets.count], dtype: logProbabilities.dtype)
        require(weight == nil || weight!.shape == [classes], "nll: weight \(weight!.shape) must be [\(classes)] for input \(logProbabilities.shape)")
        let sampleWeight = w * kept.to(logProbabilities.dtype)
        let losses = -picked * sampleWeight
        return reduce(losses, reduction, denominator: sampleWeight.sum())
    }

    /// Mean squared error, `(x − y)²`, as `F.mse_loss`.
    public static func mse(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
        checkSameShape("mse", input, target)
        let d = input - target
        return reduce(d * d, reduction)
    }

    /// Mean absolute error, `|x − y|`, as `F.l1_loss`.
    public static func l1(_ input: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
        checkSameShape("l1", input, target)
        return reduce((input - target).abs(), reduction)
    }

    /// Smooth L1, as `F.smooth_l1_loss`: `0.5·d²/β` where `|d| < β`, else `|d| − 0.5·β`.
    public static func smoothL1(_ input: Tensor, _ target: Tensor, beta: Double = 1, reduction: Reduction = .mean) -> Tensor {
        checkSameShape("smoothL1", input, target)
        require(beta > 0, "smoothL1: beta must be positive, got \(beta)")
        let d = (input - target).abs()
        return reduce(Tensor.where(d.lt(beta), d * d * (0.5 / beta), d - 0.5 * beta), reduction)
    }

    /// Huber loss, as `F.huber_loss`: `0.5·d²` where `|d| < δ`, else `δ·(|d| − 0.5·δ)` (smooth L1 scaled by δ).
    public static func huber(_ input: Tensor, _ target: Tensor, delta: Double = 1, reduction: Reduction = .mean) -> Tensor {
        checkSameShape("huber", input, target)
        require(delta > 0, "huber: delta must be positive, got \(delta)")
        let d = (input - target).abs()
        return reduce(Tensor.where(d.lt(delta), d * d * 0.5, (d - 0.5 * delta) * delta), reduction)
    }

    /// Binary cross-entropy from logits, as `F.binary_cross_entropy_with_logits`, in the stable form
    /// `(1 − y)·x + log(1 + e^(−x))` computed as `max(x, 0) − x·y + log(1 + e^(−|x|))`, optionally
    /// weighting the positive term by `positiveWeight`.
    public static func binaryCrossEntropyWithLogits(_ logits: Tensor, _ target: Tensor, positiveWeight: Tensor? = nil,
                                                    reduction: Reduction = .mean) -> Tensor {
        checkSameShape("binaryCrossEntropyWithLogits", logits, target)
        // log(1 + e^(−|x|)) + max(−x, 0) = −log σ(x); the loss is (1 − y)·x − (p·y + 1 − y)·log σ(x) with p the positive weight.
        let negLogSigmoid = ((-logits.abs()).exp() + 1.0).log() + (-logits).relu()
        let weightOnLog = positiveWeight.map { ($0 - 1.0) * target + 1.0 } ?? Tensor.ones([], dtype: logits.dtype)
        return reduce((1.0 - target) * logits + weightOnLog * negLogSigmoid, reduction)
    }

    private static func checkSameShape(_ op: String, _ a: Tensor, _ b: Tensor) {
        require(a.shape == b.shape, "\(op): input \(a.shape) and target \(b.shape) must have the same shape")
    }

    private static func reduce(_ losses: Tensor, _ reduction: Reduction, denominator: Tensor? = nil) -> Tensor {
        switch reduction {
        case .none: losses
        case .sum: losses.sum()
        case .mean: denominator.map { losses.sum() / $0 } ?? losses.mean()
        }
    }
}

