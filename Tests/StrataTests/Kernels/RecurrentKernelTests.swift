import Foundation
@testable import Strata
import Testing

// The recurrent kernels of CStrataKernels (Sources/CStrataKernels/recurrent) on every instruction-set level
// this CPU runs: the packed product against a Float64 product within the dot-product error bound; whole
// RNN, LSTM and GRU layers (outputs, final states and every gradient) against the Float64 path of
// `Tensor.recurrentLayer`; every wide level against the baseline level; and, bit for bit, the split of the
// batch across threads and the inference path against the recorded one. The figures printed are the table
// in Docs/Kernels.md (`swift test -c release --filter RecurrentKernelTests`).

/// Float32's unit roundoff, 2⁻²⁴.
private let unitRoundoff = 0x1p-24

/// `count` values uniform in `range`, from a fixed seed.
private func uniform(_ count: Int, _ range: ClosedRange<Double>, seed: UInt64) -> [Float] {
    var generator = RandomGenerator(seed: seed)
    return (0..<count).map { _ in Float(range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUnit()) }
}

// MARK: The product

/// How `product` gets its `cin`: none, one row repeated (a bias), a full matrix, or `c` itself.
private enum ProductInput: CaseIterable {
    case none, row, matrix, inPlace
}

/// `c = cin + a·b + a2·b2` for one shape on `isa`, against Float64: the worst error as a fraction of the bound
/// `(k + k2 + 2)·u·(|cin| + Σ|a·b| + Σ|a2·b2|)` (Higham's γₙ for a dot product of n terms, one more for
/// `cin`). `b` is stored transposed (`[n, k]`, column stride k) and `b2` row-major, so both strides of `pack`
/// run. `c` has 3 spare columns per row, which must stay untouched.
private func productError(_ isa: KernelISA, m: Int, n: Int, k: Int, k2: Int, input: ProductInput, seed: UInt64,
                          sourceLocation: SourceLocation = #_sourceLocation) -> Double {
    let kernels = RecurrentKernels(for: isa)!
    let (lda, lda2, ldc) = (k + 2, k2 + 1, n + 3)
    let a = uniform(m * lda, -1...1, seed: seed), a2 = uniform(m * lda2, -1...1, seed: seed + 1)
    let bT = uniform(n * k, -1...1, seed: seed + 2), b2 = uniform(k2 * n, -1...1, seed: seed + 3)
    let cinRows = input == .row ? 1 : m
    let cin = uniform(cinRows * ldc, -2...2, seed: seed + 4)
    var packed = [Float](repeating: .nan, count: kernels.packedCount(k: k, n: n))
    var packed2 = [Float](repeating: .nan, count: kernels.packedCount(k: k2, n: n))
    kernels.pack(bT, rowStride: 1, columnStride: k, k: k, n: n, into: &packed)
    kernels.pack(b2, rowStride: n, columnStride: 1, k: k2, n: n, into: &packed2)
    let sentinel: Float = 12345
    var c = input == .inPlace ? cin : [Float](repeating: sentinel, count: m * ldc)
    if input == .inPlace { for i in 0..<m { for j in n..<ldc { c[i * ldc + j] = sentinel } } }
    packed.withUnsafeBufferPointer { p in
        packed2.withUnsafeBufferPointer { p2 in
            cin.withUnsafeBufferPointer { cinp in
                c.withUnsafeMutableBufferPointer { cp in
                    let source: UnsafePointer<Float>? = switch input {
                    case .none: nil
                    case .row, .matrix: cinp.baseAddress
                    case .inPlace: UnsafePointer(cp.baseAddress)
                    }
                    kernels.product(m: m, n: n, cin: source, ldcin: input == .row ? 0 : ldc, k: k, a: a, lda: lda,
                                    packed: p.baseAddress!, k2: k2, a2: a2, lda2: lda2, packed2: p2.baseAddress,
                                    c: cp.baseAddress!, ldc: ldc)
                }
            }
        }
    }
    var worst = 0.0
    for i in 0..<m {
        for j in 0..<n {
            var exact = 0.0, magnitude = 0.0
            if input != .none {
                let v = Double(cin[(input == .row ? 0 : i) * ldc + j])
                (exact, magnitude) = (v, abs(v))
            }
            for r in 0..<k {
                let t = Double(a[i * lda + r]) * Double(bT[j * k + r])
                (exact, magnitude) = (exact + t, magnitude + abs(t))
            }
            for r in 0..<k2 {
                let t = Double(a2[i * lda2 + r]) * Double(b2[r * n + j])
                (exact, magnitude) = (exact + t, magnitude + abs(t))
            }
            let bound = Double(k + k2 + 2) * unitRoundoff * magnitude
            worst = max(worst, abs(Double(c[i * ldc + j]) - exact) / max(bound, .leastNormalMagnitude))
        }
        #expect((n..<ldc).allSatisfy { c[i * ldc + $0] == sentinel }, "product on \(isa): row \(i) written past column \(n)",
                sourceLocation: sourceLocation)
    }
    return worst
}

/// Every `cin` form on shapes that leave partial panels and partial row tiles on every level, and the
/// LSTM workload's per-step products ([64, 28 + 128] · [156, 512] forward, [64, 512] · [512, 128] backward).
private func checkProduct(on isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let shapes: [(m: Int, n: Int, k: Int, k2: Int)] = [
        (1, 1, 1, 0), (7, 37, 13, 5), (13, 70, 29, 0), (5, 129, 64, 3), (11, 16, 0, 9), (64, 512, 28, 128), (64, 128, 512, 0),
    ]
    var worst = 0.0
    for (index, s) in shapes.enumerated() {
        for input in ProductInput.allCases {
            worst = max(worst, productError(isa, m: s.m, n: s.n, k: s.k, k2: s.k2, input: input, seed: UInt64(10 * index + 1),
                                            sourceLocation: sourceLocation))
        }
    }
    print("recurrent product \(isa): worst error \(String(format: "%.3f", worst)) of the bound (k + k2 + 2)·u·Σ|terms|")
    #expect(worst <= 1, "product on \(isa): an error of \(worst) times the bound", sourceLocation: sourceLocation)
}

// MARK: Whole layers

/// One layer configuration: `T` steps, batch `B`, `I` inputs, `H` hidden units.
private struct LayerShape: CustomStringConvertible {
    let steps: Int, batch: Int, features: Int, hidden: Int
    var description: String { "T \(steps), B \(batch), I \(features), H \(hidden)" }
}

/// Hidden sizes below, at and between the widths of every level, batches that leave partial row tiles, and one
/// hidden size above a 64-column panel.
private let layerShapes = [
    LayerShape(steps: 1, batch: 1, features: 1, hidden: 1), LayerShape(steps: 3, batch: 5, features: 4, hidden: 20),
    LayerShape(steps: 2, batch: 13, features: 3, hidden: 37), LayerShape(steps: 4, batch: 9, features: 6, hidden: 16),
    LayerShape(steps: 3, batch: 6, features: 7, hidden: 64), LayerShape(steps: 2, batch: 3, features: 2, hidden: 130),
]

/// The named results of one layer run: outputs, final states, and the gradient of every input.
private typealias LayerResults = [(name: String, values: [Double])]

/// Runs `cell` forward and, when recording, backward in `dtype` (Float32 on `kernels`) on inputs drawn from
/// `seed`, rounded to Float32 for both dtypes so they start from the same values. The loss is
/// `Σ outputs·U + hN·V (+ cN·W)` with random U, V, W, so every output's gradient is random.
private func runLayer(_ cell: RecurrentCell, _ s: LayerShape, reverse: Bool, dtype: DType, kernels: RecurrentKernels,
                      seed: UInt64) -> LayerResults {
    let g = cell.gateCount * s.hidden
    var next = seed
    func leaf(_ shape: [Int], _ range: ClosedRange<Double>) -> Tensor {
        next += 1
        let t = Tensor(uniform(shape.reduce(1, *), range, seed: next), shape: shape).to(dtype)
        t.requiresGrad = true
        return t
    }
    func constant(_ shape: [Int]) -> Tensor {
        next += 1
        return Tensor(uniform(shape.reduce(1, *), -1...1, seed: next), shape: shape).to(dtype)
    }
    let x = leaf([s.steps, s.batch, s.features], -1...1), h0 = leaf([s.batch, s.hidden], -0.5...0.5)
    let c0 = cell == .lstm ? leaf([s.batch, s.hidden], -0.5...0.5) : nil
    let wih = leaf([g, s.features], -0.5...0.5), whh = leaf([g, s.hidden], -0.5...0.5)
    let bih = leaf([g], -0.5...0.5), bhh = leaf([g], -0.5...0.5)
    let r = Tensor.recurrentLayer(cell, input: x, h0: h0, c0: c0, weightIH: wih, weightHH: whh, biasIH: bih, biasHH: bhh,
                                  reverse: reverse, kernels: kernels)
    var results: LayerResults = [("outputs", r.outputs.toDoubles()), ("hN", r.hidden.toDoubles())]
    if let c = r.cell { results.append(("cN", c.toDoubles())) }
    guard GradMode.isEnabled else { return results }
    var loss = (r.outputs * constant([s.steps, s.batch, s.hidden])).sum() + (r.hidden * constant([s.batch, s.hidden])).sum()
    if let c = r.cell { loss = loss + (c * constant([s.batch, s.hidden])).sum() }
    loss.backward()
    let leaves = [("dx", x), ("dh0", h0)] + (c0.map { [("dc0", $0)] } ?? [])
        + [("dW_ih", wih), ("dW_hh", whh), ("db_ih", bih), ("db_hh", bhh)]
    for (name, t) in leaves { results.append((name, t.grad!.toDoubles())) }
    return results
}

/// The largest `|actual − expected|` of each result, as a fraction of that result's largest `|expected|`.
private func relativeErrors(_ actual: LayerResults, _ expected: LayerResults) -> [(name: String, error: Double)] {
    zip(actual, expected).map { a, e in
        let scale = max(e.values.map(abs).max() ?? 0, .leastNormalMagnitude)
        let error = zip(a.values, e.values).map { abs($0 - $1) }.max() ?? 0
        return (a.name, error / scale)
    }
}

/// The bound on every layer result's error relative to its largest magnitude: 64 Float32 ulps of it. The
/// measured worst is a few times smaller on every level (printed, and listed in Docs/Kernels.md).
private let layerBound = 64 * unitRoundoff

/// Every cell, both directions and every shape on `isa` against the Float64 path; with `baseline`, each
/// result also against the baseline level's, within twice the bound.
private func checkLayers(on isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let kernels = RecurrentKernels(for: isa)!, baseline = RecurrentKernels(for: .baseline)!
    for cell in [RecurrentCell.rnnTanh, .lstm, .gru] {
        var (worst, worstAgreement) = (0.0, 0.0)
        for (index, shape) in layerShapes.enumerated() {
            for reverse in [false, true] {
                let seed = UInt64(100 * index + (reverse ? 50 : 0))
                let actual = runLayer(cell, shape, reverse: reverse, dtype: .float32, kernels: kernels, seed: seed)
                let reference = runLayer(cell, shape, reverse: reverse, dtype: .float64, kernels: kernels, seed: seed)
                for (name, error) in relativeErrors(actual, reference) {
                    worst = max(worst, error)
                    #expect(error <= layerBound, "\(cell) on \(isa), \(shape), reverse \(reverse): \(name) is off by \(error) of its largest value",
                            sourceLocation: sourceLocation)
                }
                guard isa != .baseline else { continue }
                let base = runLayer(cell, shape, reverse: reverse, dtype: .float32, kernels: baseline, seed: seed)
                for (name, error) in relativeErrors(actual, base) {
                    worstAgreement = max(worstAgreement, error)
                    #expect(error <= 2 * layerBound, "\(cell): \(isa) and baseline differ by \(error) in \(name), \(shape), reverse \(reverse)",
                            sourceLocation: sourceLocation)
                }
            }
        }
        let ulps = { (e: Double) in String(format: "%.1f", e / unitRoundoff) }
        print("recurrent \(cell) \(isa): worst error \(ulps(worst)) u of the largest value"
              + (isa == .baseline ? "" : "; against baseline \(ulps(worstAgreement)) u"))
    }
}

@Suite("Recurrent kernels against Float64 and the baseline level, on every instruction-set level")
struct RecurrentKernelTests {
    @Test("product, baseline") func productBaseline() { checkProduct(on: .baseline) }

    @Test("product, avx2", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func productAVX2() { checkProduct(on: .avx2) }

    @Test("product, avx512", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func productAVX512() { checkProduct(on: .avx512) }

    @Test("layers, baseline") func layersBaseline() { checkLayers(on: .baseline) }

    @Test("layers, avx2", .enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func layersAVX2() { checkLayers(on: .avx2) }

    @Test("layers, avx512", .enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func layersAVX512() { checkLayers(on: .avx512) }
}

// MARK: Bit for bit

/// Everything one forward (keeping what backward needs) and one backward run of a kernel write.
private struct KernelRun: Equatable {
    var h: [Double], c: [Double], pre: [Double], saved: [Double], dgx: [Double], dgh: [Double], dh0: [Double], dc: [Double]
}

/// A forward and a backward run of `kernel` on `kernels` through `RecurrentKernels` directly, the batch split
/// into `chunks` row ranges.
private func runKernels(_ kernel: RecurrentKernel, kernels: RecurrentKernels, chunks: Int, reverse: Bool) -> KernelRun {
    let (steps, batch, features, hidden) = (5, 11, 6, 21)
    let g = kernel.gateCount * hidden, state = batch * hidden
    let isGRU = kernel == .gru, isLSTM = kernel == .lstm
    var seed: UInt64 = 0
    // The buffers are tensors (random values, or zeros), kept alive until the results are read.
    var keep: [Tensor] = []
    func buffer(_ count: Int, _ range: ClosedRange<Double>?) -> UnsafeMutablePointer<Float> {
        seed += 1
        let t = range.map { Tensor(uniform(count, $0, seed: seed), shape: [count]) } ?? Tensor.zeros([count], dtype: .float32)
        keep.append(t)
        return t.pointer(Float.self)
    }
    let x = buffer(steps * batch * features, -1...1)
    let wih = buffer(g * features, -0.5...0.5), whh = buffer(g * hidden, -0.5...0.5)
    let bias = buffer(g, -0.5...0.5), biasHH = buffer(g, -0.5...0.5)
    let h0 = buffer(state, -0.5...0.5), c0 = buffer(state, -0.5...0.5), dh = buffer(steps * state, -1...1)
    let h = buffer(steps * state, nil), c = buffer(steps * state, nil), pre = buffer(steps * batch * g, nil)
    let saved = buffer(steps * batch * 4 * hidden, nil), scratch = buffer(batch * g, nil)
    let dgx = buffer(steps * batch * g, nil), dgh = buffer(steps * batch * g, nil), dh0 = buffer(state, nil)
    let dc = buffer(state, -1...1)
    let packed = buffer(kernels.forwardPackedCount(kernel, features: features, hidden: hidden), nil)
    let packedBack = buffer(kernels.packedCount(k: g, n: hidden), nil)
    kernels.forward(kernel, steps: steps, batch: batch, features: features, hidden: hidden, reverse: reverse, input: x,
                    weightIH: wih, weightHH: whh, bias: bias, biasHH: isGRU ? biasHH : nil, packed: packed, pre: pre,
                    preStep: isLSTM ? batch * g : 0, h0: h0, c0: isLSTM ? c0 : nil, h: h, c: isLSTM ? c : nil,
                    cellStep: state, saved: isGRU ? saved : nil, scratch: isGRU ? scratch : nil, chunks: chunks)
    kernels.backward(kernel, steps: steps, batch: batch, hidden: hidden, reverse: reverse, weight: whh, packed: packedBack,
                     gates: isLSTM ? pre : saved, h: h, h0: h0, c: isLSTM ? c : nil, c0: isLSTM ? c0 : nil, dh: dh,
                     dc: isLSTM ? dc : nil, dgx: dgx, dgh: isGRU ? dgh : nil, dh0: dh0, chunks: chunks)
    func values(_ p: UnsafeMutablePointer<Float>, _ count: Int) -> [Double] { (0..<count).map { Double(p[$0]) } }
    let run = KernelRun(h: values(h, steps * state), c: values(c, steps * state), pre: values(pre, steps * batch * g),
                        saved: values(saved, steps * batch * 4 * hidden), dgx: values(dgx, steps * batch * g),
                        dgh: values(dgh, steps * batch * g), dh0: values(dh0, state), dc: values(dc, state))
    withExtendedLifetime(keep) {}
    return run
}

@Suite("Recurrent kernels: thread split and inference path")
struct RecurrentSplitTests {
    @Test(arguments: [RecurrentKernel.rnnTanh, .lstm, .gru])
    func splittingTheBatchAcrossThreadsChangesNoBit(kernel: RecurrentKernel) {
        for isa in KernelISA.allCases where isa.isSupported {
            let kernels = RecurrentKernels(for: isa)!
            for reverse in [false, true] {
                let whole = runKernels(kernel, kernels: kernels, chunks: 1, reverse: reverse)
                #expect(whole.h.contains { $0 != 0 } && whole.dh0.contains { $0 != 0 }, "\(kernel) on \(isa): the run wrote nothing")
                #expect(runKernels(kernel, kernels: kernels, chunks: 3, reverse: reverse) == whole,
                        "\(kernel) on \(isa), reverse \(reverse): 3 row ranges differ from 1")
            }
        }
    }

    @Test(arguments: [RecurrentCell.rnnTanh, .lstm, .gru])
    func inferenceGivesTheRecordedOutputsBitForBit(cell: RecurrentCell) {
        let shape = LayerShape(steps: 4, batch: 10, features: 5, hidden: 24)
        for isa in KernelISA.allCases where isa.isSupported {
            let kernels = RecurrentKernels(for: isa)!
            let recorded = runLayer(cell, shape, reverse: false, dtype: .float32, kernels: kernels, seed: 3)
            let inference = withNoGrad {
                runLayer(cell, shape, reverse: false, dtype: .float32, kernels: kernels, seed: 3)
            }
            // The forward results come first: outputs, hN and (LSTM) cN.
            let forwardCount = cell == .lstm ? 3 : 2
            for i in 0..<forwardCount {
                #expect(inference[i].values == recorded[i].values, "\(cell) on \(isa): \(recorded[i].name) differs without recording")
            }
        }
    }

    @Test func theBatchIsSplitWhenEachThreadGetsEnoughWork() {
        // The lstm workload (B 64, T 28, H 128): 1.8M multiply-adds per row, so every thread gets a range.
        #expect(RecurrentKernels.chunks(.lstm, batch: 64, steps: 28, hidden: 128, threads: 2) == 2)
        #expect(RecurrentKernels.chunks(.lstm, batch: 64, steps: 28, hidden: 128, threads: 1) == 1)
        // Fewer than four rows per thread, or under 2²⁰ multiply-adds per range, stays on one thread.
        #expect(RecurrentKernels.chunks(.lstm, batch: 7, steps: 28, hidden: 128, threads: 2) == 1)
        #expect(RecurrentKernels.chunks(.gru, batch: 64, steps: 3, hidden: 4, threads: 2) == 1)
    }
}
