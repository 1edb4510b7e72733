import Foundation
@testable import Strata
import Testing

// The convolution kernels (Sources/CStrataKernels/conv) on every level this CPU runs, through the Float32 drivers
// of Ops/Convolution.swift (batch split into chunks, groups, packed weights), against the Float64 path (im2col +
// BLAS) on the same Float32 inputs. A product's error is counted in units of `u·Σ|terms|` (u = 2⁻²⁴), with the
// sum of the terms' magnitudes taken from the Float64 path run on |x| and |w|. The bound is the depth of the sum
// plus one (the classic `γ_depth` bound of a dot product); every wide level must also lie within twice that of
// the baseline level. A wrong index or a dropped tile gives errors near 2²⁴ units, far above any bound.

/// One convolution for the kernel comparisons.
private struct KernelConvCase: CustomStringConvertible, Sendable {
    var batch: Int, channels: Int, height: Int, width: Int, outChannels: Int
    var kernel: (Int, Int), stride = (1, 1), padding = (0, 0), dilation = (1, 1), groups = 1

    var geometry: ConvGeometry {
        let ho = (height + 2 * padding.0 - dilation.0 * (kernel.0 - 1) - 1) / stride.0 + 1
        let wo = (width + 2 * padding.1 - dilation.1 * (kernel.1 - 1) - 1) / stride.1 + 1
        return ConvGeometry(batch: batch, channels: channels, height: height, width: width, outChannels: outChannels,
                            outHeight: ho, outWidth: wo, kernel: kernel, stride: stride, padding: padding,
                            dilation: dilation, groups: groups)
    }
    var description: String {
        "[\(batch), \(channels), \(height), \(width)] → \(outChannels), kernel \(kernel) stride \(stride) padding \(padding) dilation \(dilation) groups \(groups)"
    }
}

private let kernelConvCases: [KernelConvCase] = [
    // "Same" 3×3 as cifar's blocks (row-preserving im2col); O = 10 leaves a partial tile of rows on every level.
    KernelConvCase(batch: 2, channels: 3, height: 8, width: 8, outChannels: 10, kernel: (3, 3), padding: (1, 1)),
    // "Same" 5×5 as the cnn workload; L = 144 leaves a partial panel of positions on every level.
    KernelConvCase(batch: 2, channels: 2, height: 12, width: 12, outChannels: 5, kernel: (5, 5), padding: (2, 2)),
    // Strided, rectangular, dilated: im2col one element at a time.
    KernelConvCase(batch: 3, channels: 2, height: 7, width: 9, outChannels: 4, kernel: (3, 3), stride: (2, 2), padding: (1, 1)),
    KernelConvCase(batch: 1, channels: 3, height: 9, width: 7, outChannels: 7, kernel: (3, 2), stride: (1, 2),
                   padding: (2, 1), dilation: (2, 1)),
    // Stride 1 with Wo = W but a kernel taller than the image: row-preserving panels that read far outside it.
    KernelConvCase(batch: 2, channels: 2, height: 3, width: 4, outChannels: 3, kernel: (5, 3), padding: (3, 1)),
    // Groups, and a pointwise kernel; a depthwise one.
    KernelConvCase(batch: 2, channels: 6, height: 5, width: 6, outChannels: 4, kernel: (1, 1), groups: 2),
    KernelConvCase(batch: 2, channels: 4, height: 6, width: 6, outChannels: 4, kernel: (3, 3), padding: (1, 1), groups: 4),
    // A deep K (180) and L = 30, fewer positions than one AVX-512 panel.
    KernelConvCase(batch: 2, channels: 20, height: 6, width: 5, outChannels: 17, kernel: (3, 3), padding: (1, 1)),
    // Enough work for the batch to split into a chunk per thread, each with its own weight-gradient accumulator.
    KernelConvCase(batch: 4, channels: 16, height: 16, width: 16, outChannels: 32, kernel: (3, 3), padding: (1, 1)),
]

/// `count` Float32 values in [−1, 1) from `seed`.
private func randomFloats(_ count: Int, seed: UInt64) -> [Float] {
    var generator = RandomGenerator(seed: seed)
    return (0..<count).map { _ in Float(generator.nextUnit() * 2 - 1) }
}

/// The three products of one case on Float32 `kernels`, or in Float64 on the BLAS path (of |x| and |w| when
/// `magnitudes`): the forward with bias, the input gradient with and without bias (the kernel's `+=` and `=`
/// paths), and the weight gradient.
private struct ConvProducts {
    var forward: [Double], inputGradient: [Double], inputGradientWithBias: [Double], weightGradient: [Double]
}

private struct ConvOperands {
    let image: [Float], weight: [Float], bias: [Float], outputGradient: [Float], imageBias: [Float]

    init(_ c: KernelConvCase, seed: UInt64) {
        let g = c.geometry
        image = randomFloats(g.batch * g.channels * g.imagePlane, seed: seed)
        weight = randomFloats(g.outChannels * g.groupRows, seed: seed + 1)
        bias = randomFloats(g.outChannels, seed: seed + 2)
        outputGradient = randomFloats(g.batch * g.outChannels * g.outPlane, seed: seed + 3)
        imageBias = randomFloats(g.channels, seed: seed + 4)
    }
}

private func run(_ c: KernelConvCase, _ operands: ConvOperands, on kernels: ConvolutionKernels) -> ConvProducts {
    let g = c.geometry
    var y = [Float](repeating: .nan, count: g.batch * g.outChannels * g.outPlane)
    var dx = [Float](repeating: .nan, count: g.batch * g.channels * g.imagePlane), dxb = dx
    var dw = [Float](repeating: .nan, count: g.outChannels * g.groupRows)
    g.correlate(kernels, image: operands.image, weight: operands.weight, bias: operands.bias, output: &y)
    g.scatter(kernels, output: operands.outputGradient, weight: operands.weight, bias: nil, image: &dx)
    g.scatter(kernels, output: operands.outputGradient, weight: operands.weight, bias: operands.imageBias, image: &dxb)
    g.weightGradient(kernels, image: operands.image, output: operands.outputGradient, into: &dw)
    func d(_ v: [Float]) -> [Double] { v.map(Double.init) }
    return ConvProducts(forward: d(y), inputGradient: d(dx), inputGradientWithBias: d(dxb), weightGradient: d(dw))
}

private func runDouble(_ c: KernelConvCase, _ operands: ConvOperands, magnitudes: Bool) -> ConvProducts {
    let g = c.geometry
    func d(_ v: [Float]) -> [Double] { v.map { magnitudes ? Swift.abs(Double($0)) : Double($0) } }
    let (x, w, b, gy, xb) = (d(operands.image), d(operands.weight), d(operands.bias), d(operands.outputGradient),
                             d(operands.imageBias))
    var y = [Double](repeating: .nan, count: g.batch * g.outChannels * g.outPlane)
    var dx = [Double](repeating: .nan, count: g.batch * g.channels * g.imagePlane), dxb = dx
    var dw = [Double](repeating: .nan, count: g.outChannels * g.groupRows)
    g.correlate(image: x, weight: w, bias: b, output: &y)
    g.scatter(output: gy, weight: w, bias: nil, image: &dx)
    g.scatter(output: gy, weight: w, bias: xb, image: &dxb)
    g.weightGradient(image: x, output: gy, into: &dw)
    return ConvProducts(forward: y, inputGradient: dx, inputGradientWithBias: dxb, weightGradient: dw)
}

/// The depth of each product's sums, plus the roundings around them: the bound, in units of `u·Σ|terms|`.
private func depths(_ c: KernelConvCase) -> (forward: Double, inputGradient: Double, weightGradient: Double) {
    let g = c.geometry
    let window = Double(c.kernel.0 * c.kernel.1)
    return (Double(g.groupRows + 2),                          // K products, the bias
            Double(g.groupOutChannels) + window + 2,          // O products per column entry, kh·kw entries per pixel
            Double(g.batch * (g.outPlane + 1) + 2))           // N·L products, one accumulator add per image, the chunks
}

/// The largest `|actual − expected| / (u·scale)` over the elements.
private func worstError(_ actual: [Double], _ expected: [Double], _ scale: [Double]) -> Double {
    let u = 0x1p-24
    var worst = 0.0
    for i in actual.indices {
        let e = Swift.abs(actual[i] - expected[i]) / (u * Swift.max(scale[i], .leastNormalMagnitude))
        if !(e <= worst) { worst = e }   // NaN counts as the worst
    }
    return worst
}

private func checkConvolutionKernels(_ isa: KernelISA, sourceLocation: SourceLocation = #_sourceLocation) {
    let (kernels, baseline) = (ConvolutionKernels(for: isa)!, ConvolutionKernels(for: .baseline)!)
    var worst: [String: Double] = [:]   // per product, over the cases
    for (index, c) in kernelConvCases.enumerated() {
        let operands = ConvOperands(c, seed: 100 * UInt64(index + 1))
        let (actual, base) = (run(c, operands, on: kernels), run(c, operands, on: baseline))
        let (exact, scale) = (runDouble(c, operands, magnitudes: false), runDouble(c, operands, magnitudes: true))
        let bound = depths(c)
        let products: [(String, String, KeyPath<ConvProducts, [Double]>, Double)] = [
            ("forward", "forward", \.forward, bound.forward),
            ("input gradient", "input gradient", \.inputGradient, bound.inputGradient),
            ("input gradient onto a bias", "input gradient", \.inputGradientWithBias, bound.inputGradient),
            ("weight gradient", "weight gradient", \.weightGradient, bound.weightGradient),
        ]
        for (name, product, path, limit) in products {
            let error = worstError(actual[keyPath: path], exact[keyPath: path], scale[keyPath: path])
            let fromBaseline = worstError(actual[keyPath: path], base[keyPath: path], scale[keyPath: path])
            #expect(error <= limit, "conv \(name) on \(isa), \(c): \(error) u·Σ|terms| (bound \(limit))",
                    sourceLocation: sourceLocation)
            #expect(fromBaseline <= 2 * limit,
                    "conv \(name) on \(isa) against baseline, \(c): \(fromBaseline) u·Σ|terms| (bound \(2 * limit))",
                    sourceLocation: sourceLocation)
            worst[product] = Swift.max(worst[product] ?? 0, error)
        }
    }
    print("conv kernels \(isa), worst error in u·Σ|terms|: " + ["forward", "input gradient", "weight gradient"]
        .map { "\($0) \(String(format: "%.2f", worst[$0] ?? 0))" }.joined(separator: ", "))
}

@Suite("Convolution kernels on every level")
struct ConvolutionKernelTests {
    @Test func baseline() { checkConvolutionKernels(.baseline) }

    @Test(.enabled(if: KernelISA.avx2.isSupported, "this CPU lacks AVX2"))
    func avx2() { checkConvolutionKernels(.avx2) }

    @Test(.enabled(if: KernelISA.avx512.isSupported, "this CPU lacks AVX-512"))
    func avx512() { checkConvolutionKernels(.avx512) }

    /// The Float32 ops run the level in use.
    @Test func theOpsRunTheSelectedLevel() {
        #expect(ConvolutionKernels.selected.isa == Strata.instructionSet)
    }
}
