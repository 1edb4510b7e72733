/// Cross-entropy from logits, fused; `Loss.crossEntropy` (NN/Losses.swift) is its public face.
/// Shapes: `N` = samples, `C` = classes.

/// How a loss combines per-sample values, as PyTorch's `reduction=` argument.
public enum Reduction: String, Sendable, CaseIterable {
    /// The mean over elements (PyTorch's default), their sum, or the unreduced per-element losses.
    case mean, sum, none
}

extension Tensor {
    /// The fused cross-entropy op behind `Loss.crossEntropy` (see there): one pass for the log-softmax and the
    /// per-sample losses, and a pullback that recomputes the softmax from the logits and the saved log-sum-exp.
    static func crossEntropy(_ logits: Tensor, _ targets: Tensor, weight: Tensor?, ignoreIndex: Int,
                             labelSmoothing: Double, reduction: Reduction) -> Tensor {
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
}
