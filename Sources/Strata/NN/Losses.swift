import RealModule

/// How a loss combines per-sample values, as PyTorch's `reduction=` argument.
public enum Reduction: String, Sendable, CaseIterable {
    case mean, sum, none
}

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
    /// - Returns: a scalar for `.mean`/`.sum`, `[N]` for `.none`.
    ///
    /// The backward pass recomputes the softmax from the logits and the saved per-row log-sum-exp:
    /// `∂Lᵢ/∂z_c = (1 − ε)·w[yᵢ]·(p_c − δ_c,yᵢ) + (ε / C)·(W·p_c − w[c])` with `W = Σ_k w[k]`.
    public static func crossEntropy(_ logits: Tensor, _ targets: Tensor, weight: Tensor? = nil, ignoreIndex: Int = -100,
                                    labelSmoothing: Double = 0, reduction: Reduction = .mean) -> Tensor {
        require(logits.rank == 2 && targets.shape == [logits.shape[0]] && targets.dtype == .int64,
                     "crossEntropy: logits \(logits.shape) and targets \(targets.shape) (\(targets.dtype)) must be [N, C] and int64 [N]")
        require(weight == nil || weight!.shape == [logits.shape[1]],
                     "crossEntropy: weight \(weight!.shape) must be [\(logits.shape[1])] for logits \(logits.shape)")
        require((0...1).contains(labelSmoothing), "crossEntropy: label smoothing \(labelSmoothing) must be in [0, 1]")
        let (n, c) = (logits.shape[0], logits.shape[1])
        let z = logits.detached().contiguousData()
        let y = targets.contiguousData().scalars(as: Int64.self)
        for (i, label) in y.enumerated() where label != Int64(ignoreIndex) {
            require(label >= 0 && label < c, "crossEntropy: target \(label) at sample \(i) is out of range for \(c) classes")
        }
        let w = (weight?.to(logits.dtype).contiguousData() ?? Tensor.ones([c], dtype: logits.dtype))
        let perSample = Tensor(uninitialized: [n], dtype: logits.dtype)
        let logSumExp = Tensor(uninitialized: [n], dtype: logits.dtype)
        var denominator = 0.0
        func forward<T: FloatElement>(_: T.Type) {
            let zp = z.pointer(T.self), wp = w.pointer(T.self), lp = perSample.pointer(T.self), sp = logSumExp.pointer(T.self)
            let smoothing = T(labelSmoothing)
            for i in 0..<n {
                let row = zp + i * c
                let m = reduceRun(MaxReduce.self, row, c)
                var total: T = 0
                for k in 0..<c { total += T.exp(row[k] - m) }
                let lse = m + T.log(total)
                sp[i] = lse
                guard y[i] != Int64(ignoreIndex) else { lp[i] = 0; continue }
                let label = Int(y[i])
                var loss = (1 - smoothing) * wp[label] * (lse - row[label])
                if labelSmoothing > 0 {
                    var weighted: T = 0
                    for k in 0..<c { weighted += wp[k] * (lse - row[k]) }
                    loss += smoothing / T(c) * weighted
                }
                lp[i] = loss
                denominator += Double(wp[label])
            }
        }
        switch logits.dtype {
        case .float32: forward(Float.self)
        case .float64: forward(Double.self)
        default: unsupported("crossEntropy", logits.dtype)
        }
        let output: Tensor = withNoGrad {
            switch reduction {
            case .none: perSample
            case .sum: perSample.sum()
            case .mean: perSample.sum() / denominator
            }
        }
        let scale = reduction == .mean ? 1 / denominator : 1
        return Tensor.differentiable("crossEntropy", inputs: [logits], output: output) { g in
            // g: [] for mean/sum, [N] for none.
            let upstream = g.expanded(to: [n]).contiguousData()
            let grad = Tensor(uninitialized: [n, c], dtype: z.dtype)
            func backward<T: FloatElement>(_: T.Type) {
                let zp = z.pointer(T.self), wp = w.pointer(T.self), sp = logSumExp.pointer(T.self)
                let gp = upstream.pointer(T.self), dp = grad.pointer(T.self)
                let smoothing = T(labelSmoothing)
                var totalWeight: T = 0
                for k in 0..<c { totalWeight += wp[k] }
                for i in 0..<n {
                    let out = dp + i * c
                    guard y[i] != Int64(ignoreIndex) else { out.update(repeating: 0, count: c); continue }
                    let row = zp + i * c, label = Int(y[i])
                    let s = gp[i] * T(scale)
                    let hard = (1 - smoothing) * wp[label]
                    let soft = smoothing / T(c)
                    for k in 0..<c {
                        let p = T.exp(row[k] - sp[i])
                        out[k] = s * (hard * p + soft * (totalWeight * p - wp[k]))
                    }
                    out[label] -= s * hard
                }
            }
            switch z.dtype {
            case .float32: backward(Float.self)
            default: backward(Double.self)
            }
            return [grad]
        }
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

