/// 2-D pooling over the last two dimensions, with PyTorch's semantics (floor mode, no dilation).
///
/// Shapes: `P` = planes (every leading dim flattened: `N·C`, or `C` for an unbatched `[C, H, W]`),
/// `H×W` = input size, `kh×kw` = window, `Ho×Wo` = output size. Each plane is pooled on its own, so the
/// kernels split the planes across threads.

/// The sizes of one pooling: `[P, H, W] → [P, Ho, Wo]`, contiguous.
private struct PoolGeometry {
    let planes: Int, height: Int, width: Int, outHeight: Int, outWidth: Int
    var plane: Int { height * width }
    var outPlane: Int { outHeight * outWidth }

    /// Planes per thread so that a chunk does at least ~32k element reads.
    func grain(window: Int) -> Int { max(1, 32_768 / max(outPlane * window, 1)) }
}

extension Tensor {
    /// The input viewed as `[P, H, W]` and the geometry of pooling it to `Ho×Wo`, after checking the rank.
    private func poolPlanes(outHeight: Int, outWidth: Int) -> (Tensor, PoolGeometry) {
        let (h, w) = (shape[rank - 2], shape[rank - 1])
        let planes = shape.dropLast(2).reduce(1, *)
        let x = detached().contiguousData()
        return (x, PoolGeometry(planes: planes, height: h, width: w, outHeight: outHeight, outWidth: outWidth))
    }

    /// Checks the arguments of a windowed pooling and returns its output size (floor mode).
    private func windowedOutputSize(_ op: String, kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int)) -> (Int, Int) {
        require(rank == 3 || rank == 4, "\(op): input \(shape) must be [N, C, H, W] or [C, H, W]")
        require(dtype.isFloatingPoint, "\(op): input \(shape) has non-floating-point dtype \(dtype)")
        require(kernel.0 >= 1 && kernel.1 >= 1 && stride.0 >= 1 && stride.1 >= 1,
                     "\(op): kernel \(kernel) and stride \(stride) must be positive (input \(shape))")
        require(padding.0 >= 0 && padding.1 >= 0 && padding.0 <= kernel.0 / 2 && padding.1 <= kernel.1 / 2,
                     "\(op): padding \(padding) must be non-negative and at most half the kernel \(kernel) (input \(shape))")
        let (h, w) = (shape[rank - 2], shape[rank - 1])
        let size = try? (ShapeArithmetic.windowOutputSize(h, kernel: kernel.0, stride: stride.0, padding: padding.0),
                         ShapeArithmetic.windowOutputSize(w, kernel: kernel.1, stride: stride.1, padding: padding.1))
        require(size != nil, "\(op): input \(shape) padded by \(padding) is smaller than the kernel \(kernel), or its size overflows")
        return size!
    }

    // MARK: Max pooling

    /// Max pooling, as `torch.nn.functional.max_pool2d`: each output is the largest element of its
    /// `kh×kw` window; padding counts as −∞, and a NaN in the window wins (as in PyTorch).
    ///
    /// `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]` with `Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1`.
    /// `stride` defaults to the kernel; padding may be at most half the kernel. The forward stores the
    /// position of each maximum, and backward adds each output's gradient to that position only.
    /// Float32 with kernel 2, stride 2 and no padding runs a four-lane forward kernel with the same results.
    public func maxPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        let stride = stride ?? kernel
        let (ho, wo) = windowedOutputSize("maxPool2d", kernel: kernel, stride: stride, padding: padding)
        let (x, geo) = poolPlanes(outHeight: ho, outWidth: wo)
        let out = Tensor(uninitialized: Array(shape.dropLast(2)) + [ho, wo], dtype: dtype)
        let indices = Tensor(uninitialized: out.shape, dtype: .int64)   // flat h·W + w of each maximum in its plane
        func run<T: FloatElement>(_: T.Type) {
            let src = x.pointer(T.self), dst = out.pointer(T.self), arg = indices.pointer(Int64.self)
            // Each window is clipped to the input, so that is its cost (a kernel near Int.max costs H·W, not kh·kw).
            let window = Swift.min(kernel.0, geo.height) * Swift.min(kernel.1, geo.width)
            parallelFor(geo.planes, grain: geo.grain(window: window)) { planes in
                for p in planes {
                    let s = src + p * geo.plane, d = dst + p * geo.outPlane, a = arg + p * geo.outPlane
                    for oh in 0..<ho {
                        let h0 = oh * stride.0 - padding.0
                        let hs = Swift.max(h0, 0), he = Swift.min(h0 + kernel.0, geo.height)
                        for ow in 0..<wo {
                            let w0 = ow * stride.1 - padding.1
                            let ws = Swift.max(w0, 0), we = Swift.min(w0 + kernel.1, geo.width)
                            var best = -T.infinity, bestIndex = hs * geo.width + ws
                            for ih in hs..<he {
                                for iw in ws..<we {
                                    let v = s[ih * geo.width + iw]
                                    if v > best || v.isNaN {
                                        best = v
                                        bestIndex = ih * geo.width + iw
                                        if v.isNaN { break }
                                    }
                                }
                                if best.isNaN { break }
                            }
                            d[oh * wo + ow] = best
                            a[oh * wo + ow] = Int64(bestIndex)
                        }
                    }
                }
            }
        }
        // `MaxPool2d(2)` on Float32: the C kernel (Kernels/PoolingKernels.swift), which picks the same elements.
        let halving = kernel == (2, 2) && stride == (2, 2) && padding == (0, 0)
            && PoolingKernels.fits(height: geo.height, width: geo.width)
        switch dtype {
        case .float32 where halving:
            let (src, dst, arg) = (x.pointer(Float.self), out.pointer(Float.self), indices.pointer(Int64.self))
            parallelFor(geo.planes, grain: geo.grain(window: 4)) { planes in
                PoolingKernels.selected.maxPool2x2(src, planes: planes, height: geo.height, width: geo.width, into: dst, indices: arg)
            }
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported("maxPool2d", dtype)
        }
        let inputShape = shape
        return Tensor.differentiable("maxPool2d", inputs: [self], output: out) { g in   // g: [P, Ho, Wo]
            let gc = g.contiguousData()
            let dx = Tensor.zeros(inputShape, dtype: gc.dtype)
            func run<T: FloatElement>(_: T.Type) {
                let gp = gc.pointer(T.self), dp = dx.pointer(T.self), arg = indices.pointer(Int64.self)
                // dx[argmax] += g: overlapping windows may pick the same element, so add.
                parallelFor(geo.planes, grain: geo.grain(window: 1)) { planes in
                    for p in planes {
                        let s = gp + p * geo.outPlane, d = dp + p * geo.plane, a = arg + p * geo.outPlane
                        for i in 0..<geo.outPlane { d[Int(a[i])] += s[i] }
                    }
                }
            }
            switch gc.dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            default: unsupported("maxPool2d backward", gc.dtype)
            }
            return [dx]
        }
    }

    /// Max pooling with a square window: `maxPool2d(kernel: (k, k), stride: (s, s), padding: (p, p))`.
    public func maxPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        maxPool2d(kernel: (kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding))
    }

    // MARK: Average pooling

    /// Average pooling, as `torch.nn.functional.avg_pool2d`: each output is the mean of its `kh×kw` window.
    ///
    /// `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]` with `Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1`. Padding is
    /// zeros; with `countIncludePad` (PyTorch's default) they count in the divisor, otherwise only the window's
    /// elements inside the input do. `stride` defaults to the kernel.
    /// Backward spreads each output's gradient evenly, divided by the same divisor, over its window.
    public func avgPool2d(kernel: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          countIncludePad: Bool = true) -> Tensor {
        let stride = stride ?? kernel
        let (ho, wo) = windowedOutputSize("avgPool2d", kernel: kernel, stride: stride, padding: padding)
        let (x, geo) = poolPlanes(outHeight: ho, outWidth: wo)
        // One window per output position, shared by every plane: its rows, columns and divisor.
        let hWindows = (0..<ho).map { oh in Self.paddedWindow(oh, kernel: kernel.0, stride: stride.0, padding: padding.0, size: geo.height) }
        let wWindows = (0..<wo).map { ow in Self.paddedWindow(ow, kernel: kernel.1, stride: stride.1, padding: padding.1, size: geo.width) }
        let divisors = hWindows.flatMap { hw in
            // In Double: a padded window's area may exceed Int (padding near Int.max / 2 on both axes).
            wWindows.map { ww in countIncludePad ? Double(hw.padded) * Double(ww.padded) : Double(hw.inside.count * ww.inside.count) }
        }
        let windows = AveragingWindows(rows: hWindows.map(\.inside), columns: wWindows.map(\.inside), divisors: divisors)
        let out = Tensor(uninitialized: Array(shape.dropLast(2)) + [ho, wo], dtype: dtype)
        windows.average(x, into: out, geometry: geo, op: "avgPool2d")
        let inputShape = shape
        return Tensor.differentiable("avgPool2d", inputs: [self], output: out) { g in
            [windows.spread(g.contiguousData(), inputShape: inputShape, geometry: geo, op: "avgPool2d backward")]
        }
    }

    /// Average pooling with a square window: `avgPool2d(kernel: (k, k), stride: (s, s), padding: (p, p))`.
    public func avgPool2d(kernel: Int, stride: Int? = nil, padding: Int = 0, countIncludePad: Bool = true) -> Tensor {
        avgPool2d(kernel: (kernel, kernel), stride: stride.map { ($0, $0) }, padding: (padding, padding),
                  countIncludePad: countIncludePad)
    }

    /// Window `index` of a padded pooling: the indices inside the input, and its length counting padding
    /// (PyTorch clips the padded window at `size + padding`).
    private static func paddedWindow(_ index: Int, kernel: Int, stride: Int, padding: Int, size: Int) -> (inside: Range<Int>, padded: Int) {
        let start = index * stride - padding
        let end = Swift.min(start + kernel, size + padding)
        return (Swift.max(start, 0)..<Swift.max(Swift.min(end, size), Swift.max(start, 0)), end - start)
    }

    // MARK: Adaptive average pooling

    /// Adaptive average pooling, as `torch.nn.functional.adaptive_avg_pool2d`: the output has the given size
    /// and output `(i, j)` averages rows `⌊i·H/Ho⌋ ..< ⌈(i+1)·H/Ho⌉` and columns `⌊j·W/Wo⌋ ..< ⌈(j+1)·W/Wo⌉`.
    ///
    /// `[N, C, H, W]` (or `[C, H, W]`) → `[N, C, Ho, Wo]`; `outputSize: (1, 1)` is global average pooling.
    /// Backward spreads each output's gradient evenly over its bin.
    public func adaptiveAvgPool2d(outputSize: (Int, Int)) -> Tensor {
        require(rank == 3 || rank == 4, "adaptiveAvgPool2d: input \(shape) must be [N, C, H, W] or [C, H, W]")
        require(dtype.isFloatingPoint, "adaptiveAvgPool2d: input \(shape) has non-floating-point dtype \(dtype)")
        let (ho, wo) = outputSize
        let (h, w) = (shape[rank - 2], shape[rank - 1])
        require(ho >= 1 && wo >= 1 && h >= 1 && w >= 1,
                     "adaptiveAvgPool2d: output size \(outputSize) and the input's spatial size \(shape) must be positive")
        let (x, geo) = poolPlanes(outHeight: ho, outWidth: wo)
        func bin(_ i: Int, _ out: Int, _ size: Int) -> Range<Int> {
            (i * size / out)..<(((i + 1) * size + out - 1) / out)
        }
        let rows = (0..<ho).map { bin($0, ho, h) }, columns = (0..<wo).map { bin($0, wo, w) }
        let divisors = rows.flatMap { r in columns.map { c in Double(r.count * c.count) } }
        let windows = AveragingWindows(rows: rows, columns: columns, divisors: divisors)
        let out = Tensor(uninitialized: Array(shape.dropLast(2)) + [ho, wo], dtype: dtype)
        windows.average(x, into: out, geometry: geo, op: "adaptiveAvgPool2d")
        let inputShape = shape
        return Tensor.differentiable("adaptiveAvgPool2d", inputs: [self], output: out) { g in
            [windows.spread(g.contiguousData(), inputShape: inputShape, geometry: geo, op: "adaptiveAvgPool2d backward")]
        }
    }

    /// Adaptive average pooling to a square output: `adaptiveAvgPool2d(outputSize: (s, s))`.
    public func adaptiveAvgPool2d(outputSize: Int) -> Tensor {
        adaptiveAvgPool2d(outputSize: (outputSize, outputSize))
    }
}

/// The windows of an averaging pool, the same for every plane: output `(i, j)` is the sum over
/// `rows[i] × columns[j]` divided by `divisors[i·Wo + j]`.
private struct AveragingWindows {
    let rows: [Range<Int>]
    let columns: [Range<Int>]
    let divisors: [Double]

    /// `out[p, i, j] = Σ_{window} x[p] / divisor`.
    func average(_ x: Tensor, into out: Tensor, geometry geo: PoolGeometry, op: String) {
        func run<T: FloatElement>(_: T.Type) {
            let src = x.pointer(T.self), dst = out.pointer(T.self)
            let window = (rows.map(\.count).max() ?? 0) * (columns.map(\.count).max() ?? 0)
            rows.withUnsafeBufferPointer { rows in
                columns.withUnsafeBufferPointer { columns in
                    divisors.withUnsafeBufferPointer { divisors in
                        parallelFor(geo.planes, grain: geo.grain(window: window)) { planes in
                            for p in planes {
                                let s = src + p * geo.plane, d = dst + p * geo.outPlane
                                for i in 0..<geo.outHeight {
                                    for j in 0..<geo.outWidth {
                                        var total: T = 0
                                        for ih in rows[i] {
                                            for iw in columns[j] { total += s[ih * geo.width + iw] }
                                        }
                                        d[i * geo.outWidth + j] = total / T(divisors[i * geo.outWidth + j])
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        switch x.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported(op, x.dtype)
        }
    }

    /// The adjoint of `average`: `dx[p, window(i, j)] += g[p, i, j] / divisor`.
    func spread(_ g: Tensor, inputShape: [Int], geometry geo: PoolGeometry, op: String) -> Tensor {
        let dx = Tensor.zeros(inputShape, dtype: g.dtype)
        func run<T: FloatElement>(_: T.Type) {
            let src = g.pointer(T.self), dst = dx.pointer(T.self)
            let window = (rows.map(\.count).max() ?? 0) * (columns.map(\.count).max() ?? 0)
            rows.withUnsafeBufferPointer { rows in
                columns.withUnsafeBufferPointer { columns in
                    divisors.withUnsafeBufferPointer { divisors in
                        parallelFor(geo.planes, grain: geo.grain(window: window)) { planes in
                            for p in planes {
                                let s = src + p * geo.outPlane, d = dst + p * geo.plane
                                for i in 0..<geo.outHeight {
                                    for j in 0..<geo.outWidth {
                                        let share = s[i * geo.outWidth + j] / T(divisors[i * geo.outWidth + j])
                                        for ih in rows[i] {
                                            for iw in columns[j] { d[ih * geo.width + iw] += share }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        switch g.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported(op, g.dtype)
        }
        return dx
    }
}
