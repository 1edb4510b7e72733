import CStrataKernels

/// Softmax and log-softmax over one dimension of a contiguous `[outer, length, inner]` buffer, the masked
/// attention softmax over the rows of `[L, S]` score matrices, cross-entropy from logits, and their gradients:
/// the one softmax family of `Tensor.softmax`, `Tensor.logSoftmax`, `scaledDotProductAttention` and
/// `Loss.crossEntropy`. Float32 runs through the
/// `CStrataKernels` softmax family (Sources/CStrataKernels/softmax) at the level in use; Float64 runs the
/// Swift rows below, which the gradchecks use.
///
/// Each run is read three times: its max `m`, the sum `s = Σ exp(x − m)` (every exponent ≤ 0, so nothing
/// overflows), then the output `exp(x − m) / s` or `(x − m) − log s`.

/// One level's table of softmax kernels (strata_softmax.h).
struct SoftmaxKernels: Equatable {
    let isa: KernelISA
    private let table: StrataSoftmaxKernels

    /// The table of `isa`, or nil when this CPU does not run that level.
    init?(for isa: KernelISA) {
        guard let table = strata_softmax_kernels(isa.cValue) else { return nil }
        self.isa = isa
        self.table = table.pointee
    }

    /// The table of the level in use (`Strata.instructionSet`).
    static let selected = SoftmaxKernels(for: KernelISA.selected)!

    static func == (a: SoftmaxKernels, b: SoftmaxKernels) -> Bool { a.isa == b.isa }

    /// Softmax (or log-softmax) of `rows` contiguous rows of `n ≥ 1` floats, on the calling thread.
    func rows(_ x: UnsafePointer<Float>, rows: Int, n: Int, log: Bool, into y: UnsafeMutablePointer<Float>) {
        table.rows(x, y, rows, n, log ? 1 : 0)
    }

    /// The same down `count` adjacent columns of `length` floats, `stride` apart, on the calling thread.
    func columns(_ x: UnsafePointer<Float>, length: Int, stride: Int, count: Int, log: Bool,
                 into y: UnsafeMutablePointer<Float>) {
        table.columns(x, y, length, stride, count, log ? 1 : 0)
    }

    /// The input gradient of `rows` rows of `n` from the upstream `g` (times `keep` when given) and the
    /// output `y`, times `scale`, on the calling thread.
    func backwardRows(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, keep: UnsafePointer<Float>?, rows: Int,
                      n: Int, scale: Float, log: Bool, into dx: UnsafeMutablePointer<Float>) {
        table.backward_rows(g, y, keep, dx, rows, n, scale, log ? 1 : 0)
    }

    /// `backwardRows` down `count` adjacent columns of `length`, `stride` apart, on the calling thread.
    func backwardColumns(_ g: UnsafePointer<Float>, _ y: UnsafePointer<Float>, length: Int, stride: Int, count: Int,
                         log: Bool, into dx: UnsafeMutablePointer<Float>) {
        table.backward_columns(g, y, dx, length, stride, count, log ? 1 : 0)
    }

    /// Cross-entropy of `rows` rows of logits `[rows, c]` against `labels` (strata_cross_entropy_forward): the
    /// per-row loss and log-sum-exp. On the calling thread.
    func crossEntropyForward(_ z: UnsafePointer<Float>, rows: Int, c: Int, labels: UnsafePointer<Int64>,
                             ignoreIndex: Int64, weight: UnsafePointer<Float>, smoothing: Float,
                             loss: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>) {
        table.cross_entropy_forward(z, rows, c, labels, ignoreIndex, weight, smoothing, loss, logSumExp)
    }

    /// The logits' gradient of `Σ_i u_i·loss_i`, `u_i = scale·upstream[i·upstreamStride]`
    /// (strata_cross_entropy_backward). On the calling thread.
    func crossEntropyBackward(_ z: UnsafePointer<Float>, logSumExp: UnsafePointer<Float>, rows: Int, c: Int,
                              labels: UnsafePointer<Int64>, ignoreIndex: Int64, weight: UnsafePointer<Float>,
                              totalWeight: Float, smoothing: Float, upstream: UnsafePointer<Float>,
                              upstreamStride: Int, scale: Float, into dz: UnsafeMutablePointer<Float>) {
        table.cross_entropy_backward(z, logSumExp, rows, c, labels, ignoreIndex, weight, totalWeight, smoothing,
                                     upstream, upstreamStride, scale, dz)
    }

    /// Attention probabilities in place over `rows` rows of `n` scores of one `[L, S]` matrix, starting at query
    /// `firstQuery` (strata_attention_softmax), on the calling thread.
    func attention(_ p: UnsafeMutablePointer<Float>, rows: Int, n: Int, firstQuery: Int, mask: AttentionMask<Float>) {
        table.attention(p, rows, n, firstQuery, mask.causal ? 1 : 0, mask.scale, mask.additive, mask.keep,
                        mask.rowStride, mask.columnStride)
    }
}

/// How raw attention scores become the softmax's input: `v = score·scale`, then the mask (at most one of
/// `keep`, true = attend, and `additive`, added), then the causal limit (key `j > i` forbidden for query `i`).
/// The mask pointers address the first row of the current `[L, S]` matrix; entry `(i, j)` is at
/// `i·rowStride + j·columnStride` (strides may be 0: a broadcast mask).
struct AttentionMask<T: FloatElement> {
    var scale: T
    var causal: Bool
    var keep: UnsafePointer<Bool>? = nil
    var additive: UnsafePointer<T>? = nil
    var rowStride = 0
    var columnStride = 0
}

@inline(__always) private func floats<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always) private func floats<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

/// Rows of softmax work per thread below which a call stays on one core.
private func softmaxGrain(_ length: Int) -> Int { max(1, 32_768 / max(length, 1)) }

/// Splits the flattened `(outer, inner)` positions of `[outer, length, inner]` over threads and calls `body`
/// once per contiguous stretch of one outer slice: `(offset of the stretch's first column, columns)`.
private func forEachColumnStretch(outer: Int, length: Int, inner: Int, _ body: (Int, Int) -> Void) {
    parallelFor(outer * inner, grain: softmaxGrain(length)) { range in
        var position = range.lowerBound
        while position < range.upperBound {
            let o = position / inner, start = position % inner
            let n = min(inner, start + (range.upperBound - position)) - start
            body(o * length * inner + start, n)
            position += n
        }
    }
}

/// Softmax or log-softmax over the middle dimension of a contiguous `[outer, length, inner]` buffer
/// (`length ≥ 1`). Runs are split over threads by flattened (outer, inner) position.
func softmaxMiddle<T: FloatElement>(_: T.Type, _ src: UnsafePointer<T>, outer: Int, length: Int, inner: Int,
                                    log: Bool, into dst: UnsafeMutablePointer<T>) {
    guard length > 0 else { return }
    if T.self == Float.self {
        let kernels = SoftmaxKernels.selected
        let (x, y) = (floats(src), floats(dst))
        if inner == 1 {
            parallelFor(outer, grain: softmaxGrain(length)) { range in
                let o = range.lowerBound * length
                kernels.rows(x + o, rows: range.count, n: length, log: log, into: y + o)
            }
        } else {
            forEachColumnStretch(outer: outer, length: length, inner: inner) { offset, count in
                kernels.columns(x + offset, length: length, stride: inner, count: count, log: log, into: y + offset)
            }
        }
        return
    }
    if inner == 1 {
        parallelFor(outer, grain: softmaxGrain(length)) { range in
            for o in range { softmaxRow(src + o * length, length, log: log, into: dst + o * length) }
        }
        return
    }
    forEachColumnStretch(outer: outer, length: length, inner: inner) { offset, n in
        withUnsafeTemporaryAllocation(of: T.self, capacity: 2 * n) { buffer in
            let m = buffer.baseAddress!, s = m + n
            let x = src + offset, y = dst + offset
            for i in 0..<n {
                m[i] = -T.infinity
                s[i] = 0
            }
            for r in 0..<length {
                let row = x + r * inner
                for i in 0..<n { m[i] = MaxReduce.combine(m[i], row[i]) }
            }
            for r in 0..<length {
                let row = x + r * inner, out = y + r * inner
                for i in 0..<n {
                    let e = T.exp(row[i] - m[i])
                    if !log { out[i] = e }
                    s[i] += e
                }
            }
            for i in 0..<n { s[i] = log ? T.log(s[i]) : 1 / s[i] }
            for r in 0..<length {
                let row = x + r * inner, out = y + r * inner
                for i in 0..<n { out[i] = log ? (row[i] - m[i]) - s[i] : out[i] * s[i] }
            }
        }
    }
}

/// The softmax (or log-softmax) of one contiguous run of `n ≥ 1` elements into `y` (which may be `x`): the
/// Swift form of the C kernels' `softmax_row`, for Float64.
private func softmaxRow<T: FloatElement>(_ x: UnsafePointer<T>, _ n: Int, log: Bool, into y: UnsafeMutablePointer<T>) {
    let m = reduceRun(MaxReduce.self, x, n)
    var s: T = 0
    for j in 0..<n {
        let e = T.exp(x[j] - m)
        if !log { y[j] = e }
        s += e
    }
    if log {
        let logSum = T.log(s)
        for j in 0..<n { y[j] = (x[j] - m) - logSum }
    } else {
        let reciprocal = 1 / s
        for j in 0..<n { y[j] *= reciprocal }
    }
}

/// The input gradient of softmax or log-softmax over the middle dimension of `[outer, length, inner]`,
/// from the upstream gradient `g` and the forward output `y` (both contiguous):
/// softmax `g·y − y·Σ g·y`, i.e. `y·(g − Σ g·y)`; log-softmax `g − exp(y)·Σ g`.
func softmaxBackwardMiddle<T: FloatElement>(_: T.Type, _ g: UnsafePointer<T>, _ y: UnsafePointer<T>,
                                            outer: Int, length: Int, inner: Int, log: Bool,
                                            into dst: UnsafeMutablePointer<T>) {
    guard length > 0 else { return }
    if inner == 1 {
        softmaxBackwardRows(T.self, g, y, keep: nil, rows: outer, n: length, scale: 1, log: log, into: dst)
        return
    }
    if T.self == Float.self {
        let kernels = SoftmaxKernels.selected
        let (gf, yf, d) = (floats(g), floats(y), floats(dst))
        forEachColumnStretch(outer: outer, length: length, inner: inner) { offset, count in
            kernels.backwardColumns(gf + offset, yf + offset, length: length, stride: inner, count: count, log: log,
                                    into: d + offset)
        }
        return
    }
    forEachColumnStretch(outer: outer, length: length, inner: inner) { offset, n in
        withUnsafeTemporaryAllocation(of: T.self, capacity: n) { buffer in
            let total = buffer.baseAddress!
            for i in 0..<n { total[i] = 0 }
            for r in 0..<length {
                let gr = g + offset + r * inner, yr = y + offset + r * inner
                for i in 0..<n { total[i] += log ? gr[i] : gr[i] * yr[i] }
            }
            for r in 0..<length {
                let gr = g + offset + r * inner, yr = y + offset + r * inner, d = dst + offset + r * inner
                for i in 0..<n { d[i] = log ? gr[i] - T.exp(yr[i]) * total[i] : yr[i] * (gr[i] - total[i]) }
            }
        }
    }
}

/// The input gradient of `rows` contiguous rows of `n` from the upstream `g` and the output `y`, with
/// `h = g·keep` (`keep` nil: `h = g`): softmax `dx = y·(h − Σ h·y)·scale`, log-softmax `dx = (h − exp(y)·Σ h)·scale`.
/// Attention's backward passes its dropout mask as `keep` and its score scale as `scale`.
func softmaxBackwardRows<T: FloatElement>(_: T.Type, _ g: UnsafePointer<T>, _ y: UnsafePointer<T>,
                                          keep: UnsafePointer<T>?, rows: Int, n: Int, scale: T, log: Bool,
                                          into dst: UnsafeMutablePointer<T>) {
    guard n > 0 else { return }
    if T.self == Float.self {
        let kernels = SoftmaxKernels.selected
        let (gf, yf, d, k) = (floats(g), floats(y), floats(dst), keep.map { floats($0) })
        let f = unsafeBitCast(scale, to: Float.self)
        parallelFor(rows, grain: softmaxGrain(n)) { range in
            let o = range.lowerBound * n
            kernels.backwardRows(gf + o, yf + o, keep: k.map { $0 + o }, rows: range.count, n: n, scale: f, log: log,
                                 into: d + o)
        }
        return
    }
    parallelFor(rows, grain: softmaxGrain(n)) { range in
        for row in range {
            let o = row * n
            let (gr, yr, dr) = (g + o, y + o, dst + o)
            @inline(__always) func h(_ j: Int) -> T { keep.map { gr[j] * $0[o + j] } ?? gr[j] }
            var total: T = 0
            for j in 0..<n { total += log ? h(j) : h(j) * yr[j] }
            for j in 0..<n { dr[j] = (log ? h(j) - T.exp(yr[j]) * total : yr[j] * (h(j) - total)) * scale }
        }
    }
}

/// Attention probabilities in place over `rows` contiguous rows of `n` raw scores, the rows `firstQuery…` of
/// one `[L, S]` score matrix: each score becomes `score·scale` with the mask applied, then the row's softmax.
/// A row with no allowed key (its max `−inf`) becomes zeros. On the calling thread.
func attentionSoftmax<T: FloatElement>(_ p: UnsafeMutablePointer<T>, rows: Int, n: Int, firstQuery: Int,
                                       mask: AttentionMask<T>) {
    guard n > 0 else { return }
    if T.self == Float.self {
        let floatMask = AttentionMask<Float>(scale: unsafeBitCast(mask.scale, to: Float.self), causal: mask.causal,
                                             keep: mask.keep, additive: mask.additive.map { floats($0) },
                                             rowStride: mask.rowStride, columnStride: mask.columnStride)
        SoftmaxKernels.selected.attention(floats(p), rows: rows, n: n, firstQuery: firstQuery, mask: floatMask)
        return
    }
    for r in 0..<rows {
        let y = p + r * n, base = r * mask.rowStride
        let limit = mask.causal ? min(n, firstQuery + r + 1) : n   // keys j < limit are allowed
        var m = -T.infinity
        for j in 0..<limit {
            var value = y[j] * mask.scale
            if let keep = mask.keep, !keep[base + j * mask.columnStride] { value = -T.infinity }
            if let additive = mask.additive { value += additive[base + j * mask.columnStride] }
            y[j] = value
            m = MaxReduce.combine(m, value)
        }
        guard m != -T.infinity else {
            y.update(repeating: 0, count: n)
            continue
        }
        softmaxRow(y, limit, log: false, into: y)
        (y + limit).update(repeating: 0, count: n - limit)
    }
}

/// Cross-entropy from logits `z [N, C]` (contiguous) against `labels [N]`, with class weights `w [C]` and label
/// smoothing `ε`: `lse_i = m + log Σ_k exp(z_ik − m)` and `loss_i = (1 − ε)·w[y]·(lse − z[y]) + ε/C·Σ_k w[k]·(lse − z[k])`,
/// 0 where `y == ignoreIndex`. Rows are split over threads.
func crossEntropyForward<T: FloatElement>(_: T.Type, _ z: UnsafePointer<T>, rows: Int, c: Int,
                                          labels: UnsafePointer<Int64>, ignoreIndex: Int64, weight: UnsafePointer<T>,
                                          smoothing: T, loss: UnsafeMutablePointer<T>,
                                          logSumExp: UnsafeMutablePointer<T>) {
    guard c > 0 else { return }
    if T.self == Float.self {
        let kernels = SoftmaxKernels.selected
        let eps = unsafeBitCast(smoothing, to: Float.self)
        parallelFor(rows, grain: softmaxGrain(c)) { range in
            let i = range.lowerBound
            kernels.crossEntropyForward(floats(z) + i * c, rows: range.count, c: c, labels: labels + i,
                                        ignoreIndex: ignoreIndex, weight: floats(weight), smoothing: eps,
                                        loss: floats(loss) + i, logSumExp: floats(logSumExp) + i)
        }
        return
    }
    parallelFor(rows, grain: softmaxGrain(c)) { range in
        for i in range {
            let row = z + i * c
            let m = reduceRun(MaxReduce.self, row, c)
            var total: T = 0
            for k in 0..<c { total += T.exp(row[k] - m) }
            let lse = m + T.log(total)
            logSumExp[i] = lse
            guard labels[i] != ignoreIndex else { loss[i] = 0; continue }
            let label = Int(labels[i])
            var value = (1 - smoothing) * weight[label] * (lse - row[label])
            if smoothing > 0 {
                var weighted: T = 0
                for k in 0..<c { weighted += weight[k] * (lse - row[k]) }
                value += smoothing / T(c) * weighted
            }
            loss[i] = value
        }
    }
}

/// The gradient of `Σ_i u_i·loss_i` (`crossEntropyForward`) with respect to the logits, `u_i = scale·upstream[i·upstreamStride]`
/// and `p = exp(z − lse)`: `dz_ik = u_i·((1 − ε)·w[y]·(p − 1[k = y]) + ε/C·(Σw·p − w[k]))`; zeros for an ignored row.
func crossEntropyBackward<T: FloatElement>(_: T.Type, _ z: UnsafePointer<T>, logSumExp: UnsafePointer<T>, rows: Int,
                                           c: Int, labels: UnsafePointer<Int64>, ignoreIndex: Int64,
                                           weight: UnsafePointer<T>, smoothing: T, upstream: UnsafePointer<T>,
                                           upstreamStride: Int, scale: T, into dz: UnsafeMutablePointer<T>) {
    guard c > 0 else { return }
    var totalWeight: T = 0
    for k in 0..<c { totalWeight += weight[k] }
    if T.self == Float.self {
        let kernels = SoftmaxKernels.selected
        let (eps, total, f) = (unsafeBitCast(smoothing, to: Float.self), unsafeBitCast(totalWeight, to: Float.self),
                               unsafeBitCast(scale, to: Float.self))
        parallelFor(rows, grain: softmaxGrain(c)) { range in
            let i = range.lowerBound
            kernels.crossEntropyBackward(floats(z) + i * c, logSumExp: floats(logSumExp) + i, rows: range.count, c: c,
                                         labels: labels + i, ignoreIndex: ignoreIndex, weight: floats(weight),
                                         totalWeight: total, smoothing: eps,
                                         upstream: floats(upstream) + i * upstreamStride,
                                         upstreamStride: upstreamStride, scale: f, into: floats(dz) + i * c)
        }
        return
    }
    parallelFor(rows, grain: softmaxGrain(c)) { range in
        for i in range {
            let out = dz + i * c
            guard labels[i] != ignoreIndex else { out.update(repeating: 0, count: c); continue }
            let row = z + i * c, label = Int(labels[i])
            let u = upstream[i * upstreamStride] * scale
            let hard = (1 - smoothing) * weight[label], soft = smoothing / T(c)
            for k in 0..<c {
                let p = T.exp(row[k] - logSumExp[i])
                out[k] = u * (hard * p + soft * (totalWeight * p - weight[k]))
            }
            out[label] -= u * hard
        }
    }
}
