/// Pooling layers, for `Sequential`. Each forwards to the op of the same name and has no parameters.

/// Max pooling over `kh×kw` windows, as PyTorch's `nn.MaxPool2d` (stride defaults to the kernel).
public final class MaxPool2d: Layer {
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
    public let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)
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
