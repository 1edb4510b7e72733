import Foundation
import Strata
import Testing

/// `softmax(Q·Kᵀ·scale + mask)·V` from basic ops, the reference for the fused op. `keep` is a bool mask
/// (true = attend) turned into an additive `0 / -inf` mask.
private func composedAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, keep: Tensor? = nil, additive: Tensor? = nil,
                               causal: Bool = false, scale: Double? = nil) -> Tensor {
    let e = q.shape[q.rank - 1], (l, s) = (q.shape[q.rank - 2], k.shape[k.rank - 2])
    var scores = q.matmul(k.transposed()) * (scale ?? 1 / Double(e).squareRoot())
    let (zero, minusInfinity) = (Tensor.zeros([], dtype: q.dtype), Tensor.full([], -.infinity, dtype: q.dtype))
    if let keep { scores = scores + Tensor.where(keep, zero, minusInfinity) }
    if let additive { scores = scores + additive }
    if causal {
        let allowed = Tensor.arange(0, Double(s)).unsqueezed(0).le(Tensor.arange(0, Double(l)).unsqueezed(1))
        scores = scores + Tensor.where(allowed, zero, minusInfinity)
    }
    return scores.softmax(dim: -1).matmul(v)
}

/// A bool mask of `shape` from a fixed seed whose last-dim element 0 is always true, so no row is fully masked.
private func randomKeepMask(_ shape: [Int], seed: UInt64) -> Tensor {
    let values = randomInput(shape, seed: seed).toDoubles()
    let last = shape.last!
    return Tensor(values.enumerated().map { i, v in i % last == 0 || v > 0 }, shape: shape)
}

@Suite struct AttentionTests {
    // MARK: scaledDotProductAttention

    /// L = S = 2, E = Ev = 1, scale 1/√1 = 1: q = [1, 2], k = [1, 0], v = [10, 20].
    /// Row 0 scores [1, 0] → softmax [e/(e+1), 1/(e+1)] = [0.7310585786300049, 0.2689414213699951]
    ///   → 10·0.7310585786300049 + 20·0.2689414213699951 = 12.689414213699951.
    /// Row 1 scores [2, 0] → [0.8807970779778823, 0.11920292202211757] → 11.192029220221176.
    @Test func handComputedTinyCase() {
        let q = Tensor([1.0, 2.0], shape: [2, 1])
        let k = Tensor([1.0, 0.0], shape: [2, 1])
        let v = Tensor([10.0, 20.0], shape: [2, 1])
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v),
                    [12.689414213699951, 11.192029220221176], shape: [2, 1], atol: 1e-12, rtol: 0)
        // Causal: row 0 sees only key 0 → 10; row 1 sees both, as above.
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, isCausal: true),
                    [10, 11.192029220221176], atol: 1e-12, rtol: 0)
        // Padding: key 1 masked out (keep = [true, false], broadcast over rows) → both rows read v[0] = 10.
        let keep = Tensor([true, false], shape: [2])
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: keep), [10, 10], atol: 1e-12, rtol: 0)
        // The same as an additive float mask.
        let additive = Tensor([0.0, -.infinity], shape: [1, 2])
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: additive), [10, 10], atol: 1e-12, rtol: 0)
        // An explicit scale 0 gives uniform weights: (10 + 20)/2 = 15.
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, scale: 0), [15, 15], atol: 1e-12, rtol: 0)
        // A finite additive bias: row 0 scores [1, 0 + ln 3] → weights ∝ [e, 3] → (10e + 60)/(e + 3).
        let bias = Tensor([0.0, Foundation.log(3.0)], shape: [2])
        let e = Foundation.exp(1.0)
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: bias).slice(0, 0..<1),
                    [(10 * e + 60) / (e + 3)], atol: 1e-12, rtol: 0)
    }

    @Test func fullyMaskedRowsGiveZerosNotNaN() {
        let (q, k, v) = (randomInput([2, 3]), randomInput([4, 3], seed: 2), randomInput([4, 2], seed: 3))
        // Row 0 keeps nothing, row 1 keeps keys 1 and 3.
        let keep = Tensor([false, false, false, false, false, true, false, true], shape: [2, 4])
        let out = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: keep)
        expectClose(out.slice(0, 0..<1), [0, 0], atol: 0, rtol: 0)
        let reference = composedAttention(q.slice(0, 1..<2), k, v, keep: keep.slice(0, 1..<2))
        expectClose(out.slice(0, 1..<2), reference.toDoubles(), atol: 1e-12, rtol: 0)
        // All-(-inf) float masks behave the same, and the masked row passes no gradient.
        let additive = Tensor([-Double.infinity, -.infinity, -.infinity, -.infinity, 0, 0, 0, 0], shape: [2, 4])
        expectClose(Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: additive).slice(0, 0..<1), [0, 0],
                    atol: 0, rtol: 0)
        expectGradcheck([q, k, v], "fully masked row") { x in
            Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: keep)
        }
        // The fully masked query row gets exactly zero gradient.
        let qq = q.detached()
        qq.requiresGrad = true
        Tensor.scaledDotProductAttention(query: qq, key: k, value: v, mask: keep).sum().backward()
        #expect(qq.grad!.toDoubles().prefix(3).allSatisfy { $0 == 0 })
    }

    /// (query, key, value, mask) shapes, broadcasting among all four.
    static let shapes: [([Int], [Int], [Int], [Int]?)] = [
        ([3, 4], [5, 4], [5, 2], nil),
        ([2, 3, 4], [2, 5, 4], [2, 5, 3], [3, 5]),
        ([2, 2, 3, 4], [2, 5, 4], [1, 2, 5, 3], [2, 1, 3, 5]),   // broadcast batch dims
        ([1, 3], [4, 3], [4, 2], [1, 4]),                          // L = 1
        ([3, 1, 2, 4], [1, 2, 4], [2, 2, 1], [3, 1, 1, 2]),        // size-1 dims, mask with more batch dims
    ]

    @Test(arguments: 0..<5)
    func fusedEqualsComposedOps(index: Int) {
        let (qs, ks, vs, ms) = Self.shapes[index]
        let (q, k, v) = (randomInput(qs, seed: 11), randomInput(ks, seed: 12), randomInput(vs, seed: 13))
        let keep = ms.map { randomKeepMask($0, seed: 14) }
        for causal in [false, true] {
            let fused = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: keep, isCausal: causal)
            let reference = composedAttention(q, k, v, keep: keep, causal: causal)
            expectClose(fused, reference.toDoubles(), shape: reference.shape, atol: 1e-12, rtol: 0)
        }
        // A float mask and an explicit scale.
        if let ms {
            let additive = randomInput(ms, seed: 15)
            let fused = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: additive, scale: 0.3)
            expectClose(fused, composedAttention(q, k, v, additive: additive, scale: 0.3).toDoubles(), atol: 1e-12, rtol: 0)
        }
        // Float32 agrees with Float64 to single precision.
        let single = Tensor.scaledDotProductAttention(query: q.to(.float32), key: k.to(.float32), value: v.to(.float32),
                                                      mask: keep, isCausal: true)
        #expect(single.dtype == .float32)
        expectClose(single, composedAttention(q, k, v, keep: keep, causal: true).toDoubles(), atol: 1e-5, rtol: 1e-4)
    }

    @Test(arguments: 0..<5)
    func gradcheckThroughQueryKeyValue(index: Int) {
        let (qs, ks, vs, ms) = Self.shapes[index]
        let inputs = [randomInput(qs, seed: 21), randomInput(ks, seed: 22), randomInput(vs, seed: 23)]
        let keep = ms.map { randomKeepMask($0, seed: 24) }
        expectGradcheck(inputs, "sdpa") { x in Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2]) }
        expectGradcheck(inputs, "sdpa causal") { x in
            Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], isCausal: true)
        }
        if let keep, let ms {
            expectGradcheck(inputs, "sdpa bool mask") { x in
                Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: keep, isCausal: index % 2 == 0)
            }
            let additive = randomInput(ms, seed: 25)
            expectGradcheck(inputs, "sdpa float mask, scale") { x in
                Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], mask: additive, scale: 0.7)
            }
        }
    }

    @Test func gradcheckTransposedViewsAndEdgeShapes() {
        // Key given as a transposed view [E, S]ᵀ and value as a permuted view: read through gemm flags.
        expectGradcheck([randomInput([2, 3, 4]), randomInput([2, 4, 5], seed: 2), randomInput([3, 5, 2], seed: 3)],
                        "transposed views") { x in
            Tensor.scaledDotProductAttention(query: x[0], key: x[1].transposed(), value: x[2].permuted([2, 1, 0]))
        }
        // Head-split views as MultiheadAttention makes them: [L, B, H, D] permuted to [B, H, L, D].
        expectGradcheck([randomInput([3, 2, 2, 2]), randomInput([4, 2, 2, 2], seed: 5)], "head views") { x in
            let q = x[0].permuted([1, 2, 0, 3]), kv = x[1].permuted([1, 2, 0, 3])
            return Tensor.scaledDotProductAttention(query: q, key: kv, value: kv, isCausal: true)
        }
        // Zero-size query length: an empty result.
        let empty = Tensor.scaledDotProductAttention(query: randomInput([2, 0, 3]), key: randomInput([2, 4, 3]),
                                                     value: randomInput([2, 4, 5]))
        #expect(empty.shape == [2, 0, 5])
        expectGradcheck([randomInput([2, 0, 3]), randomInput([2, 4, 3], seed: 2), randomInput([2, 4, 5], seed: 3)],
                        "empty query") { x in Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2]) }
        // Zero-size source length: no keys, every row fully masked → zeros.
        let noKeys = Tensor.scaledDotProductAttention(query: randomInput([2, 3]), key: randomInput([0, 3]),
                                                      value: randomInput([0, 4]))
        expectClose(noKeys, [Double](repeating: 0, count: 8), shape: [2, 4], atol: 0, rtol: 0)
    }

    @Test func dropoutWithAFixedGeneratorPassesGradcheckAndPEqualsOneGivesZeros() {
        let inputs = [randomInput([2, 3, 4]), randomInput([2, 5, 4], seed: 2), randomInput([2, 5, 3], seed: 3)]
        expectGradcheck(inputs, "sdpa dropout") { x in
            var generator = RandomGenerator(seed: 7)
            return Tensor.scaledDotProductAttention(query: x[0], key: x[1], value: x[2], isCausal: true, dropout: 0.4,
                                                    generator: &generator)
        }
        let zeros = Tensor.scaledDotProductAttention(query: inputs[0], key: inputs[1], value: inputs[2], dropout: 1)
        expectClose(zeros, [Double](repeating: 0, count: 18), atol: 0, rtol: 0)
        // The same generator seed gives the same output; dropout changes it.
        var (g1, g2) = (RandomGenerator(seed: 3), RandomGenerator(seed: 3))
        let a = Tensor.scaledDotProductAttention(query: inputs[0], key: inputs[1], value: inputs[2], dropout: 0.5, generator: &g1)
        let b = Tensor.scaledDotProductAttention(query: inputs[0], key: inputs[1], value: inputs[2], dropout: 0.5, generator: &g2)
        #expect(a.toDoubles() == b.toDoubles())
        #expect(a.toDoubles() != Tensor.scaledDotProductAttention(query: inputs[0], key: inputs[1], value: inputs[2]).toDoubles())
    }

    // MARK: MultiheadAttention

    /// MultiheadAttention by hand from its own parameters: project, split heads, attend, merge, project.
    private func referenceMHA(_ layer: MultiheadAttention, query: Tensor, key: Tensor, value: Tensor,
                              additiveMask: Tensor?) -> (Tensor, Tensor) {
        let (e, h) = (layer.embedDim, layer.numHeads)
        let d = e / h
        let (l, b, s) = (query.shape[0], query.shape[1], key.shape[0])
        let w = layer.inProjWeight, bias = layer.inProjBias!
        func project(_ x: Tensor, _ i: Int) -> Tensor {
            x.matmul(w.slice(0, i * e..<(i + 1) * e).transposed()) + bias.slice(0, i * e..<(i + 1) * e)
        }
        func split(_ x: Tensor, _ n: Int) -> Tensor { x.reshaped([n, b, h, d]).permuted([1, 2, 0, 3]) }  // [B, H, n, D]
        let (q, k, v) = (split(project(query, 0), l), split(project(key, 1), s), split(project(value, 2), s))
        var scores = q.matmul(k.transposed()) / Double(d).squareRoot()
        if let additiveMask { scores = scores + additiveMask }
        let p = scores.softmax(dim: -1)
        let merged = p.matmul(v).permuted([2, 0, 1, 3]).reshaped([l, b, e])
        return (merged.matmul(layer.outProj.weight.transposed()) + layer.outProj.bias!, p.mean(dim: 1))
    }

    @Test func multiheadAttentionMatchesTheComputationByHand() {
        let layer = MultiheadAttention(embedDim: 4, numHeads: 2, dtype: .float64)
        // Non-zero biases so that a bias mix-up would show.
        layer.inProjBias!.copy(from: randomInput([12], seed: 40))
        layer.outProj.bias!.copy(from: randomInput([4], seed: 41))
        let (l, s, b) = (3, 5, 2)
        let query = randomInput([l, b, 4], seed: 42), key = randomInput([s, b, 4], seed: 43), value = randomInput([s, b, 4], seed: 44)
        // attnMask forbids (true) key 4 for query 0; padding hides key 1 of batch 1.
        var forbid = [Bool](repeating: false, count: l * s)
        forbid[4] = true
        let attnMask = Tensor(forbid, shape: [l, s])
        let padding = Tensor([false, false, false, false, false, false, true, false, false, false], shape: [b, s])
        let additive = Tensor.where(attnMask, Tensor.full([], -.infinity, dtype: .float64), Tensor.zeros([], dtype: .float64))
            + Tensor.where(padding.reshaped([b, 1, 1, s]), Tensor.full([], -.infinity, dtype: .float64),
                           Tensor.zeros([], dtype: .float64))
        let (expected, expectedWeights) = referenceMHA(layer, query: query, key: key, value: value, additiveMask: additive)
        let (out, noWeights) = layer(query: query, key: key, value: value, keyPaddingMask: padding, attnMask: attnMask)
        #expect(noWeights == nil)
        expectClose(out, expected.toDoubles(), shape: [l, b, 4], atol: 1e-12, rtol: 0)
        // needWeights: the composed path gives the same output and head-averaged weights [B, L, S].
        let (out2, weights) = layer(query: query, key: key, value: value, keyPaddingMask: padding, attnMask: attnMask,
                                    needWeights: true)
        expectClose(out2, expected.toDoubles(), atol: 1e-12, rtol: 0)
        expectClose(weights!, expectedWeights.toDoubles(), shape: [b, l, s], atol: 1e-12, rtol: 0)
        let perHead = layer(query: query, key: key, value: value, needWeights: true, averageAttnWeights: false).weights!
        #expect(perHead.shape == [b, 2, l, s])
        // A float attnMask equal to the bool one's additive form gives the same result.
        let floatMask = Tensor.where(attnMask, Tensor.full([], -.infinity, dtype: .float64), Tensor.zeros([], dtype: .float64))
        expectClose(layer(query: query, key: key, value: value, keyPaddingMask: padding, attnMask: floatMask).output,
                    expected.toDoubles(), atol: 1e-12, rtol: 0)
        // Self-attention (one fused projection) equals the separate-projection path.
        let x = query
        let (selfExpected, _) = referenceMHA(layer, query: x, key: x, value: x, additiveMask: nil)
        expectClose(layer(query: x, key: x, value: x).output, selfExpected.toDoubles(), atol: 1e-12, rtol: 0)
        // isCausal equals an explicit causal mask.
        let causal = Tensor.arange(0, 3).unsqueezed(0).gt(Tensor.arange(0, 3).unsqueezed(1))
        expectClose(layer(query: x, key: x, value: x, isCausal: true).output,
                    layer(query: x, key: x, value: x, attnMask: causal).output.toDoubles(), atol: 1e-12, rtol: 0)
    }

    @Test func batchFirstAndUnbatchedInputsMatchTheDefaultLayout() throws {
        let layer = MultiheadAttention(embedDim: 6, numHeads: 3, dtype: .float64)
        let other = MultiheadAttention(embedDim: 6, numHeads: 3, batchFirst: true, dtype: .float64)
        try other.loadStateDict(layer.stateDict())
        let q = randomInput([4, 2, 6], seed: 50), kv = randomInput([3, 2, 6], seed: 51)
        let padding = Tensor([false, true, false, true, false, false], shape: [2, 3])
        let expected = layer(query: q, key: kv, value: kv, keyPaddingMask: padding).output
        let batchFirst = other(query: q.transposed(0, 1), key: kv.transposed(0, 1), value: kv.transposed(0, 1),
                               keyPaddingMask: padding).output
        expectClose(batchFirst.transposed(0, 1).contiguous(), expected.toDoubles(), shape: [4, 2, 6], atol: 1e-12, rtol: 0)
        let single = layer(query: q.select(1, 0), key: kv.select(1, 0), value: kv.select(1, 0),
                           keyPaddingMask: padding.select(0, 0)).output
        expectClose(single, expected.select(1, 0).contiguous().toDoubles(), shape: [4, 6], atol: 1e-12, rtol: 0)
    }

    @Test func multiheadAttentionHasPyTorchsStateDictAndInit() {
        let layer = MultiheadAttention(embedDim: 8, numHeads: 2)
        #expect(layer.namedParameters().map(\.name) == ["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias"])
        let state = layer.stateDict()
        #expect(state["in_proj_weight"]!.shape == [24, 8] && state["in_proj_bias"]!.shape == [24])
        #expect(state["out_proj.weight"]!.shape == [8, 8] && state["out_proj.bias"]!.shape == [8])
        // Xavier uniform over [3E, E]: bound √(6 / (E + 3E)) = √(6/32); biases zero; out_proj.weight U(±1/√E).
        let bound = (6.0 / 32).squareRoot()
        #expect(layer.inProjWeight.toDoubles().allSatisfy { abs($0) <= bound })
        #expect(layer.inProjWeight.toDoubles().contains { abs($0) > 1 / 8.0.squareRoot() })  // wider than Linear's default
        #expect(layer.inProjBias!.toDoubles().allSatisfy { $0 == 0 } && layer.outProj.bias!.toDoubles().allSatisfy { $0 == 0 })
        #expect(layer.outProj.weight.toDoubles().allSatisfy { abs($0) <= 1 / 8.0.squareRoot() })
        let noBias = MultiheadAttention(embedDim: 4, numHeads: 1, bias: false)
        #expect(noBias.stateDict().keys.sorted() == ["in_proj_weight", "out_proj.weight"])
    }

    @Test func multiheadAttentionPassesGradcheck() {
        let layer = MultiheadAttention(embedDim: 4, numHeads: 2, dtype: .float64)
        layer.inProjBias!.copy(from: randomInput([12], seed: 60))
        let padding = Tensor([false, false, true, false, true, false], shape: [2, 3])
        let attnMask = Tensor([false, true, false, false, false, true, false, false, false], shape: [3, 3])
        let cross = gradcheck(layer, inputs: [randomInput([2, 2, 4], seed: 61), randomInput([3, 2, 4], seed: 62),
                                              randomInput([3, 2, 4], seed: 63)]) { x in
            layer(query: x[0], key: x[1], value: x[2], keyPaddingMask: padding).output
        }
        #expect(cross.passed, "cross attention: \(cross)")
        let selfAttention = gradcheck(layer, inputs: [randomInput([3, 2, 4], seed: 64)]) { x in
            layer(query: x[0], key: x[0], value: x[0], keyPaddingMask: padding, attnMask: attnMask, isCausal: true).output
        }
        #expect(selfAttention.passed, "self attention: \(selfAttention)")
        let withWeights = gradcheck(layer, inputs: [randomInput([3, 2, 4], seed: 65)]) { x in
            let (out, weights) = layer(query: x[0], key: x[0], value: x[0], attnMask: attnMask, needWeights: true)
            return out.sum(dim: -1) + weights!.sum(dim: -1).transposed(0, 1) * weights!.transposed(0, 1).sum(dim: -1)
        }
        #expect(withWeights.passed, "needWeights: \(withWeights)")
    }

    @Test func attentionDropoutFollowsTrainAndEval() {
        let layer = MultiheadAttention(embedDim: 4, numHeads: 2, dropout: 0.5, dtype: .float64)
        let x = randomInput([5, 3, 4], seed: 70)
        layer.eval()
        #expect(!layer.isTraining)
        let first = layer(query: x, key: x, value: x).output.toDoubles()
        #expect(first == layer(query: x, key: x, value: x).output.toDoubles())
        layer.train()
        #expect(layer(query: x, key: x, value: x).output.toDoubles() != first)
    }

    // MARK: Positional encodings

    @Test func sinusoidalEncodingMatchesTheFormula() {
        let encoding = SinusoidalPositionalEncoding(maxLength: 6, dim: 4, dtype: .float64)
        #expect(encoding.stateDict().keys.sorted() == ["pe"] && encoding.parameters().isEmpty)
        // Position 0: sin 0 = 0 at even, cos 0 = 1 at odd. Position 1: sin(1), cos(1), then the frequency
        // 1/10000^(2/4) = 0.01: sin(0.01), cos(0.01).
        expectClose(encoding.pe.slice(0, 0..<2),
                    [0, 1, 0, 1, Foundation.sin(1), Foundation.cos(1), Foundation.sin(0.01), Foundation.cos(0.01)],
                    atol: 1e-15, rtol: 0)
        // Odd D: the last (even) column is a sine.
        let odd = SinusoidalPositionalEncoding(maxLength: 3, dim: 3, dtype: .float64)
        expectClose(odd.pe.select(0, 2), [Foundation.sin(2), Foundation.cos(2), Foundation.sin(2 / Foundation.pow(10_000, 2.0 / 3))],
                    atol: 1e-15, rtol: 0)
        let x = randomInput([2, 3, 4])
        let y = encoding(x)
        expectClose(y, (x + encoding.pe.slice(0, 0..<3)).toDoubles(), shape: [2, 3, 4], atol: 0, rtol: 0)
        expectGradcheck([x], "sinusoidal") { encoding($0[0]) }
    }

    @Test func learnedPositionalEmbeddingAddsItsRowsAndPassesGradcheck() {
        let embedding = LearnedPositionalEmbedding(maxLength: 5, dim: 3, dtype: .float64)
        #expect(embedding.namedParameters().map(\.name) == ["weight"] && embedding.weight.shape == [5, 3])
        let x = randomInput([2, 4, 3], seed: 80)
        let expected = x + embedding.weight.slice(0, 0..<4)
        expectClose(embedding(x), expected.toDoubles(), atol: 0, rtol: 0)
        let result = gradcheck(embedding, inputs: [x]) { embedding($0[0]) }
        #expect(result.passed, "\(result)")
    }
}
