import Foundation
@testable import Strata
import Testing

// The batch-normalisation kernels (Sources/CStrataKernels/batchnorm) on every level this CPU runs, against Float64
// on the same Float32 inputs. Errors are counted in units of `u·scale` (u = 2⁻²⁴), with the scale each result's
// rounding is proportional to:
// - mean: Σ|x|/M, and the bound is the longest chain of Float32 additions (a lane of the baseline level's four
//   accumulators sums S/16 elements, then three vector additions), plus the division;
// - variance: Σ(x − μ)²/M (the terms are positive), the same chain plus the rounding of x − μ and of the square;
// - the affine map: |x − μ|·|a| + |b|; the gradient sums: Σ|dy| and Σ|dy·(x − μ)|·rstd, over chains of S/8;
// - the input gradient: |a|·(|dy| + |m| + |x − μ|·|rstd·m̂|), six roundings.
// Every wide level must also lie within twice the bound of the baseline level's results.

/// One `[N, C, S]` input.
private struct BatchNormCase: CustomStringConvertible, Sendable {
    var n: Int, c: Int, s: Int
    /// Added to every input, so that the variance is small against the mean (the two-pass case).
    var offset: Float = 0
    var description: String { "[\(n), \(c), \(s)] + \(offset)" }
}

private let batchNormCases: [BatchNormCase] = [
    BatchNormCase(n: 3, c: 5, s: 37),                   // partial vectors on every level
    BatchNormCase(n: 7, c: 3, s: 1),                    // BatchNorm1d on [N, C]: one element per row
    BatchNormCase(n: 4, c: 2, s: 256, offset: 3),       // whole vectors; a mean far from zero
    BatchNormCase(n: 1, c: 1, s: 5),
    BatchNormCase(n: 16, c: 8, s: 64, offset: -1),      // enough rows to split across threads
]

private func randomFloats(_ count: Int, seed: UInt64, offset: Float = 0) -> [Float] {
    var generator = RandomGenerator(seed: seed)
    return (0..<count).map { _ in Float(generator.nextNormal()) + offset }
}

/// The outputs of the four kernels on one level, for inputs that depend only on the case.
private struct BatchNormResults {
    var mean: [Float], variance: [Float], y: [Float], sumDy: [Float], sumDyXhat: [Float], dx: [Float], dxRunning: [Float]
}

/// The inputs every level gets: `x`, `dy`, and the per-channel constants the maps take (fixed here, so that every
/// level's maps see the same ones).
private struct BatchNormOperands {
    let x: [Float], dy: [Float], mean: [Float], rstd: [Float], scale: [Float], shift: [Float], meanDy: [Float],
        meanDyXhat: [Float]

    init(_ c: BatchNormCase, seed: UInt64) {
        x = randomFloats(c.n * c.c * c.s, seed: seed, offset: c.offset)
        dy = randomFloats(c.n * c.c * c.s, seed: seed + 1)
        mean = randomFloats(c.c, seed: seed + 2, offset: c.offset)
        rstd = randomFloats(c.c, seed: seed + 3).map { Swift.abs($0) + 0.5 }
        scale = randomFloats(c.c, seed: seed + 4)
        shift = randomFloats(c.c, seed: seed + 5)
        meanDy = randomFloats(c.c, seed: seed + 6)
        meanDyXhat = randomFloats(c.c, seed: seed + 7)
    }
}

private func run(_ c: BatchNormCase, _ o: BatchNormOperands, on kernels: BatchNormKernels) -> BatchNormResults {
    let count = c.n * c.c * c.s
    var r = BatchNormResults(mean: .init(repeating: .nan, count: c.c), variance: .init(repeating: .nan, count: c.c),
                             y: .init(repeating: .nan, count: count), sumDy: .init(repeating: .nan, count: c.c),
                             sumDyXhat: .init(repeating: .nan, count: c.c), dx: .init(repeating: .nan, count: count),
                             dxRunning: .init(repeating: .nan, count: count))
    kernels.statistics(o.x, n: c.n, c: c.c, s: c.s, mean: &r.mean, variance: &r.variance)
    kernels.affine(o.x, n: c.n, c: c.c, s: c.s, mean: o.mean, scale: o.scale, shift: o.shift, into: &r.y)
    kernels.gradientSums(o.dy, o.x, n: c.n, c: c.c, s: c.s, mean: o.mean, rstd: o.rstd, sumDy: &r.sumDy,
                         sumDyXhat: &r.sumDyXhat)
    kernels.inputGradient(o.dy, o.x, n: c.n, c: c.c, s: c.s, mean: o.mean, rstd: o.rstd, scale: o.scale,
                          meanDy: o.meanDy, meanDyXhat: o.meanDyXhat, into: &r.dx)
    kernels.inputGradient(o.dy, nil, n: c.n, c: c.c, s: c.s, mean: o.mean, rstd: o.rstd, scale: o.scale,
                          meanDy: o.meanDy, meanDyXhat: o.meanDyXhat, into: &r.dxRunning)
    return r
}

/// One result of the kernels: its Float64 value and the scale of its rounding, per element.
private struct Expected {
    var value: [Double] = [], scale: [Double] = []
    mutating func append(_ v: Double, _ s: Double) { value.append(v); scale.append(s) }
}

/// The Float64 value and scale of every result, by name.
private func reference(_ c: BatchNormCase, _ o: BatchNormOperands) -> [String: Expected] {
    var e: [String: Expected] = [:]
    let m = Double(c.n * c.s)
    func rows(_ ch: Int) -> [Int] {
        var indices: [Int] = []
        for sample in 0..<c.n { indices += Array((sample * c.c + ch) * c.s..<(sample * c.c + ch + 1) * c.s) }
        return indices
    }
    for ch in 0..<c.c {
        let xs = rows(ch).map { Double(o.x[$0]) }, gs = rows(ch).map { Double(o.dy[$0]) }
        let mu = xs.reduce(0, +) / m
        e["mean", default: .init()].append(mu, xs.map(Swift.abs).reduce(0, +) / m)
        let variance = xs.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / m
        e["variance", default: .init()].append(variance, variance)
        let (mu32, r) = (Double(o.mean[ch]), Double(o.rstd[ch]))
        e["sumDy", default: .init()].append(gs.reduce(0, +), gs.map(Swift.abs).reduce(0, +))
        let products = zip(gs, xs).map { $0 * ($1 - mu32) * r }
        e["sumDyXhat", default: .init()].append(products.reduce(0, +), products.map(Swift.abs).reduce(0, +))
    }
    for i in 0..<c.n * c.c * c.s {
        let ch = (i / c.s) % c.c
        let (x, g, mu) = (Double(o.x[i]), Double(o.dy[i]), Double(o.mean[ch]))
        let (a, b, md, k) = (Double(o.scale[ch]), Double(o.shift[ch]), Double(o.meanDy[ch]),
                             Double(o.rstd[ch]) * Double(o.meanDyXhat[ch]))
        e["y", default: .init()].append((x - mu) * a + b, Swift.abs(x - mu) * Swift.abs(a) + Swift.abs(b))
        e["dx", default: .init()].append(a * (g - md - (x - mu) * k),
                                         Swift.abs(a) * (Swift.abs(g) + Swift.abs(md) + Swift.abs(x - mu) * Swift.abs(k)))
        e["dxRunning", default: .init()].append(a * g, Swift.abs(a * g))
    }
    return e
}

private func results(_ r: BatchNormResults) -> [String: [Float]] {
    ["mean": r.mean, "variance": r.variance, "y": r.y, "sumDy": r.sumDy, "sumDyXhat": r.sumDyXhat, "dx": r.dx,
     "dxRunning": r.dxRunning]
}

/// Each result's bound in units of `u·scale`, for a case.
private func bounds(_ c: BatchNormCase) -> [String: Double] {
    let chain = Double(c.s / 16 + 3), gradientChain = Double(c.s / 8 + 3)
    return ["mean": chain + 2, "variance": chain + 5, "y": 3, "sumDy": gradientChain + 1,
            "sumDyXhat": gradientChain + 4, "dx": 6, "dxRunning": 1]
}

private func worstError(_ actual: [Float], _ expected: [Double], _ scale: [Double]) -> Double {
    var worst = 0.0
    for i in actual.indices {
        let e = Swift.abs(Double(actual[i]) - expected[i]) / (0x1p-24 * Swift.max(scale[i], .leastNormalMagnitude))
        if !(e <= worst) { worst = e }   // NaN counts as the worst
    }
    return worst
}

private func checkBatchNormKernels(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let (kernels, baseline) = (BatchNormKernels(for: isa)!, BatchNormKernels(for: .baseline)!)
    var worst: [String: Double] = [:]
    for (index, c) in batchNormCases.enumerated() {
        let operands = BatchNormOperands(c, seed: 50 * UInt64(index + 1))
        let (actual, base) = (results(run(c, operands, on: kernels)), results(run(c, operands, on: baseline)))
        let (expected, limits) = (reference(c, operands), bounds(c))
        for (name, limit) in limits {
            let e = expected[name]!
            let error = worstError(actual[name]!, e.value, e.scale)
            let fromBaseline = worstError(actual[name]!, base[name]!.map(Double.init), e.scale)
            #expect(error <= limit, "batch norm \(name) on \(isa), \(c): \(error) u·scale (bound \(limit))",
                    sourceLocation: sourceLocation)
            #expect(fromBaseline <= 2 * limit,
                    "batch norm \(name) on \(isa) against baseline, \(c): \(fromBaseline) u·scale (bound \(2 * limit))",
                    sourceLocation: sourceLocation)
            worst[name] = Swift.max(worst[name] ?? 0, error)
        }
    }
    print("batch norm kernels \(isa), worst error in u·scale: "
        + ["mean", "variance", "y", "sumDy", "sumDyXhat", "dx", "dxRunning"]
            .map { "\($0) \(String(format: "%.2f", worst[$0] ?? 0))" }.joined(separator: ", "))
}

@Suite("Batch-normalisation kernels on every level")
struct BatchNormKernelTests {
    @Test func baseline() { checkBatchNormKernels(.baseline) }

    @Test(.enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2() { checkBatchNormKernels(.avx2) }

    @Test(.enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512() { checkBatchNormKernels(.avx512) }

    /// The Float32 op runs the level in use.
    @Test func theOpRunsTheSelectedLevel() {
        #expect(BatchNormKernels.selected.isa == Strata.instructionSet)
    }
}
