/// Cross-entropy from logits, fused; `Loss.crossEntropy` (NN/Losses.swift) is its public face.
/// Shapes: `N` = samples, `C` = classes.

/// How a loss combines per-sample values, as PyTorch's `reduction=` argument.
public enum Reduction: String, Sendable, CaseIterable {
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
        func forward<T: FloatElement>(_: T.Type) {
            crossEntropyForward(T.self, z.pointer(T.self), rows: n, c: c, labels: y, ignoreIndex: Int64(ignoreIndex),
                                weight: w.pointer(T.self), smoothing: T(fromDouble: labelSmoothing),
                                loss: perSample.pointer(T.self), logSumExp: logSumExp.pointer(T.self))
        }
        switch logits.dtype {
        case .float32: forward(Float.self)
        case .float64: forward(Double.self)
        default: unsupported("crossEntropy", logits.dtype)
        }
        // The mean divides by the summed weight of the samples that count, as PyTorch.
        let weights = w.toDoubles()
        let denominator = y.reduce(0.0) { $1 == Int64(ignoreIndex) ? $0 : $0 + weights[Int($1)] }
        let output: Tensor = withNoGrad {
            switch reduction {
            case .none: perSample
            case .sum: perSample.sum()
            case .mean: perSample.sum() / denominator
            }
        }
        let scale = reduction == .mean ? 1 / denominator : 1
        return Tensor.differentiable("crossEntropy", inputs: [logits], output: output) { g in
            // g: [] for mean/sum (read through stride 0), [N] for none.
            let upstream = g.contiguousData()
            let grad = Tensor(uninitialized: [n, c], dtype: z.dtype)
            func backward<T: FloatElement>(_: T.Type) {
                crossEntropyBackward(T.self, z.pointer(T.self), logSumExp: logSumExp.pointer(T.self), rows: n, c: c,
                                     labels: y, ignoreIndex: Int64(ignoreIndex), weight: w.pointer(T.self),
                                     smoothing: T(fromDouble: labelSmoothing), upstream: upstream.pointer(T.self),
                                     upstreamStride: g.count == 1 ? 0 : 1, scale: T(fromDouble: scale),
                                     into: grad.pointer(T.self))
            }
            switch z.dtype {
            case .float32: backward(Float.self)
            default: backward(Double.self)
            }
            return [grad]
        }
    }
}
