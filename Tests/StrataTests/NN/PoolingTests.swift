import Strata
import Testing

@Suite struct PoolingTests {
    /// 1…16 as a 1×1×4×4 image, and 1…9 as a 1×1×3×3 one.
    private let x16 = Tensor((1...16).map(Double.init), shape: [1, 1, 4, 4])
    private let x9 = Tensor((1...9).map(Double.init), shape: [1, 1, 3, 3])

    // MARK: Forward values

    @Test func maxPoolHandComputed() {
        // 2×2 windows, stride 2: the bottom-right element of each block of 1…16.
        expectClose(x16.maxPool2d(kernel: 2), [6, 8, 14, 16], shape: [1, 1, 2, 2], atol: 0)
        // 3×3 windows, stride 1: the windows' bottom-right elements 11, 12, 15, 16.
        expectClose(x16.maxPool2d(kernel: 3, stride: 1), [11, 12, 15, 16], shape: [1, 1, 2, 2], atol: 0)
        // Padding 1 on 1…9, 2×2 windows, stride 2: windows {1}, {2, 3}, {4, 7}, {5, 6, 8, 9}; padding never wins.
        expectClose(x9.maxPool2d(kernel: 2, padding: 1), [1, 3, 7, 9], shape: [1, 1, 2, 2], atol: 0)
        expectClose((-x9).maxPool2d(kernel: 2, padding: 1), [-1, -2, -4, -5], shape: [1, 1, 2, 2], atol: 0)
        // Rectangular windows (1, 2) with stride (1, 2): pairs along each row.
        expectClose(x16.maxPool2d(kernel: (1, 2), stride: (1, 2)), [2, 4, 6, 8, 10, 12, 14, 16], shape: [1, 1, 4, 2], atol: 0)
        // An unbatched [C, H, W] input.
        expectClose(x16.squeezed(0).maxPool2d(kernel: 2), [6, 8, 14, 16], shape: [1, 2, 2], atol: 0)
    }

    @Test func maxPoolPropagatesNaN() {
        let x = Tensor([1, .nan, 3, 4] as [Double], shape: [1, 1, 2, 2])
        #expect(x.maxPool2d(kernel: 2).item().isNaN)
    }

    @Test func maxPoolBackwardRoutesToTheArgmax() {
        // Overlapping 2×2 windows (stride 1) on 1…9 pick 5, 6, 8, 9, each once: the seed lands on those four.
        let x = x9.detached()
        x.requiresGrad = true
        x.maxPool2d(kernel: 2, stride: 1).backward(seed: Tensor([1, 10, 100, 1000] as [Double], shape: [1, 1, 2, 2]))
        expectClose(x.grad!, [0, 0, 0, 0, 1, 10, 0, 100, 1000], atol: 0)
        // 3×3 windows with stride 1 over 1…16 pick 11, 12, 15, 16 (flat indices 10, 11, 14, 15).
        let y = x16.detached()
        y.requiresGrad = true
        y.maxPool2d(kernel: 3, stride: 1).sum().backward()
        expectClose(y.grad!, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1], atol: 0)
        // Windows that share their maximum add their gradients there: 3×3 windows centred on each pixel of 1…9
        // (stride 1, padding 1) pick 5, 6, 6 / 8, 9, 9 / 8, 9, 9, so 6 and 8 get two gradients and 9 four.
        let z = x9.detached()
        z.requiresGrad = true
        z.maxPool2d(kernel: 3, stride: 1, padding: 1).sum().backward()
        expectClose(z.grad!, [0, 0, 0, 0, 1, 2, 0, 2, 4], atol: 0)
    }

    @Test func avgPoolHandComputed() {
        // 2×2 blocks of 1…16: (1+2+5+6)/4, (3+4+7+8)/4, (9+10+13+14)/4, (11+12+15+16)/4.
        expectClose(x16.avgPool2d(kernel: 2), [3.5, 5.5, 11.5, 13.5], shape: [1, 1, 2, 2], atol: 1e-12)
        // Padding 1 on 1…9, 2×2 windows, stride 2: sums 1, 2+3, 4+7, 5+6+8+9, each over 4 (padding counts) …
        expectClose(x9.avgPool2d(kernel: 2, padding: 1), [0.25, 1.25, 2.75, 7], shape: [1, 1, 2, 2], atol: 1e-12)
        // … or over the elements inside the input only.
        expectClose(x9.avgPool2d(kernel: 2, padding: 1, countIncludePad: false), [1, 2.5, 5.5, 7], atol: 1e-12)
        // 3×3 windows with stride 1 on 1…16: each mean is the window's centre 6, 7, 10, 11.
        expectClose(x16.avgPool2d(kernel: 3, stride: 1), [6, 7, 10, 11], shape: [1, 1, 2, 2], atol: 1e-12)
    }

    /// A kernel of 2⁴⁰ padded by 2³⁹ fits any input (PyTorch's rule: padding at most half the kernel), and a spec
    /// can ask for it: the windows are clipped to the input, so it costs H·W per output, and nothing overflows
    /// (the kernel's area, or the padded window's, 2⁸⁰, was an Int product that trapped).
    @Test func windowsNearIntMaxAreClippedToTheInput() {
        let (k, p) = (1 << 40, 1 << 39)   // output (3 + 2·2³⁹ − 2⁴⁰) / 1 + 1 = 4 per axis
        expectClose(x9.maxPool2d(kernel: k, stride: 1, padding: p), Array(repeating: 9, count: 16), shape: [1, 1, 4, 4], atol: 0)
        // Every window holds all nine elements (sum 45); counting padding, each spans 2p × 2p positions.
        expectClose(x9.avgPool2d(kernel: k, stride: 1, padding: p, countIncludePad: false), Array(repeating: 5, count: 16), atol: 1e-12)
        let padded = 45 / (Double(2 * p) * Double(2 * p))
        expectClose(x9.avgPool2d(kernel: k, stride: 1, padding: p), Array(repeating: padded, count: 16), atol: padded * 1e-12)
    }

    @Test func avgPoolBackwardSpreadsEvenly() {
        let x = x9.detached()
        x.requiresGrad = true
        // 2×2 windows, stride 1: the centre is in all four windows, edges in two, corners in one; each share is 1/4.
        x.avgPool2d(kernel: 2, stride: 1).sum().backward()
        expectClose(x.grad!, [0.25, 0.5, 0.25, 0.5, 1, 0.5, 0.25, 0.5, 0.25], atol: 1e-12)
    }

    @Test func adaptiveAvgPoolHandComputed() {
        // x[h, w] = 5h + w on a 5×5 grid, pooled to 3×3. Bins for 5 → 3 are [0, 2), [1, 4), [3, 5)
        // (start ⌊i·5/3⌋, end ⌈(i+1)·5/3⌉), whose mean indices are 0.5, 2, 3.5; so out[i, j] = 5·m[i] + m[j].
        let x = Tensor((0..<25).map(Double.init), shape: [1, 1, 5, 5])
        expectClose(x.adaptiveAvgPool2d(outputSize: (3, 3)), [3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21], shape: [1, 1, 3, 3], atol: 1e-12)
        // Global average pooling: the mean of 0…24.
        expectClose(x.adaptiveAvgPool2d(outputSize: 1), [12], shape: [1, 1, 1, 1], atol: 1e-12)
        // When the output divides the input the bins are the blocks of avgPool2d.
        expectClose(x16.adaptiveAvgPool2d(outputSize: 2), x16.avgPool2d(kernel: 2).toDoubles(), atol: 1e-12)
        // Upsampling 2 → 3: bins [0, 1), [0, 2), [1, 2) on each axis of [[1, 2], [3, 4]].
        let small = Tensor([1, 2, 3, 4] as [Double], shape: [1, 2, 2])
        expectClose(small.adaptiveAvgPool2d(outputSize: (3, 1)), [1.5, 2.5, 3.5], shape: [1, 3, 1], atol: 1e-12)
    }

    @Test func layersForwardToTheOps() {
        #expect(MaxPool2d(2).stateDict().isEmpty && AvgPool2d(2).parameters().isEmpty)
        expectClose(MaxPool2d(2)(x16), [6, 8, 14, 16], atol: 0)
        expectClose(MaxPool2d((3, 3), stride: (1, 1))(x16), [11, 12, 15, 16], atol: 0)
        expectClose(AvgPool2d(2, padding: 1, countIncludePad: false)(x9), [1, 2.5, 5.5, 7], atol: 1e-12)
        expectClose(AdaptiveAvgPool2d(1)(x16), [8.5], shape: [1, 1, 1, 1], atol: 1e-12)
        expectClose(AdaptiveAvgPool2d((1, 2))(x16), [7.5, 9.5], shape: [1, 1, 1, 2], atol: 1e-12)
        // Float32 runs the same kernels.
        expectClose(MaxPool2d(2)(x16.to(.float32)), [6, 8, 14, 16])
        expectClose(AvgPool2d(2)(x16.to(.float32)), [3.5, 5.5, 11.5, 13.5])
    }

    /// Float32 2×2 pooling at stride 2 takes the C kernel of the level in use (`make test` runs this suite on
    /// every level); Float64 takes the general window loop. The values are small integers (many ties within a
    /// window), with NaN and −inf sprinkled in, and the sizes include odd ones (a last row and column in no
    /// window), rows of fewer than 4 outputs (the scalar loop: `Wo` = 1, 3), rows in groups of 4, 8 or 16
    /// outputs (the widest that fits both the level and the row: `Wo` = 6 in 4s, 9 and 15 in 8s at AVX2 and
    /// AVX-512, 16 in one 16) and rows whose last group overlaps the one before (`Wo` = 6, 9, 15, 17, 33).
    /// Both paths must pick the same element of every window: equal outputs, and the same input gradient for an
    /// upstream gradient of distinct values.
    @Test(arguments: [[2, 3, 5, 7], [1, 1, 2, 2], [2, 2, 9, 13], [3, 4, 6], [1, 2, 8, 18], [1, 1, 3, 19],
                      [1, 1, 2, 31], [1, 2, 4, 32], [1, 1, 6, 35], [2, 1, 4, 67]] as [[Int]])
    func maxPool2x2FastPathMatchesGeneralPath(shape: [Int]) {
        var generator = RandomGenerator(seed: 7)
        let values = (0..<shape.reduce(1, *)).map { _ -> Double in
            let u = generator.nextUnit()
            return u < 0.03 ? .nan : (u < 0.06 ? -.infinity : Double(Int(u * 4)))
        }
        let x64 = Tensor(values, shape: shape), x32 = x64.to(.float32)
        for t in [x64, x32] { t.requiresGrad = true }
        let (y64, y32) = (x64.maxPool2d(kernel: 2), x32.maxPool2d(kernel: 2))
        #expect(y32.shape == y64.shape)
        let same = zip(y32.toDoubles(), y64.toDoubles()).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
        #expect(same, "\(shape): \(y32.toDoubles()) vs \(y64.toDoubles())")
        let seed = Tensor((1...y64.count).map(Double.init), shape: y64.shape)
        y64.backward(seed: seed)
        y32.backward(seed: seed.to(.float32))
        #expect(x32.grad!.toDoubles() == x64.grad!.toDoubles(), "\(shape)")
    }

    // MARK: Gradients

    @Test func maxPoolGradcheck() {
        // Random normal inputs have no ties, so every window has a unique maximum.
        for pool in [MaxPool2d(2), MaxPool2d(3, stride: 2, padding: 1), MaxPool2d((2, 3), stride: (1, 2))] {
            #expect(gradcheck(pool, inputs: [randomInput([2, 3, 5, 6])]) { pool($0[0]) }.passed)
            #expect(gradcheck(pool, inputs: [randomInput([1, 2, 4, 4], seed: 2)]) { pool($0[0]) }.passed)
            #expect(gradcheck(pool, inputs: [randomInput([2, 6, 5], seed: 3)]) { pool($0[0].transposed(1, 2)) }.passed)
        }
    }

    @Test func avgPoolGradcheck() {
        for pool in [AvgPool2d(2), AvgPool2d(3, stride: 2, padding: 1), AvgPool2d(3, stride: 1, padding: 1, countIncludePad: false),
                     AvgPool2d((2, 3), stride: (1, 2))] {
            #expect(gradcheck(pool, inputs: [randomInput([2, 3, 5, 6])]) { pool($0[0]) }.passed)
            #expect(gradcheck(pool, inputs: [randomInput([1, 1, 4, 4], seed: 2)]) { pool($0[0].transposed(2, 3)) }.passed)
        }
    }

    @Test func adaptiveAvgPoolGradcheck() {
        for pool in [AdaptiveAvgPool2d(3), AdaptiveAvgPool2d(1), AdaptiveAvgPool2d((2, 4)), AdaptiveAvgPool2d((7, 2))] {
            #expect(gradcheck(pool, inputs: [randomInput([2, 2, 5, 5])]) { pool($0[0]) }.passed)
            #expect(gradcheck(pool, inputs: [randomInput([1, 3, 6, 5], seed: 2)]) { pool($0[0].transposed(2, 3)) }.passed)
        }
    }
}
