/// Pooling layers, for `Sequential`. Each forwards to the op of the same name and has no parameters.

/// Max pooling over `kh×kw` windows, as PyTorch's `nn.MaxPool2d` (stride defaults to the kernel).
public final class MaxPool2d: Layer {
    /// The window, step and zero padding, as (height, width).
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)

    /// A `(kh, kw)` window moved by `stride` (default: the kernel) over the input padded with −∞ by `padding`.
    public init(_ kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        (self.kernel, self.stride, self.padding) = (kernel, stride ?? kernel, padding)
    }

    /// A square window, with the same stride and padding along both spatial dims.
    public convenience init(_ kernel: Int, stride: Int? = nil, padding: Int = 0) {
        self.init((kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }

    /// `[N, C, H, W] → [N, C, Ho, Wo]`, `Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        input.maxPool2d(kernel: kernel, stride: stride, padding: padding)
    }
}

/// Average pooling over `kh×kw` windows, as PyTorch's `nn.AvgPool2d` (stride defaults to the kernel;
/// zero padding counts in the divisor unless `countIncludePad` is false).
public final class AvgPool2d: Layer {
    /// The window, step and zero padding, as (height, width).
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
    /// Whether padded zeros count in each average's divisor.
    public let countIncludePad: Bool

    /// A `(kh, kw)` window moved by `stride` (default: the kernel) over the input padded with zeros by `padding`.
    public init(_ kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0), countIncludePad: Bool = true) {
        (self.kernel, self.stride, self.padding, self.countIncludePad) = (kernel, stride ?? kernel, padding, countIncludePad)
    }

    /// A square window, with the same stride and padding along both spatial dims.
    public convenience init(_ kernel: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) {
        self.init((kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding), countIncludePad: countIncludePad)
    }

    /// `[N, C, H, W] → [N, C, Ho, Wo]`, `Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        input.avgPool2d(kernel: kernel, stride: stride, padding: padding, countIncludePad: countIncludePad)
    }
}

/// Average pooling to a fixed output size whatever the input's, as PyTorch's `nn.AdaptiveAvgPool2d`;
/// `AdaptiveAvgPool2d(1)` is global average pooling.
public final class AdaptiveAvgPool2d: Layer {
    /// The output's (height, width).
    public let outputSize: (Int, Int)

    /// Pools any input to `(Ho, Wo)` bins.
    public init(_ outputSize: (Int, Int)) { self.outputSize = outputSize }

    /// A square output `(size, size)`.
    public convenience init(_ outputSize: Int) { self.init((outputSize, outputSize)) }

    /// `[N, C, H, W] → [N, C, Ho, Wo]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        input.adaptiveAvgPool2d(outputSize: outputSize)
    }
}

/// `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]` for a `kernel` window moved by `stride` over the input
/// padded by `padding` (at most half the kernel, as PyTorch requires); pooling counts no FLOPs.
private func windowedPoolingShape(_ rule: ShapeRule, kernel: (Int, Int), stride: (Int, Int),
                                  padding: (Int, Int)) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
    try rule.rank([3, 4], "[N, C, H, W] or [C, H, W]")
    try rule.setting(kernel.0 >= 1 && kernel.1 >= 1, "kernel_size", "kernel \(kernel) must be at least 1")
    try rule.setting(stride.0 >= 1 && stride.1 >= 1, "stride", "stride \(stride) must be at least 1")
    try rule.setting(padding.0 >= 0 && padding.1 >= 0 && padding.0 <= kernel.0 / 2 && padding.1 <= kernel.1 / 2,
                     "padding", "padding \(padding) must be non-negative and at most half the kernel \(kernel)")
    let x = rule.input
    let ho = try rule.window(x[x.count - 2], kernel: kernel.0, stride: stride.0, padding: padding.0, axis: "height")
    let wo = try rule.window(x[x.count - 1], kernel: kernel.1, stride: stride.1, padding: padding.1, axis: "width")
    return (try rule.output(x.dropLast(2) + [ho, wo]), 0)
}

extension MaxPool2d: ShapeInferring {
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        try windowedPoolingShape(ShapeRule(self, input), kernel: kernel, stride: stride, padding: padding)
    }
}

extension AvgPool2d: ShapeInferring {
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        try windowedPoolingShape(ShapeRule(self, input), kernel: kernel, stride: stride, padding: padding)
    }
}

extension AdaptiveAvgPool2d: ShapeInferring {
    /// `[N, C, H, W]` (or `[C, H, W]`, `H` and `W` at least 1) → `[N, C, Ho, Wo]`; no FLOPs counted.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        try rule.rank([3, 4], "[N, C, H, W] or [C, H, W]")
        try rule.setting(outputSize.0 >= 1 && outputSize.1 >= 1, "output_size", "output size \(outputSize) must be at least 1")
        guard input[input.count - 2] >= 1 && input[input.count - 1] >= 1 else {
            throw rule.error(.size, nil, "the spatial size must be at least 1×1")
        }
        return (try rule.output(input.dropLast(2) + [outputSize.0, outputSize.1]), 0)
    }
}
