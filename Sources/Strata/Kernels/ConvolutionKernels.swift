import CStrataKernels

/// The Float32 convolution kernels of `CStrataKernels` (Sources/CStrataKernels/conv): the three products of a
/// 2-D convolution for one group of one image, each a register-tiled matrix product at the full vector width of
/// the level, with im2col and col2im folded into the panels the tiles read. The convolution ops
/// (`Ops/Convolution.swift`) split a batch across threads and call these once per image and group; Float64
/// stays on im2col + BLAS.

/// One group of one image of a 2-D convolution: image side `[channels, height, width]`, output side
/// `[outChannels, outHeight, outWidth]`, both contiguous. Output `(oh, ow)` reads input
/// `(oh·stride.0 − padding.0 + i·dilation.0, ow·stride.1 − padding.1 + j·dilation.1)` for window entry `(i, j)`.
struct ConvolutionShape {
    let channels: Int, height: Int, width: Int
    let outChannels: Int, outHeight: Int, outWidth: Int
    let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)

    fileprivate var c: StrataConvShape {
        StrataConvShape(channels: channels, height: height, width: width, out_channels: outChannels,
                        out_height: outHeight, out_width: outWidth, kernel_h: kernel.0, kernel_w: kernel.1,
                        stride_h: stride.0, stride_w: stride.1, pad_h: padding.0, pad_w: padding.1,
                        dilation_h: dilation.0, dilation_w: dilation.1)
    }
}

/// One level's table of convolution kernels.
struct ConvolutionKernels {
    let isa: KernelISA
    private let table: StrataConvKernels

    /// The table of `isa`, or nil when this CPU does not run that level.
    init?(for isa: KernelISA) {
        guard let table = strata_conv_kernels(isa.cValue) else { return nil }
        self.isa = isa
        self.table = table.pointee
    }

    /// The table of the level in use (`Strata.instructionSet`).
    static let selected = ConvolutionKernels(for: KernelISA.selected)!

    private func size(_ f: strata_conv_size?, _ shape: ConvolutionShape) -> Int {
        withUnsafePointer(to: shape.c) { f!($0) }
    }

    /// Floats of the weight packed for `forward`.
    func forwardWeightCount(_ shape: ConvolutionShape) -> Int { size(table.forward_weight_size, shape) }

    /// Floats of the weight packed for `inputGradient`.
    func inputGradientWeightCount(_ shape: ConvolutionShape) -> Int { size(table.input_grad_weight_size, shape) }

    /// Floats of one thread's workspace, for any of the three products.
    func workspaceCount(_ shape: ConvolutionShape) -> Int { size(table.workspace_size, shape) }

    /// Floats of a weight-gradient accumulator.
    func accumulatorCount(_ shape: ConvolutionShape) -> Int { size(table.accumulator_size, shape) }

    /// Packs `weight [O, K]` for `forward` into `forwardWeightCount` floats.
    func packForwardWeight(_ weight: UnsafePointer<Float>, _ shape: ConvolutionShape, into packed: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: shape.c) { table.pack_forward_weight!(weight, $0, packed) }
    }

    /// Packs `weight [O, K]` for `inputGradient` (as `Wᵀ`) into `inputGradientWeightCount` floats.
    func packInputGradientWeight(_ weight: UnsafePointer<Float>, _ shape: ConvolutionShape,
                                 into packed: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: shape.c) { table.pack_input_grad_weight!(weight, $0, packed) }
    }

    /// `output [O, Ho·Wo] = W ⋆ image [C, H, W] (+ bias [O])`, from the weight packed by `packForwardWeight`.
    func forward(packed: UnsafePointer<Float>, bias: UnsafePointer<Float>?, image: UnsafePointer<Float>,
                 _ shape: ConvolutionShape, output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: shape.c) { table.forward!(packed, bias, image, $0, output, workspace) }
    }

    /// `imageGradient [C, H, W] = col2im(Wᵀ · gradient [O, Ho·Wo])`, or `+=` when `accumulate`, from the weight
    /// packed by `packInputGradientWeight`.
    func inputGradient(packed: UnsafePointer<Float>, gradient: UnsafePointer<Float>, _ shape: ConvolutionShape,
                       imageGradient: UnsafeMutablePointer<Float>, accumulate: Bool, workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: shape.c) {
            table.input_grad!(packed, gradient, $0, imageGradient, accumulate ? 1 : 0, workspace)
        }
    }

    /// Adds `columns(image) · gradientᵀ` to `accumulator` (`accumulatorCount` floats, zero before the first image).
    func weightGradient(image: UnsafePointer<Float>, gradient: UnsafePointer<Float>, _ shape: ConvolutionShape,
                        accumulator: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>) {
        withUnsafePointer(to: shape.c) { table.weight_grad!(image, gradient, $0, accumulator, workspace) }
    }

    /// `weightGradient [O, K]` from an accumulator, or `+=` when `accumulate`.
    func finishWeightGradient(accumulator: UnsafePointer<Float>, _ shape: ConvolutionShape,
                              into weightGradient: UnsafeMutablePointer<Float>, accumulate: Bool) {
        withUnsafePointer(to: shape.c) { table.weight_grad_finish!(accumulator, $0, weightGradient, accumulate ? 1 : 0) }
    }
}
