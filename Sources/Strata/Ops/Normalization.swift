/// Fused normalisation ops: layer, group and batch normalisation, each one forward kernel that computes
/// the statistics and the normalised, scaled output, and one backward kernel for dx, dγ and dβ.
///
/// Shapes: `N` = batch, `C` = channels, `S` = positions per channel (the product of the dims after `C`),
/// `G` = groups, `M` = rows of a layer norm, `K` = elements each row normalises over.
/// Layer norm over `[M, K]` is group norm with `N = M`, `C = K`, `S = 1`, `G = 1`, so both share the
/// group kernels: the C group-norm family for Float32 (Kernels/GroupNormKernels.swift), Swift loops for Float64.
/// Batch norm normalises each channel over `N·S` strided elements and has its own: the C kernels of
/// `BatchNormKernels` for Float32 (statistics, forward map, backward), Swift loops for Float64.
///
/// reference (backward, over the normalised set of size B, with x̂ = (x − μ)·rstd):
/// `dx = rstd·(dy·γ − mean(dy·γ) − x̂·mean(dy·γ·x̂))`, `dγ = Σ dy·x̂`, `dβ = Σ dy`.
extension Tensor {
    /// Layer normalisation over the trailing `normalizedShape` dims, as `F.layer_norm`.
    ///
    /// `y = (x − E[x]) / √(Var[x] + eps) · γ + β`, with the biased variance over the last
    /// `normalizedShape.count` dims. `input [..., *normalizedShape]`, `weight`/`bias` `normalizedShape`.
    public static func layerNorm(_ input: Tensor, normalizedShape: [Int], weight: Tensor? = nil, bias: Tensor? = nil,
                                 eps: Double = 1e-5) -> Tensor {
        let k = normalizedShape.count
        require(input.rank >= k && Array(input.shape.suffix(k)) == normalizedShape,
                     "layerNorm: input \(input.shape) does not end in normalized shape \(normalizedShape)")
        require(weight == nil || weight!.shape == normalizedShape,
                     "layerNorm: weight \(weight!.shape) differs from normalized shape \(normalizedShape)")
        require(bias == nil || bias!.shape == normalizedShape,
                     "layerNorm: bias \(bias!.shape) differs from normalized shape \(normalizedShape)")
        let rows = input.shape.dropLast(k).reduce(1, *)
        return groupNormalized(input, n: rows, c: Shape.count(normalizedShape), s: 1, groups: 1,
                               weight: weight, bias: bias, eps: eps, op: "layerNorm")
    }

    /// Group normalisation, as `F.group_norm`: the `C` channels are split into `groups` groups and each
    /// sample's group is normalised over its `C/G · S` elements, then scaled per channel.
    ///
    /// `input [N, C, *]`, `weight`/`bias` `[C]` → `[N, C, *]`. `groups = 1` is layer norm over `[C, *]`
    /// (with per-channel affine), `groups = C` is instance norm.
    public static func groupNorm(_ input: Tensor, groups: Int, weight: Tensor? = nil, bias: Tensor? = nil,
                                 eps: Double = 1e-5) -> Tensor {
        require(input.rank >= 2, "groupNorm: input \(input.shape) must be [N, C, *]")
        let (n, c) = (input.shape[0], input.shape[1])
        require(groups > 0 && c % groups == 0, "groupNorm: \(c) channels of input \(input.shape) do not split into \(groups) groups")
        require(weight == nil || weight!.shape == [c], "groupNorm: weight \(weight!.shape) must be [\(c)] for input \(input.shape)")
        require(bias == nil || bias!.shape == [c], "groupNorm: bias \(bias!.shape) must be [\(c)] for input \(input.shape)")
        return groupNormalized(input, n: n, c: c, s: input.shape.dropFirst(2).reduce(1, *), groups: groups,
                               weight: weight, bias: bias, eps: eps, op: "groupNorm")
    }

    /// Batch normalisation, as `F.batch_norm`: each channel is normalised over the batch and positions.
    ///
    /// `input [N, C, *]`, `runningMean`/`runningVar`/`weight`/`bias` `[C]` → `[N, C, *]`.
    /// - Training: normalises with the batch mean and biased variance over `N·S` elements and, when running
    ///   statistics are given, updates them in place with the unbiased variance:
    ///   `running = (1 − momentum)·running + momentum·stat`.
    /// - Evaluation: normalises with `runningMean` and `runningVar` (required), which are constants to autograd.
    public static func batchNorm(_ input: Tensor, runningMean: Tensor?, runningVar: Tensor?,
                                 weight: Tensor? = nil, bias: Tensor? = nil, training: Bool,
                                 momentum: Double = 0.1, eps: Double = 1e-5) -> Tensor {
        require(input.rank >= 2, "batchNorm: input \(input.shape) must be [N, C, *]")
        let (n, c, s) = (input.shape[0], input.shape[1], input.shape.dropFirst(2).reduce(1, *))
        for (name, t) in [("runningMean", runningMean), ("runningVar", runningVar), ("weight", weight), ("bias", bias)] {
            require(t == nil || t!.shape == [c], "batchNorm: \(name) \(t!.shape) must be [\(c)] for input \(input.shape)")
        }
        require(training || (runningMean != nil && runningVar != nil),
                     "batchNorm: evaluation mode needs runningMean and runningVar for input \(input.shape)")
        let count = n * s
        require(!training || count != 1,
                     "batchNorm: expected more than 1 value per channel when training, got input \(input.shape)")
        let dtype = input.dtype
        let x = input.detached().contiguousData()                            // [N, C, S]
        let w = weight.map { checkedValues($0, dtype, "batchNorm") }          // [C]
        let b = bias.map { checkedValues($0, dtype, "batchNorm") }            // [C]
        let mean = Tensor(uninitialized: [c], dtype: dtype)
        let variance = Tensor(uninitialized: [c], dtype: dtype)               // biased
        let rstd = Tensor(uninitialized: [c], dtype: dtype)
        let out = Tensor(uninitialized: input.shape, dtype: dtype)
        let useBatchStats = training && count > 0
        func statistics<T: FloatElement>(_: T.Type, _ batch: () -> Void) {
            if useBatchStats {
                batch()
            } else if training {
                mean.fill(0); variance.fill(1)
            } else {
                mean.assign(runningMean!.to(dtype))
                variance.assign(runningVar!.to(dtype))
            }
            let (v, r) = (variance.pointer(T.self), rstd.pointer(T.self))
            let epsilon = T(fromDouble: eps)
            for ch in 0..<c { r[ch] = 1 / (v[ch] + epsilon).squareRoot() }
        }
        switch dtype {
        case .float32:   // the C kernels: y = (x − μ)·(γ·rstd) + β
            let kernels = BatchNormKernels.selected
            statistics(Float.self) {
                kernels.statistics(x.pointer(Float.self), n: n, c: c, s: s, mean: mean.pointer(Float.self),
                                   variance: variance.pointer(Float.self))
            }
            let (scale, shift) = channelScaleAndShift(w, b, rstd: rstd, c: c)
            kernels.affine(x.pointer(Float.self), n: n, c: c, s: s, mean: mean.pointer(Float.self), scale: scale.pointer(Float.self),
                           shift: shift.pointer(Float.self), into: out.pointer(Float.self))
        case .float64:
            statistics(Double.self) {
                channelStatistics(x.pointer(Double.self), n: n, c: c, s: s, mean: mean.pointer(Double.self),
                                  variance: variance.pointer(Double.self))
            }
            channelNormForward(x.pointer(Double.self), out.pointer(Double.self), w: w?.pointer(Double.self),
                               b: b?.pointer(Double.self), mean: mean.pointer(Double.self), rstd: rstd.pointer(Double.self),
                               n: n, c: c, s: s)
        default: unsupported("batchNorm", dtype)
        }
        if useBatchStats {
            // PyTorch keeps the unbiased variance: Var·M/(M − 1).
            let unbiased = withNoGrad { variance * (Double(count) / Double(count - 1)) }
            if let runningMean {
                runningMean.copy(from: withNoGrad { runningMean.detached().to(dtype) * (1 - momentum) + mean * momentum })
            }
            if let runningVar {
                runningVar.copy(from: withNoGrad { runningVar.detached().to(dtype) * (1 - momentum) + unbiased * momentum })
            }
        }
        let inputs = [input] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let (hasWeight, hasBias) = (weight != nil, bias != nil)
        return differentiable("batchNorm", inputs: inputs, output: out) { g in
            let (dx, dw, db) = channelNormBackward(g, x: x, weight: w, mean: mean, rstd: rstd,
                                                   n: n, c: c, s: s, batchStatistics: useBatchStats)
            return [dx] + (hasWeight ? [dw] : []) + (hasBias ? [db] : [])
        }
    }

    /// A parameter's values as a contiguous tensor of `dtype`, off the tape.
    private static func checkedValues(_ t: Tensor, _ dtype: DType, _ op: String) -> Tensor {
        require(t.dtype == dtype, "\(op): parameter dtype \(t.dtype) differs from input dtype \(dtype)")
        return t.detached().contiguousData()
    }

    /// Normalises each of the `N·G` contiguous groups of `input`, viewed as `[N, C, S]`, with a per-channel affine.
    private static func groupNormalized(_ input: Tensor, n: Int, c: Int, s: Int, groups: Int, weight: Tensor?,
                                        bias: Tensor?, eps: Double, op: String) -> Tensor {
        let dtype = input.dtype
        let x = input.detached().contiguousData()                             // [N, C, S]
        let w = weight.map { checkedValues($0, dtype, op) }                    // C elements
        let b = bias.map { checkedValues($0, dtype, op) }                      // C elements
        let mean = Tensor(uninitialized: [n * groups], dtype: dtype)           // [N, G]
        let rstd = Tensor(uninitialized: [n * groups], dtype: dtype)           // [N, G]
        let out = Tensor(uninitialized: input.shape, dtype: dtype)
        func run<T: FloatElement>(_: T.Type) {
            groupNormForward(x.pointer(T.self), out.pointer(T.self), w: w?.pointer(T.self), b: b?.pointer(T.self),
                             mean: mean.pointer(T.self), rstd: rstd.pointer(T.self), n: n, c: c, s: s, groups: groups,
                             eps: T(fromDouble: eps))
        }
        switch dtype {
        case .float32:
            GroupNormKernels.selected.forward(x.pointer(Float.self), gamma: w?.pointer(Float.self),
                                              beta: b?.pointer(Float.self), n: n, c: c, s: s, groups: groups,
                                              eps: Float(eps), into: out.pointer(Float.self),
                                              mean: mean.pointer(Float.self), rstd: rstd.pointer(Float.self))
        case .float64: run(Double.self)
        default: unsupported(op, dtype)
        }
        let inputs = [input] + (weight.map { [$0] } ?? []) + (bias.map { [$0] } ?? [])
        let (weightShape, biasShape) = (weight?.shape, bias?.shape)
        return differentiable(op, inputs: inputs, output: out) { g in
            let (dx, dw, db) = groupNormBackward(g, x: x, weight: w, mean: mean, rstd: rstd, n: n, c: c, s: s, groups: groups)
            return [dx] + (weightShape.map { [dw.reshaped($0)] } ?? []) + (biasShape.map { [db.reshaped($0)] } ?? [])
        }
    }

    /// dx `[N, C, S]`, dγ `[C]`, dβ `[C]` of group normalisation from the upstream gradient `g`.
    private static func groupNormBackward(_ g: Tensor, x: Tensor, weight w: Tensor?, mean: Tensor, rstd: Tensor,
                                          n: Int, c: Int, s: Int, groups: Int) -> (Tensor, Tensor, Tensor) {
        let dy = g.contiguousData()
        let dx = Tensor(uninitialized: x.shape, dtype: x.dtype)
        let dw = Tensor(uninitialized: [c], dtype: x.dtype), db = Tensor(uninitialized: [c], dtype: x.dtype)
        func run<T: FloatElement>(_: T.Type) {
            let (xp, gp, dxp) = (x.pointer(T.self), dy.pointer(T.self), dx.pointer(T.self))
            let wp = w?.pointer(T.self)
            let (mp, rp) = (mean.pointer(T.self), rstd.pointer(T.self))
            let perGroup = c / groups, blockSize = perGroup * s
            // dx, one group of one sample at a time: two sums over the block, then the formula above.
            parallelFor(n * groups, grain: Swift.max(1, 16_384 / Swift.max(blockSize, 1))) { blocks in
                for block in blocks {
                    let (mu, r) = (mp[block], rp[block])
                    let first = (block % groups) * perGroup
                    let base = block * blockSize
                    var sumDy: T = 0, sumDyXhat: T = 0
                    for j in 0..<perGroup {
                        let gamma = wp?[first + j] ?? 1
                        for i in base + j * s..<base + (j + 1) * s {
                            let d = gp[i] * gamma
                            sumDy += d
                            sumDyXhat += d * (xp[i] - mu) * r
                        }
                    }
                    let (meanDy, meanDyXhat) = (sumDy / T(blockSize), sumDyXhat / T(blockSize))
                    for j in 0..<perGroup {
                        let gamma = wp?[first + j] ?? 1
                        for i in base + j * s..<base + (j + 1) * s {
                            dxp[i] = r * (gp[i] * gamma - meanDy - (xp[i] - mu) * r * meanDyXhat)
                        }
                    }
                }
            }
            // dγ, dβ: each chunk owns a range of channels and walks the samples in memory order.
            let (dwp, dbp) = (dw.pointer(T.self), db.pointer(T.self))
            parallelFor(c, grain: Swift.max(1, 16_384 / Swift.max(n * s, 1))) { channels in
                for ch in channels { dwp[ch] = 0; dbp[ch] = 0 }
                for sample in 0..<n {
                    for ch in channels {
                        let block = sample * groups + ch / perGroup
                        let (mu, r) = (mp[block], rp[block])
                        var sumDyXhat: T = 0, sumDy: T = 0
                        for i in (sample * c + ch) * s..<(sample * c + ch + 1) * s {
                            sumDyXhat += gp[i] * (xp[i] - mu) * r
                            sumDy += gp[i]
                        }
                        dwp[ch] += sumDyXhat
                        dbp[ch] += sumDy
                    }
                }
            }
        }
        switch x.dtype {
        case .float32:
            let partials = Tensor(uninitialized: [GroupNormKernels.partials(blocks: n * groups, blockSize: c / groups * s), 2 * c],
                                  dtype: .float32)
            GroupNormKernels.selected.backward(dy.pointer(Float.self), x.pointer(Float.self), gamma: w?.pointer(Float.self),
                                               mean: mean.pointer(Float.self), rstd: rstd.pointer(Float.self), n: n, c: c,
                                               s: s, groups: groups, partials: partials.pointer(Float.self),
                                               dx: dx.pointer(Float.self), dgamma: dw.pointer(Float.self),
                                               dbeta: db.pointer(Float.self))
        case .float64: run(Double.self)
        default: unsupported("groupNorm backward", x.dtype)
        }
        return (dx, dw, db)
    }

    /// Float32 `γ·rstd` and `β` per channel (1 and 0 without the affine parameters), `[C]` each.
    private static func channelScaleAndShift(_ w: Tensor?, _ b: Tensor?, rstd: Tensor, c: Int) -> (Tensor, Tensor) {
        let scale = Tensor(uninitialized: [c], dtype: .float32), shift = Tensor(uninitialized: [c], dtype: .float32)
        let (sp, hp, r) = (scale.pointer(Float.self), shift.pointer(Float.self), rstd.pointer(Float.self))
        let (wp, bp) = (w?.pointer(Float.self), b?.pointer(Float.self))
        for ch in 0..<c {
            sp[ch] = (wp?[ch] ?? 1) * r[ch]
            hp[ch] = bp?[ch] ?? 0
        }
        return (scale, shift)
    }

    /// dx `[N, C, S]`, dγ `[C]`, dβ `[C]` of batch normalisation. With batch statistics the mean and
    /// variance depend on x and dx takes the full formula; with running statistics dx = dy·γ·rstd.
    private static func channelNormBackward(_ g: Tensor, x: Tensor, weight w: Tensor?, mean: Tensor, rstd: Tensor,
                                            n: Int, c: Int, s: Int, batchStatistics: Bool) -> (Tensor, Tensor, Tensor) {
        let dy = g.contiguousData()
        let dx = Tensor(uninitialized: x.shape, dtype: x.dtype)
        let dw = Tensor(uninitialized: [c], dtype: x.dtype), db = Tensor(uninitialized: [c], dtype: x.dtype)
        if x.dtype == .float32 {   // the C kernels; γ is constant over a channel, so mean(dy·γ) = γ·dβ/M
            let kernels = BatchNormKernels.selected
            let (xp, gp, mp, rp) = (x.pointer(Float.self), dy.pointer(Float.self), mean.pointer(Float.self), rstd.pointer(Float.self))
            let (dwp, dbp) = (dw.pointer(Float.self), db.pointer(Float.self))
            kernels.gradientSums(gp, xp, n: n, c: c, s: s, mean: mp, rstd: rp, sumDy: dbp, sumDyXhat: dwp)
            let (scale, _) = channelScaleAndShift(w, nil, rstd: rstd, c: c)
            let meanDy = Tensor(uninitialized: [c], dtype: .float32), meanDyXhat = Tensor(uninitialized: [c], dtype: .float32)
            let (md, mx, m) = (meanDy.pointer(Float.self), meanDyXhat.pointer(Float.self), Float(n * s))
            for ch in 0..<c { (md[ch], mx[ch]) = (dbp[ch] / m, dwp[ch] / m) }
            kernels.inputGradient(gp, batchStatistics ? xp : nil, n: n, c: c, s: s, mean: mp, rstd: rp,
                                  scale: scale.pointer(Float.self), meanDy: md, meanDyXhat: mx, into: dx.pointer(Float.self))
            return (dx, dw, db)
        }
        func run<T: FloatElement>(_: T.Type) {
            let (xp, gp, dxp) = (x.pointer(T.self), dy.pointer(T.self), dx.pointer(T.self))
            let wp = w?.pointer(T.self)
            let (mp, rp, dwp, dbp) = (mean.pointer(T.self), rstd.pointer(T.self), dw.pointer(T.self), db.pointer(T.self))
            // dγ = Σ dy·x̂ and dβ = Σ dy per channel, over the samples in memory order.
            parallelFor(c, grain: Swift.max(1, 16_384 / Swift.max(n * s, 1))) { channels in
                for ch in channels { dwp[ch] = 0; dbp[ch] = 0 }
                for sample in 0..<n {
                    for ch in channels {
                        let (mu, r) = (mp[ch], rp[ch])
                        var sumDyXhat: T = 0, sumDy: T = 0
                        for i in (sample * c + ch) * s..<(sample * c + ch + 1) * s {
                            sumDyXhat += gp[i] * (xp[i] - mu) * r
                            sumDy += gp[i]
                        }
                        dwp[ch] += sumDyXhat
                        dbp[ch] += sumDy
                    }
                }
            }
            // γ is constant over a channel, so mean(dy·γ) = γ·dβ/M and mean(dy·γ·x̂) = γ·dγ/M.
            let m = T(n * s)
            parallelFor(n * c, grain: Swift.max(1, 16_384 / Swift.max(s, 1))) { rows in
                for row in rows {
                    let ch = row % c
                    let (mu, r) = (mp[ch], rp[ch])
                    let scale = (wp?[ch] ?? 1) * r
                    if batchStatistics {
                        let (meanDy, meanDyXhat) = (dbp[ch] / m, dwp[ch] / m)
                        for i in row * s..<(row + 1) * s {
                            dxp[i] = scale * (gp[i] - meanDy - (xp[i] - mu) * r * meanDyXhat)
                        }
                    } else {
                        for i in row * s..<(row + 1) * s { dxp[i] = scale * gp[i] }
                    }
                }
            }
        }
        switch x.dtype {
        case .float64: run(Double.self)
        default: unsupported("batchNorm backward", x.dtype)
        }
        return (dx, dw, db)
    }
}

/// Group-norm forward over `x [N, C, S]`: per block of `C/G · S` elements, the mean and rstd (saved into
/// `mean`/`rstd`, `[N, G]`), then `y = (x − μ)·rstd·γ[c] + β[c]`.
private func groupNormForward<T: FloatElement>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                               w: UnsafeMutablePointer<T>?, b: UnsafeMutablePointer<T>?,
                                               mean: UnsafeMutablePointer<T>, rstd: UnsafeMutablePointer<T>,
                                               n: Int, c: Int, s: Int, groups: Int, eps: T) {
    let perGroup = c / groups, blockSize = perGroup * s
    parallelFor(n * groups, grain: max(1, 16_384 / max(blockSize, 1))) { blocks in
        for block in blocks {
            let base = block * blockSize
            var sum: T = 0
            for i in base..<base + blockSize { sum += x[i] }
            let mu = blockSize > 0 ? sum / T(blockSize) : 0
            // Two passes: Σ(x − μ)² does not cancel catastrophically as Σx² − Mμ² would.
            var squares: T = 0
            for i in base..<base + blockSize { squares += (x[i] - mu) * (x[i] - mu) }
            let r = 1 / ((blockSize > 0 ? squares / T(blockSize) : 0) + eps).squareRoot()
            mean[block] = mu
            rstd[block] = r
            let first = (block % groups) * perGroup
            for j in 0..<perGroup {
                let scale = (w?[first + j] ?? 1) * r, shift = b?[first + j] ?? 0
                for i in base + j * s..<base + (j + 1) * s { y[i] = (x[i] - mu) * scale + shift }
            }
        }
    }
}

/// Per-channel mean and biased variance of `x [N, C, S]` over its `N·S` elements. Each chunk owns a range of
/// channels and walks the samples in memory order.
private func channelStatistics<T: FloatElement>(_ x: UnsafeMutablePointer<T>, n: Int, c: Int, s: Int,
                                                mean: UnsafeMutablePointer<T>, variance: UnsafeMutablePointer<T>) {
    let m = T(n * s)
    parallelFor(c, grain: max(1, 16_384 / max(n * s, 1))) { channels in
        for ch in channels { mean[ch] = 0; variance[ch] = 0 }
        for sample in 0..<n {
            for ch in channels {
                var sum: T = 0
                for i in (sample * c + ch) * s..<(sample * c + ch + 1) * s { sum += x[i] }
                mean[ch] += sum
            }
        }
        for ch in channels { mean[ch] /= m }
        for sample in 0..<n {
            for ch in channels {
                let mu = mean[ch]
                var squares: T = 0
                for i in (sample * c + ch) * s..<(sample * c + ch + 1) * s { squares += (x[i] - mu) * (x[i] - mu) }
                variance[ch] += squares
            }
        }
        for ch in channels { variance[ch] /= m }
    }
}

/// `y = (x − mean[c])·rstd[c]·γ[c] + β[c]` over `x [N, C, S]`, one `S`-row per (sample, channel).
private func channelNormForward<T: FloatElement>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>,
                                                 w: UnsafeMutablePointer<T>?, b: UnsafeMutablePointer<T>?,
                                                 mean: UnsafeMutablePointer<T>, rstd: UnsafeMutablePointer<T>,
                                                 n: Int, c: Int, s: Int) {
    parallelFor(n * c, grain: max(1, 16_384 / max(s, 1))) { rows in
        for row in rows {
            let ch = row % c
            let mu = mean[ch], scale = (w?[ch] ?? 1) * rstd[ch], shift = b?[ch] ?? 0
            for i in row * s..<(row + 1) * s { y[i] = (x[i] - mu) * scale + shift }
        }
    }
}
