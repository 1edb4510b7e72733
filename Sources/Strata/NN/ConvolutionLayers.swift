/// Convolution layers with PyTorch's parameter names (`weight`, `bias`) and default initialisation:
/// weight Kaiming uniform with a = √5, bias U(−1/√fan_in, 1/√fan_in), where fan_in = `weight.shape[1]·Πkernel`.

/// The bias PyTorch's `_ConvNd.reset_parameters` draws: U(−1/√fan_in, 1/√fan_in), as a leaf requiring grad.
private func convolutionBias(_ count: Int, weightShape: [Int], dtype: DType) -> Tensor {
    let fanIn = Init.fans(weightShape).fanIn
    let bound = fanIn > 0 ? 1 / Double(fanIn).squareRoot() : 0
    let bias = Init.uniform([count], low: -bound, high: bound, dtype: dtype)
    bias.requiresGrad = true
    return bias
}

/// The weight PyTorch's `_ConvNd.reset_parameters` draws: Kaiming uniform with a = √5, as a leaf requiring grad.
private func convolutionWeight(_ shape: [Int], dtype: DType) -> Tensor {
    let weight = Init.kaimingUniform(shape, a: 5.0.squareRoot(), dtype: dtype)
    weight.requiresGrad = true
    return weight
}

/// A convolution's `weight` `[C_out, C_in/groups, kernel…]` and `bias` `[C_out]`, after the checks PyTorch's
/// `_ConvNd` makes: channels and kernel at least 1, groups at least 1 and dividing both channel counts.
private func convolutionState(_ layer: String, _ inChannels: Int, _ outChannels: Int, kernel: [Int], groups: Int, bias: Bool,
                              dtype: DType) throws(ShapeError) -> [StateEntry] {
    let rule = SettingRule(layer)
    try rule.size("in_channels", inChannels, atLeast: 1)
    try rule.size("out_channels", outChannels, atLeast: 1)
    for size in kernel { try rule.size("kernel_size", size, atLeast: 1) }
    try rule.size("groups", groups, atLeast: 1)
    try rule.check(inChannels % groups == 0 && outChannels % groups == 0, "groups",
                   "in_channels \(inChannels) and out_channels \(outChannels) must both be divisible by groups \(groups)")
    let weight = try rule.entry("weight", [outChannels, inChannels / groups] + kernel, dtype)
    return bias ? [weight, try rule.entry("bias", [outChannels], dtype)] : [weight]
}

/// A 1-D convolution over `[N, C_in, L]`, as PyTorch's `nn.Conv1d`.
///
/// - `weight`: `[C_out, C_in/groups, k]`, Kaiming uniform (a = √5): U(−1/√fan_in, 1/√fan_in), fan_in = C_in/groups·k.
/// - `bias`: `[C_out]`, U(−1/√fan_in, 1/√fan_in).
public final class Conv1d: Layer {
    public var weight: Tensor
    public var bias: Tensor?
    /// The convolution's settings, as given to `init`.
    public let stride: Int, padding: Int, dilation: Int, groups: Int

    /// - Parameters:
    ///   - inChannels: `C_in`, channels of the input.
    ///   - outChannels: `C_out`, channels of the output.
    ///   - kernelSize: window length `k`.
    ///   - groups: splits the channels into groups convolved separately; divides both channel counts.
    ///   - bias: whether to learn an additive bias per output channel.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, dtype: DType = .float32) {
        let state = requireSettings {
            try Self.stateShapes(inChannels, outChannels, kernelSize: kernelSize, groups: groups, bias: bias, dtype: dtype)
        }
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
        weight = convolutionWeight(state[0].shape, dtype: dtype)
        self.bias = bias ? convolutionBias(outChannels, weightShape: state[0].shape, dtype: dtype) : nil
    }

    /// The state `init` makes, before making it: `weight` `[C_out, C_in/groups, k]`, then `bias` `[C_out]`.
    /// Stride, padding and dilation make no state; the shape rule checks them.
    /// - Throws: `ShapeError` for a channel count or kernel below 1, groups that do not divide both channel
    ///   counts (`.setting`), or a weight with more elements than fit in `Int`.
    public static func stateShapes(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, groups: Int = 1, bias: Bool = true,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        try convolutionState("Conv1d", inChannels, outChannels, kernel: [kernelSize], groups: groups, bias: bias, dtype: dtype)
    }

    /// `[N, C_in, L] → [N, C_out, Lo]`, `Lo = ⌊(L + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.conv1d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// A 2-D convolution over `[N, C_in, H, W]`, as PyTorch's `nn.Conv2d`.
///
/// - `weight`: `[C_out, C_in/groups, kh, kw]`, Kaiming uniform (a = √5): U(−1/√fan_in, 1/√fan_in),
///   fan_in = C_in/groups·kh·kw.
/// - `bias`: `[C_out]`, U(−1/√fan_in, 1/√fan_in).
public final class Conv2d: Layer {
    public var weight: Tensor
    public var bias: Tensor?
    /// The convolution's settings `(height, width)`, as given to `init`.
    public let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int

    /// - Parameters:
    ///   - inChannels: `C_in`, channels of the input.
    ///   - outChannels: `C_out`, channels of the output.
    ///   - kernelSize: window `(kh, kw)`.
    ///   - stride, padding, dilation: per spatial dim `(height, width)`; padding is zeros.
    ///   - groups: splits the channels into groups convolved separately; divides both channel counts.
    ///   - bias: whether to learn an additive bias per output channel.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
                dtype: DType = .float32) {
        let state = requireSettings {
            try Self.stateShapes(inChannels, outChannels, kernelSize: kernelSize, groups: groups, bias: bias, dtype: dtype)
        }
        (self.stride, self.padding, self.dilation, self.groups) = (stride, padding, dilation, groups)
        weight = convolutionWeight(state[0].shape, dtype: dtype)
        self.bias = bias ? convolutionBias(outChannels, weightShape: state[0].shape, dtype: dtype) : nil
    }

    /// The state `init` makes, before making it: `weight` `[C_out, C_in/groups, kh, kw]`, then `bias` `[C_out]`.
    /// Stride, padding and dilation make no state; the shape rule checks them.
    /// - Throws: `ShapeError` for a channel count or kernel below 1, groups that do not divide both channel
    ///   counts (`.setting`), or a weight with more elements than fit in `Int`.
    public static func stateShapes(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), groups: Int = 1,
                                   bias: Bool = true, dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        try convolutionState("Conv2d", inChannels, outChannels, kernel: [kernelSize.0, kernelSize.1], groups: groups,
                             bias: bias, dtype: dtype)
    }

    /// A square kernel, with the same stride, padding and dilation along both spatial dims.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true, dtype: DType = .float32) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias, dtype: dtype)
    }

    /// `[N, C_in, H, W] → [N, C_out, Ho, Wo]`, `Ho = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1` (likewise `Wo`).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.conv2d(input, weight: weight, bias: bias, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
}

/// A 2-D transposed convolution (the adjoint of `Conv2d`, "deconvolution"), as PyTorch's `nn.ConvTranspose2d`.
///
/// - `weight`: `[C_in, C_out/groups, kh, kw]`, Kaiming uniform (a = √5): U(−1/√fan_in, 1/√fan_in) with
///   fan_in = C_out/groups·kh·kw (PyTorch computes it from `weight.size(1)`).
/// - `bias`: `[C_out]`, U(−1/√fan_in, 1/√fan_in).
public final class ConvTranspose2d: Layer {
    public var weight: Tensor
    public var bias: Tensor?
    /// The transposed convolution's settings `(height, width)`, as given to `init`.
    public let stride: (Int, Int), padding: (Int, Int), outputPadding: (Int, Int), dilation: (Int, Int), groups: Int

    /// - Parameters:
    ///   - inChannels: `C_in`, channels of the input.
    ///   - outChannels: `C_out`, channels of the output.
    ///   - kernelSize: window `(kh, kw)`.
    ///   - stride, padding, dilation: those of the convolution this layer is the adjoint of.
    ///   - outputPadding: extra rows/columns on the bottom/right of the output; smaller than stride or dilation.
    ///   - groups: divides both channel counts.
    ///   - bias: whether to learn an additive bias per output channel.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), groups: Int = 1, bias: Bool = true,
                dilation: (Int, Int) = (1, 1), dtype: DType = .float32) {
        require(groups >= 1 && inChannels % groups == 0 && outChannels % groups == 0,
                     "ConvTranspose2d: in channels \(inChannels) and out channels \(outChannels) must be divisible by groups = \(groups)")
        (self.stride, self.padding, self.outputPadding, self.dilation, self.groups) = (stride, padding, outputPadding, dilation, groups)
        let shape = [inChannels, outChannels / groups, kernelSize.0, kernelSize.1]
        weight = convolutionWeight(shape, dtype: dtype)
        self.bias = bias ? convolutionBias(outChannels, weightShape: shape, dtype: dtype) : nil
    }

    /// A square kernel, with the same stride, padding, output padding and dilation along both spatial dims.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, dilation: Int = 1,
                            dtype: DType = .float32) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), outputPadding: (outputPadding, outputPadding), groups: groups,
                  bias: bias, dilation: (dilation, dilation), dtype: dtype)
    }

    /// `[N, C_in, H, W] → [N, C_out, Ho, Wo]`, `Ho = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1` (likewise `Wo`).
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.convTranspose2d(input, weight: weight, bias: bias, stride: stride, padding: padding,
                               outputPadding: outputPadding, dilation: dilation, groups: groups)
    }
}

/// The settings every convolution rule checks before the windows: stride and dilation at least 1, padding
/// at least 0, per spatial dim.
private func checkConvolutionSettings(_ rule: ShapeRule, stride: [Int], padding: [Int], dilation: [Int]) throws(ShapeError) {
    try rule.setting(stride.allSatisfy { $0 >= 1 }, "stride", "stride \(stride) must be at least 1")
    try rule.setting(padding.allSatisfy { $0 >= 0 }, "padding", "padding \(padding) must not be negative")
    try rule.setting(dilation.allSatisfy { $0 >= 1 }, "dilation", "dilation \(dilation) must be at least 1")
}

extension Conv1d: ShapeInferring {
    /// `[N, C_in, L]` (or `[C_in, L]`) → `[N, C_out, Lo]`, and `2·N·Lo·C_out·(C_in/groups)·k` FLOPs.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        let w = weight.shape                                  // [C_out, C_in/groups, k]
        try rule.rank([2, 3], "[N, C_in, L] or [C_in, L]")
        try checkConvolutionSettings(rule, stride: [stride], padding: [padding], dilation: [dilation])
        try rule.dimension(-2, is: w[1] * groups, argument: "in_channels")
        let lo = try rule.window(input[input.count - 1], kernel: w[2], stride: stride, padding: padding, dilation: dilation, axis: "length")
        let batch = input.count == 3 ? input[0] : 1
        let output = try rule.output(input.dropLast(2) + [w[0], lo])
        return (output, try rule.product(2, batch, lo, w[0], w[1], w[2]))
    }
}

extension Conv2d: ShapeInferring {
    /// `[N, C_in, H, W]` (or `[C_in, H, W]`) → `[N, C_out, Ho, Wo]`, and `2·N·Ho·Wo·C_out·(C_in/groups)·kh·kw`
    /// FLOPs.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        let w = weight.shape                                  // [C_out, C_in/groups, kh, kw]
        try rule.rank([3, 4], "[N, C_in, H, W] or [C_in, H, W]")
        try checkConvolutionSettings(rule, stride: [stride.0, stride.1], padding: [padding.0, padding.1],
                                     dilation: [dilation.0, dilation.1])
        try rule.dimension(-3, is: w[1] * groups, argument: "in_channels")
        let (h, wi) = (input[input.count - 2], input[input.count - 1])
        let ho = try rule.window(h, kernel: w[2], stride: stride.0, padding: padding.0, dilation: dilation.0, axis: "height")
        let wo = try rule.window(wi, kernel: w[3], stride: stride.1, padding: padding.1, dilation: dilation.1, axis: "width")
        let batch = input.count == 4 ? input[0] : 1
        let output = try rule.output(input.dropLast(3) + [w[0], ho, wo])
        return (output, try rule.product(2, batch, ho, wo, w[0], w[1], w[2], w[3]))
    }
}

extension ConvTranspose2d: ShapeInferring {
    /// `[N, C_in, H, W]` (or `[C_in, H, W]`) → `[N, C_out, Ho, Wo]`, and `2·N·H·W·C_in·(C_out/groups)·kh·kw`
    /// FLOPs: every input pixel scatters one kernel per output channel of its group.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        let w = weight.shape                                  // [C_in, C_out/groups, kh, kw]
        try rule.rank([3, 4], "[N, C_in, H, W] or [C_in, H, W]")
        try checkConvolutionSettings(rule, stride: [stride.0, stride.1], padding: [padding.0, padding.1],
                                     dilation: [dilation.0, dilation.1])
        try rule.setting(outputPadding.0 >= 0 && outputPadding.1 >= 0
                         && (outputPadding.0 < stride.0 || outputPadding.0 < dilation.0)
                         && (outputPadding.1 < stride.1 || outputPadding.1 < dilation.1),
                         "output_padding", "output padding \(outputPadding) must be smaller than either stride \(stride) or dilation \(dilation)")
        try rule.dimension(-3, is: w[0], argument: "in_channels")
        let (h, wi) = (input[input.count - 2], input[input.count - 1])
        let ho = try rule.transposedWindow(h, kernel: w[2], stride: stride.0, padding: padding.0, outputPadding: outputPadding.0,
                                           dilation: dilation.0, axis: "height")
        let wo = try rule.transposedWindow(wi, kernel: w[3], stride: stride.1, padding: padding.1, outputPadding: outputPadding.1,
                                           dilation: dilation.1, axis: "width")
        let batch = input.count == 4 ? input[0] : 1
        let output = try rule.output(input.dropLast(3) + [try rule.product(w[1], groups), ho, wo])
        return (output, try rule.product(2, batch, h, wi, w[0], w[1], w[2], w[3]))
    }
}
