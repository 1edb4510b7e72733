import Strata
import Testing

@Suite struct DropoutEmbeddingTests {
    // MARK: Dropout

    @Test func dropoutIsTheIdentityInEvaluation() {
        let x = randomInput([4, 5])
        let layer = Dropout(p: 0.3)
        layer.eval()
        expectClose(layer(x), x.toDoubles(), atol: 0, rtol: 0)
        expectClose(x.dropout(p: 0.9, training: false), x.toDoubles(), atol: 0, rtol: 0)
        expectClose(x.dropout(p: 0), x.toDoubles(), atol: 0, rtol: 0)
        #expect(Dropout().p == 0.5 && Dropout().stateDict().isEmpty)
    }

    @Test func trainingDropsAboutPAndScalesSurvivors() {
        let layer = Dropout(p: 0.3)
        let y = layer(Tensor.ones([100, 100])).toDoubles()
        let dropped = y.filter { $0 == 0 }.count
        // Binomial(10 000, 0.3): mean 3000, standard deviation √(10 000·0.3·0.7) ≈ 46; allow ±300.
        #expect((2700...3300).contains(dropped), "\(dropped) of 10000 dropped")
        // Survivors are 1/(1 − 0.3) = 1/0.7.
        #expect(y.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        #expect(Tensor.ones([7]).dropout(p: 1).toDoubles() == [0, 0, 0, 0, 0, 0, 0])
    }

    @Test func theSameSeedGivesTheSameMask() {
        let x = Tensor.ones([1000])
        Strata.seed(42)
        let first = Dropout(p: 0.5)(x).toDoubles()
        Strata.seed(42)
        let second = Dropout(p: 0.5)(x).toDoubles()
        #expect(first == second)
        var (g1, g2) = (RandomGenerator(seed: 9), RandomGenerator(seed: 9))
        #expect(x.dropout(p: 0.5, generator: &g1).toDoubles() == x.dropout(p: 0.5, generator: &g2).toDoubles())
        #expect(x.dropout(p: 0.5, generator: &g1).toDoubles() != first)
    }

    @Test func dropoutGradientIsTheMaskOverOneMinusP() {
        let x = randomInput([3, 4])
        x.requiresGrad = true
        var generator = RandomGenerator(seed: 3)
        let y = x.dropout(p: 0.25, generator: &generator)
        y.sum().backward()
        // dx = m/(1 − p): 0 where dropped, 4/3 where kept, exactly where y is zero or not.
        for (g, value) in zip(x.grad!.toDoubles(), y.toDoubles()) {
            #expect(value == 0 ? g == 0 : abs(g - 4.0 / 3) < 1e-12)
        }
    }

    @Test(arguments: [[3, 4], [2, 3, 2], [1, 5], [0, 3], []] as [[Int]])
    func dropoutPassesGradcheckWithAFixedMask(shape: [Int]) {
        // Every evaluation reseeds, so the finite differences see the same mask as backward.
        expectGradcheck([randomInput(shape)], "dropout") { x in
            Strata.seed(1)
            return x[0].dropout(p: 0.4)
        }
        expectGradcheck([randomInput([4, 3])], "dropout transposed, local generator") { x in
            var generator = RandomGenerator(seed: 1)
            return x[0].transposed().dropout(p: 0.4, generator: &generator)
        }
    }

    // MARK: Embedding

    @Test func embeddingGathersRows() {
        let layer = Embedding(4, 3, dtype: .float64)
        layer.weight.copy(from: Tensor((0..<12).map(Double.init), shape: [4, 3]))   // row r = [3r, 3r + 1, 3r + 2]
        let y = layer(Tensor([0, 2, 2, 3] as [Int64], shape: [2, 2]))
        expectClose(y, [0, 1, 2, 6, 7, 8, 6, 7, 8, 9, 10, 11], shape: [2, 2, 3], atol: 0)
        expectClose(layer(Tensor([Int64(1)], shape: [])), [3, 4, 5], shape: [3], atol: 0)
        #expect(layer(Tensor([Int64](), shape: [0])).shape == [0, 3])
        #expect(layer.stateDict().keys.sorted() == ["weight"])
    }

    @Test func embeddingInitialisationIsStandardNormalWithAZeroPaddingRow() {
        let layer = Embedding(200, 50, paddingIdx: -1)
        #expect(layer.paddingIdx == 199)
        let w = layer.weight.toDoubles()
        #expect(w[199 * 50..<200 * 50].allSatisfy { $0 == 0 })
        let sample = Array(w[..<(199 * 50)])
        let mean = sample.reduce(0, +) / Double(sample.count)
        let variance = sample.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(sample.count)
        // 9950 N(0, 1) samples: the mean is within 0.05 and the variance within 0.1 of 0 and 1 (> 4σ).
        #expect(abs(mean) < 0.05 && abs(variance - 1) < 0.1)
    }

    @Test func embeddingGradientSumsRepeatedRowsAndSkipsPadding() {
        let layer = Embedding(4, 2, paddingIdx: 0, dtype: .float64)
        let upstream = Tensor([1.0, 2.0, 10.0, 20.0, 100.0, 200.0, 1000.0, 2000.0], shape: [4, 2])
        let y = layer(Tensor([1, 3, 1, 0] as [Int64]))
        (y * upstream).sum().backward()
        // Row 1 is used twice: [1 + 100, 2 + 200]; row 3 once; row 0 is padding; row 2 unused.
        expectClose(layer.weight.grad!, [0, 0, 101, 202, 0, 0, 10, 20], shape: [4, 2], atol: 0)
    }

    @Test(arguments: [[5], [2, 3], [], [0], [3, 1]] as [[Int]])
    func embeddingPassesGradcheckThroughItsWeight(shape: [Int]) {
        let count = shape.reduce(1, *)
        let indices = Tensor((0..<count).map { Int64(($0 * 3) % 4) }, shape: shape)   // repeats rows for count > 4
        let layer = Embedding(4, 3, dtype: .float64)
        #expect(gradcheck(layer, inputs: [indices]) { layer($0[0]) }.passed, "\(shape)")
        // The padding row's gradient is zero by definition, not the true derivative, so the padded layer is
        // checked on indices that avoid it (its zero gradient is checked above).
        let padded = Embedding(4, 3, paddingIdx: 3, dtype: .float64)
        let unpadded = Tensor((0..<count).map { Int64(($0 * 2) % 3) }, shape: shape)
        #expect(gradcheck(padded, inputs: [unpadded]) { padded($0[0]) }.passed, "padding \(shape)")
    }

    @Test func largeEmbeddingBackwardMatchesASerialSum() {
        // 40 000 lookups into 100 rows of 8: the scatter-add runs over column chunks in parallel.
        let (rows, dim, lookups) = (100, 8, 40_000)
        let indices = Tensor((0..<lookups).map { Int64(($0 * 7) % rows) })
        let layer = Embedding(rows, dim, dtype: .float64)
        let upstream = randomInput([lookups, dim])
        (layer(indices) * upstream).sum().backward()
        var expected = [Double](repeating: 0, count: rows * dim)
        let (u, ids) = (upstream.toDoubles(), indices.scalars(as: Int64.self))
        for i in 0..<lookups { for j in 0..<dim { expected[Int(ids[i]) * dim + j] += u[i * dim + j] } }
        expectClose(layer.weight.grad!, expected, atol: 1e-9)
    }
}
