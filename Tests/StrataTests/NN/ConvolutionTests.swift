import Strata
import Testing

/// One convolution's configuration, for the reference comparisons and the gradchecks.
private struct ConvCase: CustomStringConvertible, Sendable {
    var input: [Int]                 // [N, C, H, W]
    var outChannels: Int
    var kernel: (Int, Int)
    var stride = (1, 1), padding = (0, 0), dilation = (1, 1)
    var groups = 1
    var bias = true

    var weightShape: [Int] { [outChannels, input[1] / groups, kernel.0, kernel.1] }
    var description: String {
        "input \(input) out \(outChannels) kernel \(kernel) stride \(stride) padding \(padding) dilation \(dilation) groups \(groups) bias \(bias)"
    }
}

private let convCases: [ConvCase] = [
    ConvCase(input: [2, 3, 5, 4], outChannels: 2, kernel: (3, 2)),
    ConvCase(input: [1, 2, 6, 5], outChannels: 3, kernel: (3, 3), stride: (2, 1), padding: (1, 2)),
    ConvCase(input: [2, 2, 7, 6], outChannels: 2, kernel: (2, 3), stride: (1, 2), dilation: (2, 1), bias: false),
    ConvCase(input: [2, 4, 5, 5], outChannels: 6, kernel: (3, 3), padding: (1, 1), groups: 2),
    ConvCase(input: [1, 4, 4, 4], outChannels: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1), groups: 4),  // depthwise
    ConvCase(input: [2, 4, 3, 5], outChannels: 6, kernel: (1, 1), groups: 2),                                    // pointwise: no im2col
    ConvCase(input: [2, 3, 4, 4], outChannels: 2, kernel: (1, 1), stride: (2, 2), bias: false),                  // 1×1 but strided
    // Stride 1 with Wo = W: im2col copies each columns row as one shifted block.
    ConvCase(input: [2, 2, 6, 7], outChannels: 3, kernel: (5, 5), padding: (2, 2)),                              // "same", as dlbench's cnn
    ConvCase(input: [1, 2, 3, 4], outChannels: 2, kernel: (5, 3), padding: (3, 1)),                              // taller output than input
    ConvCase(input: [1, 3, 5, 6], outChannels: 2, kernel: (3, 3), padding: (2, 2), dilation: (2, 2), bias: false),
]

/// conv2d by its definition, in Double, with explicit loops: x [N, C, H, W], w [O, C/G, kh, kw].
private func referenceConv2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), padding: (Int, Int),
                             dilation: (Int, Int), groups: Int) -> (values: [Double], shape: [Int]) {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (o, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let ho = (h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
    let wo = (wd + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
    let xv = x.toDoubles(), wv = w.toDoubles(), bv = b?.toDoubles()
    var out = [Double](repeating: 0, count: n * o * ho * wo)
    for b in 0..<n {
        for oc in 0..<o {
            let group = oc / (o / groups)
            for i in 0..<ho {
                for j in 0..<wo {
                    var total = bv?[oc] ?? 0
                    for ci in 0..<cg {
                        for p in 0..<kh {
                            for q in 0..<kw {
                                let ih = i * stride.0 - padding.0 + p * dilation.0
                                let iw = j * stride.1 - padding.1 + q * dilation.1
                                guard ih >= 0 && ih < h && iw >= 0 && iw < wd else { continue }
                                let channel = group * cg + ci
                                total += xv[((b * c + channel) * h + ih) * wd + iw] * wv[((oc * cg + ci) * kh + p) * kw + q]
                            }
                        }
                    }
                    out[((b * o + oc) * ho + i) * wo + j] = total
                }
            }
        }
    }
    _ = c
    return (out, [n, o, ho, wo])
}

/// conv_transpose2d by its definition: every input pixel scatters `x · w` onto the output window it maps to.
/// x [N, C_in, H, W], w [C_in, C_out/G, kh, kw].
private func referenceConvTranspose2d(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: (Int, Int), padding: (Int, Int),
                                      outputPadding: (Int, Int), dilation: (Int, Int), groups: Int) -> (values: [Double], shape: [Int]) {
    let (n, cin, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (cog, kh, kw) = (w.shape[1], w.shape[2], w.shape[3])
    let cout = cog * groups
    let ho = (h - 1) * stride.0 - 2 * padding.0 + dilation.0 * (kh - 1) + outputPadding.0 + 1
    let wo = (wd - 1) * stride.1 - 2 * padding.1 + dilation.1 * (kw - 1) + outputPadding.1 + 1
    let xv = x.toDoubles(), wv = w.toDoubles(), bv = b?.toDoubles()
    var out = [Double](repeating: 0, count: n * cout * ho * wo)
    for b in 0..<n {
        for co in 0..<cout { for i in 0..<(ho * wo) { out[(b * cout + co) * ho * wo + i] = bv?[co] ?? 0 } }
        for ci in 0..<cin {
            let group = ci / (cin / groups)
            for i in 0..<h {
                for j in 0..<wd {
                    let v = xv[((b * cin + ci) * h + i) * wd + j]
                    for col in 0..<cog {
                        for p in 0..<kh {
                            for q in 0..<kw {
                                let oh = i * stride.0 - padding.0 + p * dilation.0
                                let ow = j * stride.1 - padding.1 + q * dilation.1
                                guard oh >= 0 && oh < ho && ow >= 0 && ow < wo else { continue }
                                out[((b * cout + group * cog + col) * ho + oh) * wo + ow] += v * wv[((ci * cog + col) * kh + p) * kw + q]
                            }
                        }
                    }
                }
            }
        }
    }
    return (out, [n, cout, ho, wo])
}

/// Σ a·b over all elements.
private func dot(_ a: Tensor, _ b: Tensor) -> Double { zip(a.toDoubles(), b.toDoubles()).map { $0 * $1 }.reduce(0, +) }

@Suite struct ConvolutionTests {
    // MARK: Forward values

    @Test func conv2dHandComputed() {
        // x = [[1, 2, 3], [4, 5, 6], [7, 8, 9]], a 2×2 kernel of ones: each output is the sum of its window.
        let x = Tensor((1...9).map(Double.init), shape: [1, 1, 3, 3])
        let ones = Tensor.ones([1, 1, 2, 2], dtype: .float64)
        // Windows 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9.
        expectClose(Tensor.conv2d(x, weight: ones), [12, 16, 24, 28], shape: [1, 1, 2, 2], atol: 1e-12)
        // Stride 2: ⌊(3 − 2) / 2⌋ + 1 = 1 output, the top-left window.
        expectClose(Tensor.conv2d(x, weight: ones, stride: (2, 2)), [12], shape: [1, 1, 1, 1], atol: 1e-12)
        // Padding 1: windows over the zero-bordered 5×5 grid, 4×4 outputs (corners see one pixel, 1, 3, 7, 9).
        expectClose(Tensor.conv2d(x, weight: ones, padding: (1, 1)),
                    [1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9], shape: [1, 1, 4, 4], atol: 1e-12)
        // Dilation 2: the kernel taps the four corners, 1 + 3 + 7 + 9.
        expectClose(Tensor.conv2d(x, weight: ones, dilation: (2, 2)), [20], shape: [1, 1, 1, 1], atol: 1e-12)
        // A bias is added to every output of its channel.
        expectClose(Tensor.conv2d(x, weight: ones, bias: Tensor([0.5]), stride: (2, 2)), [12.5], atol: 1e-12)
    }

    @Test func conv2dGroupsHandComputed() {
        // Two channels, groups = 2: channel 0 = 1…9 with a kernel of ones, channel 1 = 10…18 with a kernel of twos.
        let x = Tensor((1...18).map(Double.init), shape: [1, 2, 3, 3])
        let w = Tensor([1, 1, 1, 1, 2, 2, 2, 2] as [Double], shape: [2, 1, 2, 2])
        // Channel 1's windows are channel 0's plus 4·9 = 36, doubled: 2·(12+36), 2·(16+36), 2·(24+36), 2·(28+36);
        // the bias adds 0.5 and −1.
        expectClose(Tensor.conv2d(x, weight: w, bias: Tensor([0.5, -1]), groups: 2),
                    [12.5, 16.5, 24.5, 28.5, 95, 103, 119, 127], shape: [1, 2, 2, 2], atol: 1e-12)
        // An unbatched [C, H, W] input gives [O, Ho, Wo].
        expectClose(Tensor.conv2d(x.squeezed(0), weight: w, groups: 2),
                    [12, 16, 24, 28, 96, 104, 120, 128], shape: [2, 2, 2], atol: 1e-12)
    }

    @Test func conv1dHandComputed() {
        // x = [1, 2, 3, 4, 5], kernel [1, 0, −1]: each output is x[i] − x[i + 2] = −2.
        let x = Tensor([1, 2, 3, 4, 5] as [Double], shape: [1, 1, 5])
        let w = Tensor([1, 0, -1] as [Double], shape: [1, 1, 3])
        expectClose(Tensor.conv1d(x, weight: w), [-2, -2, -2], shape: [1, 1, 3], atol: 1e-12)
        // Padding 1 reads [0, 1, 2, 3, 4, 5, 0]: the last window is 4 − 0 = 4.
        expectClose(Tensor.conv1d(x, weight: w, padding: 1), [-2, -2, -2, -2, 4], shape: [1, 1, 5], atol: 1e-12)
        // Stride 2 keeps windows 0 and 2; dilation 2 taps x[i] − x[i + 4] = −4.
        expectClose(Tensor.conv1d(x, weight: w, stride: 2), [-2, -2], shape: [1, 1, 2], atol: 1e-12)
        expectClose(Tensor.conv1d(x, weight: w, dilation: 2), [-4], shape: [1, 1, 1], atol: 1e-12)
        expectClose(Tensor.conv1d(x.squeezed(0), weight: w), [-2, -2, -2], shape: [1, 3], atol: 1e-12)
    }

    @Test func convTranspose2dHandComputed() {
        // x = [[1, 2], [3, 4]] and a 2×2 kernel of ones: each input pixel adds itself to a 2×2 output block.
        let x = Tensor([1, 2, 3, 4] as [Double], shape: [1, 1, 2, 2])
        let ones = Tensor.ones([1, 1, 2, 2], dtype: .float64)
        // Stride 1: overlapping blocks, e.g. the centre gets 1 + 2 + 3 + 4.
        expectClose(Tensor.convTranspose2d(x, weight: ones), [1, 3, 2, 4, 10, 6, 3, 7, 4], shape: [1, 1, 3, 3], atol: 1e-12)
        // Stride 2: disjoint blocks.
        expectClose(Tensor.convTranspose2d(x, weight: ones, stride: (2, 2)),
                    [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], shape: [1, 1, 4, 4], atol: 1e-12)
        // Output padding adds a zero row and column (plus the bias) at the bottom/right; padding 1 crops one border.
        let padded = Tensor.convTranspose2d(x, weight: ones, bias: Tensor([0.5]), stride: (2, 2), outputPadding: (1, 1))
        #expect(padded.shape == [1, 1, 5, 5])
        expectClose(padded.slice(2, 4..<5), [0.5, 0.5, 0.5, 0.5, 0.5], atol: 1e-12)
        expectClose(Tensor.convTranspose2d(x, weight: ones, stride: (2, 2), padding: (1, 1)), [1, 2, 3, 4], shape: [1, 1, 2, 2], atol: 1e-12)
    }

    @Test func conv2dMatchesLoopReference() {
        for (index, c) in convCases.enumerated() {
            let x = randomInput(c.input, seed: UInt64(index) + 1)
            let w = randomInput(c.weightShape, seed: UInt64(index) + 20)
            let b = c.bias ? randomInput([c.outChannels], seed: UInt64(index) + 40) : nil
            let expected = referenceConv2d(x, w, b, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
            let y = Tensor.conv2d(x, weight: w, bias: b, stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups)
            expectClose(y, expected.values, shape: expected.shape, atol: 1e-12, rtol: 0)
            // Float32 runs the same kernels with sgemm.
            let y32 = Tensor.conv2d(x.to(.float32), weight: w.to(.float32), bias: b?.to(.float32), stride: c.stride,
                                    padding: c.padding, dilation: c.dilation, groups: c.groups)
            #expect(y32.dtype == .float32)
            expectClose(y32, expected.values, shape: expected.shape, atol: 1e-4)
        }
    }

    @Test func conv2dReadsNonContiguousViews() {
        // A transposed input [N, C, W, H] viewed as [N, C, H, W], and a permuted weight, match their dense copies.
        let x = randomInput([2, 3, 5, 4]).transposed(2, 3)
        let w = randomInput([3, 3, 2, 2], seed: 2).transposed(0, 1)
        #expect(!x.isContiguous && !w.isContiguous)
        let expected = referenceConv2d(x.contiguous(), w.contiguous(), nil, stride: (1, 1), padding: (1, 0), dilation: (1, 1), groups: 1)
        expectClose(Tensor.conv2d(x, weight: w, padding: (1, 0)), expected.values, shape: expected.shape, atol: 1e-12, rtol: 0)
    }

    @Test func convTranspose2dMatchesLoopReferenceAndIsTheAdjoint() {
        // (input [N, C_in, H, W], C_out, kernel, stride, padding, output padding, dilation, groups)
        let cases: [([Int], Int, (Int, Int), (Int, Int), (Int, Int), (Int, Int), (Int, Int), Int)] = [
            ([2, 3, 3, 4], 2, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1), 1),
            ([1, 2, 3, 3], 3, (3, 2), (2, 2), (1, 0), (1, 1), (1, 1), 1),
            ([2, 4, 3, 2], 2, (2, 3), (2, 1), (0, 1), (1, 0), (1, 2), 2),
            ([1, 2, 4, 3], 4, (1, 1), (1, 1), (0, 0), (0, 0), (1, 1), 2),   // pointwise
            ([2, 2, 3, 3], 2, (2, 2), (1, 1), (0, 0), (1, 1), (2, 2), 1),   // output padding below the dilation
        ]
        for (index, (shape, cout, kernel, stride, padding, outputPadding, dilation, groups)) in cases.enumerated() {
            let x = randomInput(shape, seed: UInt64(index) + 1)
            let w = randomInput([shape[1], cout / groups, kernel.0, kernel.1], seed: UInt64(index) + 10)
            let b = randomInput([cout], seed: UInt64(index) + 30)
            let expected = referenceConvTranspose2d(x, w, b, stride: stride, padding: padding, outputPadding: outputPadding,
                                                    dilation: dilation, groups: groups)
            let y = Tensor.convTranspose2d(x, weight: w, bias: b, stride: stride, padding: padding,
                                           outputPadding: outputPadding, dilation: dilation, groups: groups)
            expectClose(y, expected.values, shape: expected.shape, atol: 1e-12, rtol: 0)

            // ⟨conv(z), x⟩ = ⟨z, convT(x)⟩ with the same weight, for z on convT's output side. (When the output
            // padding exceeds the stride, conv(z) has extra trailing rows/columns that convT never reads.)
            let z = randomInput(y.shape, seed: UInt64(index) + 50)
            let fullConvZ = Tensor.conv2d(z, weight: w, stride: stride, padding: padding, dilation: dilation, groups: groups)
            #expect(fullConvZ.shape[2] >= shape[2] && fullConvZ.shape[3] >= shape[3])
            let convZ = fullConvZ.slice(2, 0..<shape[2]).slice(3, 0..<shape[3])
            let convTX = Tensor.convTranspose2d(x, weight: w, stride: stride, padding: padding, outputPadding: outputPadding,
                                                dilation: dilation, groups: groups)
            let (lhs, rhs) = (dot(convZ, x), dot(z, convTX))
            #expect(abs(lhs - rhs) <= 1e-12 * max(1, abs(lhs)), "case \(index): ⟨conv(z), x⟩ = \(lhs), ⟨z, convT(x)⟩ = \(rhs)")
        }
    }

    @Test func emptyBatchGivesEmptyOutputAndZeroWeightGradient() {
        let layer = Conv2d(2, 3, kernelSize: 3, padding: 1, dtype: .float64)
        let y = layer(Tensor.zeros([0, 2, 4, 4], dtype: .float64))
        #expect(y.shape == [0, 3, 4, 4])
        y.sum().backward()
        expectClose(layer.weight.grad!, [Double](repeating: 0, count: 54), atol: 0)
        expectClose(layer.bias!.grad!, [0, 0, 0], atol: 0)
        #expect(Tensor.convTranspose2d(Tensor.zeros([0, 2, 3, 3]), weight: Tensor.ones([2, 1, 2, 2])).shape == [0, 1, 4, 4])
    }

    // MARK: Gradients

    @Test func conv2dGradcheckThroughInputsAndParameters() {
        for c in convCases {
            let layer = Conv2d(c.input[1], c.outChannels, kernelSize: c.kernel, stride: c.stride, padding: c.padding,
                               dilation: c.dilation, groups: c.groups, bias: c.bias, dtype: .float64)
            let result = gradcheck(layer, inputs: [randomInput(c.input)]) { layer($0[0]) }
            #expect(result.passed, "\(c): \(result)")
        }
    }

    @Test func conv2dGradcheckOnViewsAndSmallBatches() {
        let layer = Conv2d(3, 2, kernelSize: (2, 3), stride: (2, 1), padding: (1, 1), dtype: .float64)
        // A transposed [N, C, W, H] input read as [N, C, H, W].
        #expect(gradcheck(layer, inputs: [randomInput([2, 3, 4, 5])]) { layer($0[0].transposed(2, 3)) }.passed)
        // A batch of one, and an unbatched [C, H, W] input.
        #expect(gradcheck(layer, inputs: [randomInput([1, 3, 3, 3])]) { layer($0[0]) }.passed)
        #expect(gradcheck(layer, inputs: [randomInput([3, 3, 4])]) { layer($0[0]) }.passed)
        // A 1×1 image with padding: most of every window is padding.
        #expect(gradcheck(layer, inputs: [randomInput([2, 3, 1, 1])]) { layer($0[0]) }.passed)
    }

    @Test func conv2dGradcheckWithGroupsAndSamePadding() {
        let layer = Conv2d(4, 2, kernelSize: 3, padding: 1, groups: 2, dtype: .float64)
        #expect(gradcheck(layer, inputs: [randomInput([2, 4, 4, 3])]) { layer($0[0]) }.passed)
    }

    @Test func conv2dGradcheckForOneOperandAtATime() {
        // Only the input tracked (a frozen weight): backward computes dx alone.
        let w = randomInput([2, 3, 2, 2], seed: 2), b = randomInput([2], seed: 3)
        expectGradcheck([randomInput([2, 3, 4, 4])], "conv2d dx only") {
            Tensor.conv2d($0[0], weight: w, bias: b, stride: (2, 1), padding: (1, 0))
        }
        // Only the weight tracked (a constant input): backward computes dW alone.
        let x = randomInput([2, 3, 4, 4])
        expectGradcheck([randomInput([2, 3, 2, 2], seed: 2)], "conv2d dW only") {
            Tensor.conv2d(x, weight: $0[0], dilation: (2, 1))
        }
        // Only the bias.
        expectGradcheck([randomInput([2], seed: 3)], "conv2d db only") { Tensor.conv2d(x, weight: w, bias: $0[0]) }
    }

    @Test func conv1dGradcheck() {
        let layer = Conv1d(4, 2, kernelSize: 3, stride: 2, padding: 1, dilation: 1, groups: 2, dtype: .float64)
        #expect(gradcheck(layer, inputs: [randomInput([2, 4, 7])]) { layer($0[0]) }.passed)
        let dilated = Conv1d(2, 3, kernelSize: 2, dilation: 2, bias: false, dtype: .float64)
        #expect(gradcheck(dilated, inputs: [randomInput([1, 2, 6])]) { dilated($0[0]) }.passed)
        // A transposed [N, L, C] input read as [N, C, L].
        #expect(gradcheck(dilated, inputs: [randomInput([2, 5, 2])]) { dilated($0[0].transposed(1, 2)) }.passed)
    }

    @Test func convTranspose2dGradcheck() {
        let upsample = ConvTranspose2d(3, 2, kernelSize: 3, stride: 2, padding: 1, outputPadding: 1, dtype: .float64)
        #expect(gradcheck(upsample, inputs: [randomInput([2, 3, 3, 2])]) { upsample($0[0]) }.passed)
        #expect(gradcheck(upsample, inputs: [randomInput([1, 3, 2, 2])]) { upsample($0[0].transposed(2, 3)) }.passed)
        let grouped = ConvTranspose2d(4, 2, kernelSize: (2, 3), stride: (1, 2), padding: (0, 1), groups: 2, bias: false,
                                      dilation: (2, 1), dtype: .float64)
        #expect(gradcheck(grouped, inputs: [randomInput([2, 4, 3, 3])]) { grouped($0[0]) }.passed)
        let pointwise = ConvTranspose2d(2, 3, kernelSize: 1, dtype: .float64)
        #expect(gradcheck(pointwise, inputs: [randomInput([2, 2, 2, 3])]) { pointwise($0[0]) }.passed)
        // Only the input tracked, and only the weight.
        let w = randomInput([3, 2, 2, 2], seed: 4)
        expectGradcheck([randomInput([2, 3, 2, 3])], "convTranspose2d dx only") { Tensor.convTranspose2d($0[0], weight: w, stride: (2, 2)) }
        let x = randomInput([2, 3, 2, 3])
        expectGradcheck([w], "convTranspose2d dW only") { Tensor.convTranspose2d(x, weight: $0[0], stride: (2, 2)) }
    }

    @Test func smallCNNGradcheck() {
        // conv → relu → max pool → conv → global average pool → flatten → linear, end to end.
        let model = Sequential {
            Conv2d(2, 3, kernelSize: 3, padding: 1, dtype: .float64)
            ReLU()
            MaxPool2d(2)
            Conv2d(3, 4, kernelSize: 2, dtype: .float64)
            AdaptiveAvgPool2d(1)
            Flatten()
            Linear(4, 2, dtype: .float64)
        }
        let result = gradcheck(model, inputs: [randomInput([2, 2, 6, 6])]) { model($0[0]) }
        #expect(result.passed, "\(result)")
    }

    // MARK: Shape errors

    @Test func shapeErrorsNameTheOpAndBothShapes() async {
        let mismatch = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.conv2d(Tensor.zeros([1, 3, 4, 4]), weight: Tensor.zeros([2, 2, 3, 3]))
        }
        let message = String(decoding: mismatch?.standardErrorContent ?? [], as: UTF8.self)
        #expect(message.contains("conv2d") && message.contains("[1, 3, 4, 4]") && message.contains("[2, 2, 3, 3]"), "\(message)")
        await #expect(processExitsWith: .failure) {   // 3 channels do not split into 2 groups
            _ = Tensor.conv2d(Tensor.zeros([1, 3, 4, 4]), weight: Tensor.zeros([2, 1, 3, 3]), groups: 2)
        }
        await #expect(processExitsWith: .failure) {   // output padding must be below the stride or the dilation
            _ = Tensor.convTranspose2d(Tensor.zeros([1, 2, 3, 3]), weight: Tensor.zeros([2, 1, 3, 3]), stride: (2, 2), outputPadding: (2, 0))
        }
    }

    // MARK: Layers

    @Test func layersHavePyTorchNamesShapesAndInitBounds() {
        Strata.seed(7)
        let conv = Conv2d(8, 16, kernelSize: (3, 5), groups: 2)
        #expect(conv.stateDict().keys.sorted() == ["bias", "weight"])
        #expect(conv.weight.shape == [16, 4, 3, 5] && conv.bias!.shape == [16])
        // Kaiming uniform with a = √5 is U(−1/√fan_in, 1/√fan_in), fan_in = C_in/groups·kh·kw = 4·3·5 = 60.
        let bound = 1 / 60.0.squareRoot()
        #expect(conv.weight.toDoubles().allSatisfy { abs($0) <= bound } && conv.bias!.toDoubles().allSatisfy { abs($0) <= bound })
        #expect(conv.weight.toDoubles().map(abs).max()! > 0.9 * bound)   // the whole range is used
        #expect(conv.weight.requiresGrad && conv.bias!.requiresGrad)

        let conv1 = Conv1d(6, 3, kernelSize: 5, groups: 3, bias: false)
        #expect(conv1.stateDict().keys.sorted() == ["weight"] && conv1.weight.shape == [3, 2, 5])
        #expect(conv1.weight.toDoubles().allSatisfy { abs($0) <= 1 / 10.0.squareRoot() })

        // ConvTranspose2d's weight is [C_in, C_out/groups, kh, kw]; fan_in = weight.size(1)·kh·kw = 3·2·2 = 12.
        let up = ConvTranspose2d(4, 6, kernelSize: 2, stride: 2, groups: 2)
        #expect(up.weight.shape == [4, 3, 2, 2] && up.bias!.shape == [6])
        let upBound = 1 / 12.0.squareRoot()
        #expect(up.weight.toDoubles().allSatisfy { abs($0) <= upBound } && up.bias!.toDoubles().allSatisfy { abs($0) <= upBound })
        #expect(up(Tensor.ones([1, 4, 3, 3])).shape == [1, 6, 6, 6])

        let model = Sequential { Conv2d(1, 2, kernelSize: 3); ReLU(); MaxPool2d(2); Conv2d(2, 2, kernelSize: 1, bias: false) }
        #expect(model.stateDict().keys.sorted() == ["0.bias", "0.weight", "3.weight"])
        #expect(model(Tensor.ones([2, 1, 6, 6])).shape == [2, 2, 2, 2])
    }

    @Test func layerMatchesFunctionalOpInFloat32() {
        let conv = Conv2d(3, 4, kernelSize: 3, stride: 2, padding: 1)
        let x = Tensor.normal([2, 3, 5, 5])
        let y = conv(x)
        #expect(y.shape == [2, 4, 3, 3] && y.dtype == .float32)
        let expected = referenceConv2d(x, conv.weight, conv.bias, stride: (2, 2), padding: (1, 1), dilation: (1, 1), groups: 1)
        expectClose(y, expected.values, shape: expected.shape, atol: 1e-5)
        // Float32 gradients agree with the Float64 ones.
        y.sum().backward()
        let conv64 = Conv2d(3, 4, kernelSize: 3, stride: 2, padding: 1, dtype: .float64)
        conv64.weight.copy(from: conv.weight)
        conv64.bias!.copy(from: conv.bias!)
        conv64(x.to(.float64)).sum().backward()
        expectClose(conv.weight.grad!, conv64.weight.grad!.toDoubles(), atol: 1e-4)
        expectClose(conv.bias!.grad!, conv64.bias!.grad!.toDoubles(), atol: 1e-4)
    }
}
