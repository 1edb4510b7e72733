import Foundation
@testable import Strata
import Testing

// The softmax family of CStrataKernels (softmax/softmax.inc) on every level this CPU runs: softmax and
// log-softmax along rows and down columns, their gradients, the masked attention softmax and cross-entropy
// from logits with its gradient, against Float64
// references computed from the same Float32 inputs; every wide level against the baseline level; and the
// layouts against each other (a column's softmax is its row's, a row's result does not depend on its
// neighbours). The figures printed are the table in Docs/Kernels.md
// (`swift test -c release --filter SoftmaxKernelTests`).

/// Row lengths that exercise whole vectors of every width, partial last vectors and a single element.
private let lengths = [1, 3, 4, 7, 8, 15, 16, 17, 33, 100, 1_000]

/// `count` reproducible Float32 values: mostly in [−8, 8], every 7th far out (±40) so the max shift matters.
private func inputs(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { i in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let u = Double(state >> 11) / Double(1 << 53)
        return Float(i % 7 == 3 ? (u < 0.5 ? -40 : 40) + u : 16 * u - 8)
    }
}

/// Float64 softmax or log-softmax of one run.
private func referenceSoftmax(_ x: [Double], log: Bool) -> [Double] {
    let m = x.max()!
    let s = x.reduce(0) { $0 + Foundation.exp($1 - m) }
    return x.map { log ? ($0 - m) - Foundation.log(s) : Foundation.exp($0 - m) / s }
}

/// The largest error, in ulps of `scale(i)`, of `actual` against `expected`.
private func worstError(_ actual: [Float], _ expected: [Double], scale: (Int) -> Double) -> Double {
    actual.indices.map { ulpError(actual[$0], expected[$0], scale: scale($0)) }.max() ?? 0
}

/// The largest errors of one level's kernels over every length: rows, columns (softmax, log-softmax), and the
/// gradients along rows (softmax, log-softmax). Errors of softmax are in ulps of `p·(1 + |x − m|)` (the rounding
/// of `x − m` moves `exp(x − m)` by half an ulp of `|x − m|`, relative); of log-softmax in ulps of
/// `|x − m| + log Σ + 1`, the size of its terms (`log Σ` is good to an ulp of 1); of the gradients in ulps of
/// their terms.
private struct SoftmaxErrors {
    var softmax = 0.0, logSoftmax = 0.0, gradient = 0.0, logGradient = 0.0
}

private func measure(_ isa: KernelISA) -> SoftmaxErrors {
    let kernels = SoftmaxKernels(for: isa)!
    var errors = SoftmaxErrors()
    for n in lengths {
        let rows = 3
        let x = inputs(rows * n, seed: UInt64(n)), g = inputs(rows * n, seed: UInt64(n) + 99).map { $0 / 8 }
        for log in [false, true] {
            var y = [Float](repeating: 0, count: x.count), columns = y, dx = y
            kernels.rows(x, rows: rows, n: n, log: log, into: &y)
            // The same runs as columns of the transpose [n, rows].
            let xt = (0..<x.count).map { x[($0 % rows) * n + $0 / rows] }
            kernels.columns(xt, length: n, stride: rows, count: rows, log: log, into: &columns)
            kernels.backwardRows(g, y, keep: nil, rows: rows, n: n, scale: 1, log: log, into: &dx)
            for r in 0..<rows {
                let run = (0..<n).map { Double(x[r * n + $0]) }
                let expected = referenceSoftmax(run, log: log)
                let got = Array(y[r * n..<(r + 1) * n]), down = (0..<n).map { columns[$0 * rows + r] }
                let m = run.max()!, logSum = Foundation.log(run.reduce(0) { $0 + Foundation.exp($1 - m) })
                // x − m rounds to half an ulp of |x − m|, which moves exp(x − m) by that much relative.
                let scale: (Int) -> Double = log ? { Swift.abs(run[$0] - m) + logSum + 1 }
                                                 : { expected[$0] * (1 + Swift.abs(run[$0] - m)) }
                let e = max(worstError(got, expected, scale: scale), worstError(down, expected, scale: scale))
                // The gradient from the kernel's own output y, in Float64.
                let yr = (0..<n).map { Double(y[r * n + $0]) }, gr = (0..<n).map { Double(g[r * n + $0]) }
                let total = log ? gr.reduce(0, +) : zip(gr, yr).reduce(0) { $0 + $1.0 * $1.1 }
                let absTotal = log ? gr.reduce(0) { $0 + Swift.abs($1) } : zip(gr, yr).reduce(0) { $0 + Swift.abs($1.0 * $1.1) }
                let dxExpected = (0..<n).map { log ? gr[$0] - Foundation.exp(yr[$0]) * total : yr[$0] * (gr[$0] - total) }
                let dxScale: (Int) -> Double = {
                    log ? Swift.abs(gr[$0]) + Foundation.exp(yr[$0]) * absTotal : yr[$0] * (Swift.abs(gr[$0]) + absTotal)
                }
                let ge = worstError(Array(dx[r * n..<(r + 1) * n]), dxExpected, scale: dxScale)
                if log {
                    errors.logSoftmax = max(errors.logSoftmax, e)
                    errors.logGradient = max(errors.logGradient, ge)
                } else {
                    errors.softmax = max(errors.softmax, e)
                    errors.gradient = max(errors.gradient, ge)
                }
            }
        }
    }
    return errors
}

/// The bounds the tests assert (Docs/Kernels.md), in the units of `SoftmaxErrors`.
private let softmaxBound = 2.0, logSoftmaxBound = 1.5, gradientBound = 2.0, logGradientBound = 2.0

/// Float64 attention probabilities of one `[L, S]` matrix: scale, mask, causal limit, softmax; zeros for a row
/// with nothing allowed. With each, the size its error is measured in: `p·(1 + |v| + |m| + |v − m|)`, `v` the
/// masked score and `m` its row's max, as the roundings of `v`, `m` and `v − m` move the exponent by half an ulp
/// of each.
private func referenceAttention(_ p: [Float], l: Int, s: Int, scale: Double, causal: Bool, keep: [Bool]?,
                                additive: [Float]?) -> (probabilities: [Double], scales: [Double]) {
    var out = [Double](repeating: 0, count: l * s), sizes = out
    for i in 0..<l {
        let limit = causal ? min(s, i + 1) : s
        var v = (0..<limit).map { Double(p[i * s + $0]) * scale }
        for j in 0..<limit {
            if let keep, !keep[i * s + j] { v[j] = -.infinity }
            if let additive { v[j] += Double(additive[i * s + j]) }
        }
        guard let m = v.max(), m != -.infinity else { continue }
        let e = v.map { Foundation.exp($0 - m) }, total = e.reduce(0, +)
        for j in 0..<limit {
            out[i * s + j] = e[j] / total
            sizes[i * s + j] = out[i * s + j] * (1 + Swift.abs(v[j]) + Swift.abs(m) + Swift.abs(v[j] - m))
        }
    }
    return (out, sizes)
}

/// The attention kernel of `isa` over `[L, S]` scores with every mask kind, against the Float64 reference
/// within `softmaxBound` ulps; a row split into two calls gives the same bits as one call. Returns the worst error.
private func checkAttention(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    let kernels = SoftmaxKernels(for: isa)!
    var worst = 0.0
    for (l, s) in [(1, 1), (5, 7), (9, 33), (17, 100)] {
        let scores = inputs(l * s, seed: UInt64(l * 1_000 + s))
        let keep = (0..<l * s).map { ($0 * 7 + $0 / s) % 5 != 0 }
        let additive = inputs(l * s, seed: 5).map { $0 < -30 ? -Float.infinity : $0 / 4 }
        for causal in [false, true] {
            for kind in 0..<3 {
                var mask = AttentionMask<Float>(scale: 0.3, causal: causal)
                var p = scores, split = scores
                keep.withUnsafeBufferPointer { k in
                    additive.withUnsafeBufferPointer { a in
                        if kind == 1 { mask.keep = k.baseAddress }
                        if kind == 2 { mask.additive = a.baseAddress }
                        if kind > 0 { (mask.rowStride, mask.columnStride) = (s, 1) }
                        kernels.attention(&p, rows: l, n: s, firstQuery: 0, mask: mask)
                        // The same matrix in two calls: rows 0..<h, then h..<l from query h.
                        let h = l / 2
                        split.withUnsafeMutableBufferPointer { b in
                            kernels.attention(b.baseAddress!, rows: h, n: s, firstQuery: 0, mask: mask)
                            var rest = mask
                            rest.keep = mask.keep.map { $0 + h * s }
                            rest.additive = mask.additive.map { $0 + h * s }
                            kernels.attention(b.baseAddress! + h * s, rows: l - h, n: s, firstQuery: h, mask: rest)
                        }
                    }
                }
                let expected = referenceAttention(scores, l: l, s: s, scale: Double(Float(0.3)), causal: causal,
                                                  keep: kind == 1 ? keep : nil, additive: kind == 2 ? additive : nil)
                worst = max(worst, worstError(p, expected.probabilities) { expected.scales[$0] })
                #expect(p.map(\.bitPattern) == split.map(\.bitPattern),
                        "attention \(l)×\(s) on \(isa): a split call differs", sourceLocation: sourceLocation)
                #expect(zip(p, expected.probabilities).allSatisfy { ($1 == 0) == ($0 == 0) },
                        "attention \(l)×\(s) on \(isa): forbidden keys must get exactly 0", sourceLocation: sourceLocation)
            }
        }
    }
    // A broadcast mask (strides 0) equals the same mask written out; a row with every key forbidden is zeros.
    let s = 19
    var broadcast = inputs(2 * s, seed: 8), full = broadcast
    let one: [Float] = [-.infinity]
    let forbidAll = [Bool](repeating: false, count: 2 * s)
    one.withUnsafeBufferPointer { a in
        kernels.attention(&broadcast, rows: 2, n: s, firstQuery: 0,
                          mask: AttentionMask(scale: 1, causal: false, additive: a.baseAddress))
    }
    forbidAll.withUnsafeBufferPointer { k in
        kernels.attention(&full, rows: 2, n: s, firstQuery: 0,
                          mask: AttentionMask(scale: 1, causal: false, keep: k.baseAddress, rowStride: s, columnStride: 1))
    }
    #expect(broadcast == [Float](repeating: 0, count: 2 * s), "attention on \(isa): a broadcast −inf mask",
            sourceLocation: sourceLocation)
    #expect(full == [Float](repeating: 0, count: 2 * s), "attention on \(isa): an all-false keep mask",
            sourceLocation: sourceLocation)
    return worst
}

/// Cross-entropy of `isa` (weights, label smoothing, an ignored row; every class count in `lengths`) against
/// Float64: the loss in ulps of `w·(|lse| + |z|)` summed over its terms, the gradient in ulps of its terms.
/// Returns the worst (loss, gradient) errors.
private func checkCrossEntropy(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) -> (Double, Double) {
    let kernels = SoftmaxKernels(for: isa)!
    var worst = (0.0, 0.0)
    let rows = 4
    for c in lengths {
        let z = inputs(rows * c, seed: UInt64(c) + 500)
        let weight = inputs(c, seed: 77).map { 1 + Swift.abs($0) / 40 }
        let labels: [Int64] = (0..<rows).map { $0 == 2 ? -100 : Int64(($0 * 37) % c) }
        let upstream: [Float] = [0.5, -1.25, 2, 0.75]
        for smoothing: Float in [0, 0.1] {
            var loss = [Float](repeating: 0, count: rows), lse = loss, dz = [Float](repeating: 0, count: rows * c)
            kernels.crossEntropyForward(z, rows: rows, c: c, labels: labels, ignoreIndex: -100, weight: weight,
                                        smoothing: smoothing, loss: &loss, logSumExp: &lse)
            let totalWeight = weight.reduce(0, +)
            kernels.crossEntropyBackward(z, logSumExp: lse, rows: rows, c: c, labels: labels, ignoreIndex: -100,
                                         weight: weight, totalWeight: totalWeight, smoothing: smoothing,
                                         upstream: upstream, upstreamStride: 1, scale: 0.25, into: &dz)
            let (eps, w) = (Double(smoothing), weight.map { Double($0) })
            for i in 0..<rows {
                let row = (0..<c).map { Double(z[i * c + $0]) }
                let m = row.max()!, l = m + Foundation.log(row.reduce(0) { $0 + Foundation.exp($1 - m) })
                guard labels[i] != -100 else {
                    #expect(loss[i] == 0 && dz[i * c..<(i + 1) * c].allSatisfy { $0 == 0 },
                            "cross-entropy on \(isa): an ignored row", sourceLocation: sourceLocation)
                    continue
                }
                let y = Int(labels[i])
                let hard = (1 - eps) * w[y], soft = eps / Double(c)
                let value = hard * (l - row[y]) + soft * (0..<c).reduce(0) { $0 + w[$1] * (l - row[$1]) }
                let size = hard * (Swift.abs(l) + Swift.abs(row[y]) + 1)
                    + soft * (0..<c).reduce(0) { $0 + w[$1] * (Swift.abs(l) + Swift.abs(row[$1]) + 1) }
                worst.0 = max(worst.0, ulpError(loss[i], value, scale: size))
                let u = Double(upstream[i]) * 0.25, tw = w.reduce(0, +)
                for k in 0..<c {
                    // p = exp(z − lse): the roundings of lse and of z − lse move it by half an ulp of each,
                    // relative, so p counts as p·(1 + |lse| + |z − lse|) among the terms.
                    let p = Foundation.exp(row[k] - l), pSize = p * (1 + Swift.abs(l) + Swift.abs(row[k] - l))
                    let expected = u * (hard * (p - (k == y ? 1 : 0)) + soft * (tw * p - w[k]))
                    let terms = Swift.abs(u) * (hard * (pSize + (k == y ? 1 : 0)) + soft * (tw * pSize + w[k]))
                    worst.1 = max(worst.1, ulpError(dz[i * c + k], expected, scale: terms))
                }
            }
        }
    }
    return worst
}

/// The bounds of cross-entropy's loss and gradient (ulps of their terms, `checkCrossEntropy`).
private let crossEntropyBound = 2.0, crossEntropyGradientBound = 2.0

private func check(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let e = measure(isa)
    let attention = checkAttention(isa, sourceLocation: sourceLocation)
    let (ce, ceGradient) = checkCrossEntropy(isa, sourceLocation: sourceLocation)
    print(String(format: "softmax kernels on %@: cross-entropy %.2f, its gradient %.2f ulps of the terms", "\(isa)",
                 ce, ceGradient))
    #expect(ce <= crossEntropyBound, "cross-entropy on \(isa): \(ce) ulps", sourceLocation: sourceLocation)
    #expect(ceGradient <= crossEntropyGradientBound, "cross-entropy gradient on \(isa): \(ceGradient) ulps",
            sourceLocation: sourceLocation)
    print(String(format: "softmax kernels on %@: softmax %.2f, log-softmax %.2f, gradient %.2f, log-softmax gradient %.2f, attention %.2f ulps",
                 "\(isa)", e.softmax, e.logSoftmax, e.gradient, e.logGradient, attention))
    #expect(e.softmax <= softmaxBound, "softmax on \(isa): \(e.softmax) ulps", sourceLocation: sourceLocation)
    #expect(e.logSoftmax <= logSoftmaxBound, "log-softmax on \(isa): \(e.logSoftmax) ulps", sourceLocation: sourceLocation)
    #expect(e.gradient <= gradientBound, "softmax gradient on \(isa): \(e.gradient) ulps", sourceLocation: sourceLocation)
    #expect(e.logGradient <= logGradientBound, "log-softmax gradient on \(isa): \(e.logGradient) ulps",
            sourceLocation: sourceLocation)
    #expect(attention <= softmaxBound, "attention on \(isa): \(attention) ulps", sourceLocation: sourceLocation)
}

/// A wide level's rows and gradients within twice the bound of the baseline level's.
private func checkAgainstBaseline(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let (wide, base) = (SoftmaxKernels(for: isa)!, SoftmaxKernels(for: .baseline)!)
    for n in lengths {
        let x = inputs(4 * n, seed: UInt64(n) + 7), g = inputs(4 * n, seed: UInt64(n) + 8)
        for log in [false, true] {
            var (a, b) = ([Float](repeating: 0, count: x.count), [Float](repeating: 0, count: x.count))
            wide.rows(x, rows: 4, n: n, log: log, into: &a)
            base.rows(x, rows: 4, n: n, log: log, into: &b)
            let bound = 2 * (log ? logSoftmaxBound : softmaxBound)
            let yScale: (Int) -> Double = { i in
                log ? Swift.abs(Double(b[i])) + 1 : Double(b[i])
            }
            expectAgreement("\(log ? "log-softmax" : "softmax") n=\(n)", isa, a, b, bound: { _ in bound },
                            scale: yScale, sourceLocation: sourceLocation)
            var (da, db) = (a, b)
            wide.backwardRows(g, b, keep: nil, rows: 4, n: n, scale: 1, log: log, into: &da)
            base.backwardRows(g, b, keep: nil, rows: 4, n: n, scale: 1, log: log, into: &db)
            let gScale: (Int) -> Double = { i in
                let row = i / n * n
                let terms = (row..<row + n).reduce(0.0) { $0 + Swift.abs(Double(g[$1]) * (log ? 1 : Double(b[$1]))) }
                return (Swift.abs(Double(g[i])) + terms) * (log ? Foundation.exp(Double(b[i])) + 1 : Double(b[i]))
            }
            expectAgreement("\(log ? "log-softmax" : "softmax") gradient n=\(n)", isa, da, db,
                            bound: { _ in 2 * gradientBound }, scale: gScale, sourceLocation: sourceLocation)
        }
    }
}

@Suite("The softmax kernels on every level")
struct SoftmaxKernelTests {
    @Test("baseline against Float64") func baseline() { check(.baseline) }

    @Test("avx2 against Float64", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2() { check(.avx2) }

    @Test("avx512 against Float64", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512() { check(.avx512) }

    @Test("avx2 against baseline", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2Agreement() { checkAgainstBaseline(.avx2) }

    @Test("avx512 against baseline", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512Agreement() { checkAgainstBaseline(.avx512) }

    @Test("a dropout mask and a scale in the gradient") func keepAndScale() {
        let kernels = SoftmaxKernels.selected
        let n = 21
        let y = referenceSoftmax(inputs(n, seed: 3).map { Double($0) }, log: false).map { Float($0) }
        let g = inputs(n, seed: 4), keep = (0..<n).map { Float($0 % 3 == 0 ? 0 : 1.25) }
        var withKeep = [Float](repeating: 0, count: n), masked = withKeep
        kernels.backwardRows(g, y, keep: keep, rows: 1, n: n, scale: 0.5, log: false, into: &withKeep)
        // The same as the gradient of the masked upstream, halved.
        kernels.backwardRows(zip(g, keep).map { $0 * $1 }, y, keep: nil, rows: 1, n: n, scale: 1, log: false, into: &masked)
        #expect(withKeep == masked.map { $0 * 0.5 })
    }
}
