import Strata
import Testing

/// Batch transforms: normalisation, random crop with padding, horizontal flip.
@Suite struct TransformTests {
    /// [B, C, H, W] float32 with element i equal to i.
    func ramp(_ shape: [Int]) -> Tensor {
        Tensor((0..<shape.reduce(1, *)).map { Float($0) }, shape: shape)
    }

    @Test func normalizePerChannel() {
        var g = RandomGenerator(seed: 0)
        // [2, 2, 1, 2]: batch 0 channel 0 = [0, 1], channel 1 = [2, 3]; batch 1 channel 0 = [4, 5], channel 1 = [6, 7].
        let out = Normalize(mean: [1, 2], std: [2, 4]).apply(ramp([2, 2, 1, 2]), generator: &g)
        // channel 0: (x − 1) / 2; channel 1: (x − 2) / 4.
        expectClose(out, [-0.5, 0, 0, 0.25, 1.5, 2, 1, 1.25], shape: [2, 2, 1, 2])
    }

    @Test func flipWithProbabilityOneMirrorsEveryRow() {
        var g = RandomGenerator(seed: 0)
        let out = RandomHorizontalFlip(probability: 1).apply(ramp([1, 2, 2, 3]), generator: &g)
        expectClose(out, [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9], shape: [1, 2, 2, 3])
        let same = RandomHorizontalFlip(probability: 0).apply(ramp([1, 2, 2, 3]), generator: &g)
        expectClose(same, ramp([1, 2, 2, 3]).toDoubles(), shape: [1, 2, 2, 3])
    }

    @Test func flipIsSeededAndFlipsSome() {
        let input = ramp([32, 1, 2, 2])
        var a = RandomGenerator(seed: 5), b = RandomGenerator(seed: 5)
        let x = RandomHorizontalFlip().apply(input, generator: &a).toDoubles()
        #expect(x == RandomHorizontalFlip().apply(input, generator: &b).toDoubles())
        // Sample s is [4s, 4s+1, 4s+2, 4s+3]; flipped it starts with 4s + 1.
        let flipped = (0..<32).filter { x[4 * $0] == Double(4 * $0 + 1) }.count
        #expect(flipped > 4 && flipped < 28)
    }

    @Test func cropWithoutPaddingIsIdentity() {
        var g = RandomGenerator(seed: 0)
        expectClose(RandomCrop(padding: 0).apply(ramp([2, 1, 3, 3]), generator: &g), ramp([2, 1, 3, 3]).toDoubles())
    }

    @Test func cropIsAZeroFilledShiftWithinThePadding() {
        let (b, c, h, w) = (24, 2, 4, 5)
        // Values 1… so the zero padding is distinguishable from data.
        let input = Tensor((0..<b * c * h * w).map { Float($0 + 1) }, shape: [b, c, h, w])
        var g = RandomGenerator(seed: 3), again = RandomGenerator(seed: 3)
        let out = RandomCrop(padding: 2).apply(input, generator: &g)
        #expect(out.shape == [b, c, h, w])
        #expect(out.toDoubles() == RandomCrop(padding: 2).apply(input, generator: &again).toDoubles())
        let x = input.toDoubles(), y = out.toDoubles()
        var shifts = Set<[Int]>()
        for s in 0..<b {
            // out[c, i, j] = in[c, i + dy, j + dx], or 0 outside: find the (dy, dx) in [−2, 2]² that explains it.
            let matching = (-2...2).flatMap { dy in (-2...2).map { dx in [dy, dx] } }.filter { shift in
                (0..<c).allSatisfy { ch in (0..<h).allSatisfy { i in (0..<w).allSatisfy { j in
                    let (si, sj) = (i + shift[0], j + shift[1])
                    let expected = (0..<h).contains(si) && (0..<w).contains(sj) ? x[((s * c + ch) * h + si) * w + sj] : 0
                    return y[((s * c + ch) * h + i) * w + j] == expected
                } } }
            }
            #expect(matching.count == 1, "sample \(s)")
            if let shift = matching.first { shifts.insert(shift) }
        }
        #expect(shifts.count > 5)
    }
}
