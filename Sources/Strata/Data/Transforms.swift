// Shapes: B = batch, C = channels, H = height, W = width. Transforms take and return float32 [B, C, H, W]
// (normalisation accepts any [B, C, …]). They make new tensors and never record on the tape.

/// A change applied to a whole batch of inputs, drawing any randomness from `generator`.
///
/// The data loader hands each batch a generator derived from (seed, epoch, batch index), so a batch's
/// augmentation is the same with or without prefetching and when a run resumes mid-epoch.
public protocol BatchTransform: Sendable {
    /// The transformed batch (a new tensor).
    func apply(_ inputs: Tensor, generator: inout RandomGenerator) -> Tensor
}

/// Per-channel standardisation: `out[b, c, …] = (x[b, c, …] − mean[c]) / std[c]`.
public struct Normalize: BatchTransform {
    /// Per-channel means and standard deviations.
    public let mean: [Float], std: [Float]

    /// Standardises channel `c` with `mean[c]` and `std[c]` (all positive).
    public init(mean: [Float], std: [Float]) {
        require(mean.count == std.count && !mean.isEmpty, "Normalize: \(mean.count) means but \(std.count) stds")
        require(std.allSatisfy { $0 > 0 }, "Normalize: standard deviations must be positive, got \(std)")
        self.mean = mean
        self.std = std
    }

    public func apply(_ inputs: Tensor, generator: inout RandomGenerator) -> Tensor {
        require(inputs.dtype == .float32 && inputs.rank >= 2 && inputs.shape[1] == mean.count,
                     "Normalize: expected float32 [B, \(mean.count), …], got \(inputs.dtype) \(inputs.shape)")
        let x = inputs.contiguousData()
        defer { withExtendedLifetime(x) {} }   // x may be a fresh copy read only through src
        let out = Tensor(uninitialized: x.shape, dtype: .float32)
        let (batch, channels) = (x.shape[0], x.shape[1])
        let plane = channels == 0 || batch == 0 ? 0 : x.count / (batch * channels)
        let src = x.pointer(Float.self), dst = out.pointer(Float.self)
        for b in 0..<batch {
            for c in 0..<channels {
                let base = (b * channels + c) * plane
                let (m, inverse) = (mean[c], 1 / std[c])
                for i in base..<base + plane { dst[i] = (src[i] - m) * inverse }
            }
        }
        return out
    }
}

/// Random translation: zero-pads each image by `padding` on every side, then crops an H × W window at a
/// uniformly random offset in `0...2·padding` along each axis (the standard CIFAR augmentation).
public struct RandomCrop: BatchTransform {
    /// Zero pixels added on each side before cropping; the largest shift.
    public let padding: Int

    /// Shifts images by up to `padding` pixels each way, filling with zeros.
    public init(padding: Int) {
        require(padding >= 0, "RandomCrop: padding must be non-negative, got \(padding)")
        self.padding = padding
    }

    public func apply(_ inputs: Tensor, generator: inout RandomGenerator) -> Tensor {
        require(inputs.dtype == .float32 && inputs.rank == 4, "RandomCrop: expected float32 [B, C, H, W], got \(inputs.dtype) \(inputs.shape)")
        let x = inputs.contiguousData()
        defer { withExtendedLifetime(x) {} }   // x may be a fresh copy read only through src
        let out = Tensor.zeros(x.shape, dtype: .float32)
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let src = x.pointer(Float.self), dst = out.pointer(Float.self)
        for b in 0..<batch {
            // Output pixel (y, x) reads input (y + dy, x + dx); outside the image it stays the zero padding.
            let dy = generator.index(below: 2 * padding + 1) - padding
            let dx = generator.index(below: 2 * padding + 1) - padding
            let x0 = max(0, -dx), x1 = min(width, width - dx)
            let y0 = max(0, -dy), y1 = min(height, height - dy)
            guard x1 > x0 && y1 > y0 else { continue }
            for c in 0..<channels {
                let plane = (b * channels + c) * height * width
                for y in y0..<y1 {
                    (dst + plane + y * width + x0).update(from: src + plane + (y + dy) * width + x0 + dx, count: x1 - x0)
                }
            }
        }
        return out
    }
}

/// Mirrors each image left–right with probability `probability`: `out[b, c, y, x] = in[b, c, y, W − 1 − x]`.
public struct RandomHorizontalFlip: BatchTransform {
    /// The chance each image is mirrored.
    public let probability: Double

    /// Mirrors each image independently with `probability`.
    public init(probability: Double = 0.5) {
        require((0...1).contains(probability), "RandomHorizontalFlip: probability \(probability) is outside [0, 1]")
        self.probability = probability
    }

    public func apply(_ inputs: Tensor, generator: inout RandomGenerator) -> Tensor {
        require(inputs.dtype == .float32 && inputs.rank == 4, "RandomHorizontalFlip: expected float32 [B, C, H, W], got \(inputs.dtype) \(inputs.shape)")
        let x = inputs.contiguousData()
        defer { withExtendedLifetime(x) {} }   // x may be a fresh copy read only through src
        let out = Tensor(uninitialized: x.shape, dtype: .float32)
        let (batch, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let sampleSize = channels * height * width
        let src = x.pointer(Float.self), dst = out.pointer(Float.self)
        for b in 0..<batch {
            let s = src + b * sampleSize, d = dst + b * sampleSize
            guard generator.nextUnit() < probability else {
                d.update(from: s, count: sampleSize)
                continue
            }
            for row in 0..<channels * height {
                let r = row * width
                for i in 0..<width { d[r + i] = s[r + width - 1 - i] }
            }
        }
        return out
    }
}
