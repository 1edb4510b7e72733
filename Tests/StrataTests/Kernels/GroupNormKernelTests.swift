import Foundation
@testable import Strata
import Testing

// The group-norm family of CStrataKernels (groupnorm/groupnorm.inc) on every level this CPU runs: the forward
// (y, the mean, rstd) and the backward (dx, dγ, dβ) of layer norm (one position per channel) and group norm
// (runs of S), with and without γ and β, against Float64 references computed from the same Float32 inputs,
// and every wide level against the baseline level. Errors are in ulps of the size of each result's terms (as
// the gradient kernels' are, Docs/Kernels.md); the figures printed are the table there
// (`swift test -c release --filter GroupNormKernelTests`).

/// `(N, C, S, G)`: layer norms of several widths (partial vectors, one element), and group norms.
private let shapes = [(3, 1, 1, 1), (3, 7, 1, 1), (4, 33, 1, 1), (2, 100, 1, 1), (2, 384, 1, 1), (2, 4, 1, 2),
                      (2, 6, 5, 3), (3, 8, 17, 2), (2, 3, 64, 1)]

/// `count` reproducible Float32 values in `offset ± spread`.
private func values(_ count: Int, seed: UInt64, offset: Double = 0, spread: Double = 2) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(offset + spread * (2 * Double(state >> 11) / Double(1 << 53) - 1))
    }
}

/// The results of one level on one case, and their Float64 references with the size of each one's terms.
private struct NormCase {
    var y = [Float](), mean = [Float](), rstd = [Float](), dx = [Float](), dgamma = [Float](), dbeta = [Float]()
}

private func run(_ kernels: GroupNormKernels, n: Int, c: Int, s: Int, groups: Int, x: [Float], g: [Float],
                 gamma: [Float]?, beta: [Float]?) -> NormCase {
    var r = NormCase()
    r.y = [Float](repeating: 0, count: x.count)
    r.dx = r.y
    r.mean = [Float](repeating: 0, count: n * groups)
    r.rstd = r.mean
    r.dgamma = [Float](repeating: 0, count: c)
    r.dbeta = r.dgamma
    var partials = [Float](repeating: 0, count: GroupNormKernels.partials(blocks: n * groups, blockSize: c / groups * s) * 2 * c)
    kernels.forward(x, gamma: gamma, beta: beta, n: n, c: c, s: s, groups: groups, eps: 1e-5, into: &r.y,
                    mean: &r.mean, rstd: &r.rstd)
    kernels.backward(g, x, gamma: gamma, mean: r.mean, rstd: r.rstd, n: n, c: c, s: s, groups: groups,
                     partials: &partials, dx: &r.dx, dgamma: &r.dgamma, dbeta: &r.dbeta)
    return r
}

/// Float64 references and term sizes: `(value, size)` per result. The backward is taken at the Float64 statistics.
private struct Reference {
    var y = [(Double, Double)](), mean = [(Double, Double)](), rstd = [(Double, Double)]()
    var dx = [(Double, Double)](), dgamma = [(Double, Double)](), dbeta = [(Double, Double)]()
}

private func reference(n: Int, c: Int, s: Int, groups: Int, x: [Float], g: [Float], gamma: [Float]?,
                       beta: [Float]?) -> Reference {
    var r = Reference()
    let perGroup = c / groups, size = perGroup * s
    r.y = Array(repeating: (0, 0), count: x.count)
    r.dx = r.y
    var dgamma = [Double](repeating: 0, count: c), dbeta = dgamma, dgammaSize = dgamma, dbetaSize = dgamma
    for block in 0..<n * groups {
        let base = block * size, first = block % groups * perGroup
        let xs = (0..<size).map { Double(x[base + $0]) }, gs = (0..<size).map { Double(g[base + $0]) }
        let channel = { (i: Int) in first + i / s }
        let mu = xs.reduce(0, +) / Double(size)
        let variance = xs.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(size)
        let rs = 1 / (variance + Double(Float(1e-5))).squareRoot()
        r.mean.append((mu, xs.reduce(0) { $0 + Swift.abs($1) } / Double(size)))
        r.rstd.append((rs, rs))
        let w = { (i: Int) in gamma.map { Double($0[channel(i)]) } ?? 1 }
        let xhat = xs.map { ($0 - mu) * rs }, xhatSize = xs.map { (Swift.abs($0) + Swift.abs(mu)) * rs }
        let d = (0..<size).map { gs[$0] * w($0) }
        let meanD = d.reduce(0, +) / Double(size), meanDX = zip(d, xhat).reduce(0) { $0 + $1.0 * $1.1 } / Double(size)
        let meanDSize = d.reduce(0) { $0 + Swift.abs($1) } / Double(size)
        let meanDXSize = (0..<size).reduce(0) { $0 + Swift.abs(d[$1]) * xhatSize[$1] } / Double(size)
        for i in 0..<size {
            let b = beta.map { Double($0[channel(i)]) } ?? 0
            r.y[base + i] = (xhat[i] * w(i) + b, xhatSize[i] * Swift.abs(w(i)) + Swift.abs(b))
            r.dx[base + i] = (rs * (d[i] - meanD - xhat[i] * meanDX),
                              rs * (Swift.abs(d[i]) + meanDSize + xhatSize[i] * meanDXSize))
            dgamma[channel(i)] += gs[i] * xhat[i]
            dgammaSize[channel(i)] += Swift.abs(gs[i]) * xhatSize[i]
            dbeta[channel(i)] += gs[i]
            dbetaSize[channel(i)] += Swift.abs(gs[i])
        }
    }
    r.dgamma = Array(zip(dgamma, dgammaSize))
    r.dbeta = Array(zip(dbeta, dbetaSize))
    return r
}

/// The worst error, in ulps of the term sizes, of each result of `isa` over every case (forward, backward).
private func measure(_ isa: KernelISA) -> (forward: Double, backward: Double) {
    let kernels = GroupNormKernels(for: isa)!
    var worst = (forward: 0.0, backward: 0.0)
    for (index, (n, c, s, groups)) in shapes.enumerated() {
        let x = values(n * c * s, seed: UInt64(index) + 1, offset: 3)
        let g = values(n * c * s, seed: UInt64(index) + 50)
        for affine in [false, true] {
            let gamma = affine ? values(c, seed: 7, offset: 1, spread: 0.5) : nil
            let beta = affine ? values(c, seed: 8) : nil
            let got = run(kernels, n: n, c: c, s: s, groups: groups, x: x, g: g, gamma: gamma, beta: beta)
            let want = reference(n: n, c: c, s: s, groups: groups, x: x, g: g, gamma: gamma, beta: beta)
            func error(_ a: [Float], _ e: [(Double, Double)]) -> Double {
                zip(a, e).map { ulpError($0, $1.0, scale: $1.1) }.max() ?? 0
            }
            worst.forward = max(worst.forward, error(got.y, want.y), error(got.mean, want.mean), error(got.rstd, want.rstd))
            worst.backward = max(worst.backward, error(got.dx, want.dx), error(got.dgamma, want.dgamma),
                                 error(got.dbeta, want.dbeta))
        }
    }
    return worst
}

/// The bounds the tests assert (Docs/Kernels.md).
private let forwardBound = 3.0, backwardBound = 3.0

private func check(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let e = measure(isa)
    print(String(format: "group-norm kernels on %@: forward %.2f, backward %.2f ulps of the terms", "\(isa)",
                 e.forward, e.backward))
    #expect(e.forward <= forwardBound, "group-norm forward on \(isa): \(e.forward) ulps", sourceLocation: sourceLocation)
    #expect(e.backward <= backwardBound, "group-norm backward on \(isa): \(e.backward) ulps", sourceLocation: sourceLocation)
}

/// A wide level within twice the bound of the baseline level, in ulps of the same term sizes.
private func checkAgainstBaseline(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let (wide, base) = (GroupNormKernels(for: isa)!, GroupNormKernels(for: .baseline)!)
    for (index, (n, c, s, groups)) in shapes.enumerated() {
        let x = values(n * c * s, seed: UInt64(index) + 11, offset: -2)
        let g = values(n * c * s, seed: UInt64(index) + 60)
        let gamma = values(c, seed: 9, offset: 1), beta = values(c, seed: 10)
        let a = run(wide, n: n, c: c, s: s, groups: groups, x: x, g: g, gamma: gamma, beta: beta)
        let b = run(base, n: n, c: c, s: s, groups: groups, x: x, g: g, gamma: gamma, beta: beta)
        let sizes = reference(n: n, c: c, s: s, groups: groups, x: x, g: g, gamma: gamma, beta: beta)
        let name = "group norm \(n)×\(c)×\(s), \(groups) groups"
        for (what, wa, ba, size, bound) in [("y", a.y, b.y, sizes.y, forwardBound), ("dx", a.dx, b.dx, sizes.dx, backwardBound),
                                            ("dγ", a.dgamma, b.dgamma, sizes.dgamma, backwardBound),
                                            ("dβ", a.dbeta, b.dbeta, sizes.dbeta, backwardBound)] {
            expectAgreement("\(name) \(what)", isa, wa, ba, bound: { _ in 2 * bound }, scale: { size[$0].1 },
                            sourceLocation: sourceLocation)
        }
    }
}

@Suite("The group-norm kernels on every level")
struct GroupNormKernelTests {
    @Test("baseline against Float64") func baseline() { check(.baseline) }

    @Test("avx2 against Float64", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2() { check(.avx2) }

    @Test("avx512 against Float64", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512() { check(.avx512) }

    @Test("avx2 against baseline", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2Agreement() { checkAgainstBaseline(.avx2) }

    @Test("avx512 against baseline", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512Agreement() { checkAgainstBaseline(.avx512) }
}
