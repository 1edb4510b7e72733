/// 2-D convolution and its adjoint (transposed convolution) as the products of im2col + gemm, in NCHW layout
/// with PyTorch's semantics (cross-correlation, zero padding, dilation, groups). Float32 runs the C convolution
/// kernels (`ConvolutionKernels`: register tiles at the CPU's full width, columns built panel by panel in cache),
/// with the batch split across threads; Float64, the checking type, runs im2col + BLAS gemm.
///
/// Shapes, named once for the whole file, from the point of view of a *convolution*:
/// `N` = batch, `C` = image channels, `H×W` = image size, `O` = output channels, `G` = groups,
/// `kh×kw` = kernel, `Ho×Wo` = output size, `Cg = C/G`, `Og = O/G`,
/// `K = Cg·kh·kw` (rows of one group's columns), `L = Ho·Wo` (columns: one per output position).
/// A transposed convolution runs the same machinery the other way round: its input lives on the
/// convolution's output side and its output on the image side.

/// The sizes of one convolution, image side `[N, C, H, W]` and output side `[N, O, Ho, Wo]`, with the
/// kernels that move between them. All buffers are contiguous.
struct ConvGeometry {
    let batch: Int
    let channels: Int, height: Int, width: Int            // image side: C, H, W
    let outChannels: Int, outHeight: Int, outWidth: Int   // output side: O, Ho, Wo
    let kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    let groups: Int

    var groupChannels: Int { channels / groups }                  // Cg
    var groupOutChannels: Int { outChannels / groups }            // Og
    var groupRows: Int { groupChannels * kernel.0 * kernel.1 }    // K
    var columnRows: Int { channels * kernel.0 * kernel.1 }        // G·K
    var imagePlane: Int { height * width }                        // H·W
    var outPlane: Int { outHeight * outWidth }                    // L

    /// A 1×1 kernel with stride 1 and no padding: the columns are the image itself, so im2col is skipped.
    var isPointwise: Bool {
        kernel == (1, 1) && stride == (1, 1) && padding == (0, 0) && outHeight == height && outWidth == width
    }

    /// The output columns `ow` whose input column `ow·stride + offset` lies inside `0..<size`.
    @inline(__always)
    private static func validRange(offset: Int, stride: Int, size: Int, count: Int) -> Range<Int> {
        let low = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let high = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1
        let lo = min(low, count), hi = min(high, count)
        return lo..<max(lo, hi)
    }

    // MARK: im2col / col2im

    /// Stride 1 and `Wo = W` (the "same" padding of the benchmark convolutions): each columns row is then
    /// the image plane shifted by a constant, so im2col copies it in one block and zeroes the few entries
    /// that fall in the padding, instead of one short copy per output row.
    private var isRowPreserving: Bool { stride == (1, 1) && outWidth == width }

    /// Unfolds one image `[C, H, W]` into columns `[C·kh·kw, L]`: row `(c·kh + i)·kw + j`, column
    /// `oh·Wo + ow` holds `image[c, oh·sh − ph + i·dh, ow·sw − pw + j·dw]`, or 0 where that is padding.
    func im2col<T: FloatElement>(_ image: UnsafePointer<T>, into columns: UnsafeMutablePointer<T>) {
        let (kh, kw) = kernel, (sh, sw) = stride, (ph, pw) = padding, (dh, dw) = dilation
        let (h, w, ho, wo, l) = (height, width, outHeight, outWidth, outPlane)
        let rowPreserving = isRowPreserving
        parallelFor(columnRows, grain: max(1, 32_768 / max(l, 1))) { rows in
            for row in rows {
                let j = row % kw, i = (row / kw) % kh, c = row / (kw * kh)
                let plane = image + c * h * w
                let dst = columns + row * l
                let offset = j * dw - pw
                let valid = ConvGeometry.validRange(offset: offset, stride: sw, size: w, count: wo)
                if rowPreserving {
                    // dst[oh·W + ow] = plane[oh·W + ow + shift] for the output rows whose input row exists.
                    let shift = (i * dh - ph) * w + offset
                    let rowsInside = ConvGeometry.validRange(offset: i * dh - ph, stride: 1, size: h, count: ho)
                    let (lo, hi) = (rowsInside.lowerBound * w, rowsInside.upperBound * w)
                    let copyLo = min(max(lo, -shift), hi), copyHi = max(copyLo, min(hi, h * w - shift))
                    dst.update(repeating: 0, count: copyLo)
                    (dst + copyLo).update(from: plane + copyLo + shift, count: copyHi - copyLo)
                    (dst + copyHi).update(repeating: 0, count: l - copyHi)
                    // The block copy read neighbouring rows' pixels into the columns that are padding.
                    for oh in rowsInside {
                        let d = dst + oh * wo
                        for ow in 0..<valid.lowerBound { d[ow] = 0 }
                        for ow in valid.upperBound..<wo { d[ow] = 0 }
                    }
                    continue
                }
                for oh in 0..<ho {
                    let ih = oh * sh - ph + i * dh
                    let d = dst + oh * wo
                    guard ih >= 0 && ih < h else {
                        d.update(repeating: 0, count: wo)
                        continue
                    }
                    let src = plane + ih * w + offset
                    for ow in 0..<valid.lowerBound { d[ow] = 0 }
                    if sw == 1 {
                        (d + valid.lowerBound).update(from: src + valid.lowerBound, count: valid.count)
                    } else {
                        for ow in valid { d[ow] = src[ow * sw] }
                    }
                    for ow in valid.upperBound..<wo { d[ow] = 0 }
                }
            }
        }
    }

    /// Folds columns `[C·kh·kw, L]` back onto one image `[C, H, W]`, *adding* each column entry to the
    /// pixel im2col read it from (entries that came from padding are dropped). The adjoint of `im2col`.
    func col2im<T: FloatElement>(_ columns: UnsafePointer<T>, addingInto image: UnsafeMutablePointer<T>) {
        let (kh, kw) = kernel, (sh, sw) = stride, (ph, pw) = padding, (dh, dw) = dilation
        let (h, w, ho, wo, l) = (height, width, outHeight, outWidth, outPlane)
        // Split by channel: the kh·kw rows of channel c write only plane c.
        parallelFor(channels, grain: max(1, 32_768 / max(kh * kw * l, 1))) { planes in
            for c in planes {
                let plane = image + c * h * w
                for i in 0..<kh {
                    for j in 0..<kw {
                        let src = columns + ((c * kh + i) * kw + j) * l
                        let offset = j * dw - pw
                        let valid = ConvGeometry.validRange(offset: offset, stride: sw, size: w, count: wo)
                        for oh in 0..<ho {
                            let ih = oh * sh - ph + i * dh
                            guard ih >= 0 && ih < h else { continue }
                            let d = plane + ih * w + offset, s = src + oh * wo
                            if sw == 1 {
                                for ow in valid { d[ow] += s[ow] }   // unit stride: a loop the compiler vectorises
                            } else {
                                for ow in valid { d[ow * sw] += s[ow] }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: The three products, Float64: im2col + BLAS

    /// Convolution: `output[n] = W ⋆ image[n] (+ bias)`, `[N, C, H, W] → [N, O, Ho, Wo]`.
    ///
    /// Per image: im2col into one reused scratch buffer; the output planes start as the bias; then one gemm per
    /// group writes straight into them.
    func correlate<T: FloatElement>(image: UnsafePointer<T>, weight: UnsafePointer<T>, bias: UnsafePointer<T>?,
                                    output: UnsafeMutablePointer<T>) {
        let (k, l, og) = (groupRows, outPlane, groupOutChannels)
        guard batch > 0 && outChannels > 0 && l > 0 else { return }
        let scratch = isPointwise ? nil : Tensor(uninitialized: [columnRows, l], dtype: T.dtype)
        defer { withExtendedLifetime(scratch) {} }   // the last batch's gemm still reads the columns
        for n in 0..<batch {
            let x = image + n * channels * imagePlane
            let columns: UnsafePointer<T>
            if isPointwise {
                columns = x
            } else {
                im2col(x, into: scratch!.pointer(T.self))
                columns = UnsafePointer(scratch!.pointer(T.self))
            }
            let y = output + n * outChannels * l
            if let bias {
                for o in 0..<outChannels { (y + o * l).update(repeating: bias[o], count: l) }
            } else if k == 0 {
                y.update(repeating: 0, count: outChannels * l)
            }
            guard k > 0 else { continue }
            for g in 0..<groups {
                // [Og, K] · [K, L] → [Og, L], onto the bias rows of this group's output planes.
                T.gemm(transposeA: false, transposeB: false, m: og, n: l, k: k, alpha: 1,
                       a: weight + g * og * k, lda: k, b: columns + g * k * l, ldb: l,
                       beta: bias == nil ? 0 : 1, c: y + g * og * l, ldc: l)
            }
        }
    }

    /// The adjoint of `correlate`: `image[n] = col2im(Wᵀ · output[n]) (+ bias per image channel)`,
    /// `[N, O, Ho, Wo] → [N, C, H, W]`. The input gradient of a convolution, the forward of a transposed one.
    ///
    /// Per image: the planes start as the bias (or zeros); per group one gemm `[K, Og] · [Og, L]` fills the
    /// scratch columns, which col2im adds onto the image (a pointwise kernel gemms straight into the image).
    func scatter<T: FloatElement>(output: UnsafePointer<T>, weight: UnsafePointer<T>, bias: UnsafePointer<T>?,
                                  image: UnsafeMutablePointer<T>) {
        let (k, l, og) = (groupRows, outPlane, groupOutChannels)
        guard batch > 0 && channels > 0 && imagePlane > 0 else { return }
        let scratch = isPointwise ? nil : Tensor(uninitialized: [columnRows, l], dtype: T.dtype)
        defer { withExtendedLifetime(scratch) {} }   // the last batch's gemm still reads the columns
        for n in 0..<batch {
            let x = image + n * channels * imagePlane
            if let bias {
                for c in 0..<channels { (x + c * imagePlane).update(repeating: bias[c], count: imagePlane) }
            } else {
                x.update(repeating: 0, count: channels * imagePlane)
            }
            guard og > 0 && l > 0 else { continue }
            let y = output + n * outChannels * l
            if isPointwise {
                for g in 0..<groups {
                    // [Og, Cg]ᵀ · [Og, L] → [Cg, L], added onto the image planes.
                    T.gemm(transposeA: true, transposeB: false, m: k, n: l, k: og, alpha: 1,
                           a: weight + g * og * k, lda: k, b: y + g * og * l, ldb: l, beta: 1, c: x + g * k * l, ldc: l)
                }
                continue
            }
            let columns = scratch!.pointer(T.self)
            for g in 0..<groups {
                // [Og, K]ᵀ · [Og, L] → [K, L]
                T.gemm(transposeA: true, transposeB: false, m: k, n: l, k: og, alpha: 1,
                       a: weight + g * og * k, lda: k, b: y + g * og * l, ldb: l, beta: 0, c: columns + g * k * l, ldc: l)
            }
            col2im(columns, addingInto: x)
        }
    }

    /// The weight gradient: `dW_g = Σ_n output[n]_g · columns(image[n])_gᵀ`, `[O, Cg·kh·kw]`, the columns rebuilt
    /// per image into one scratch buffer.
    func weightGradient<T: FloatElement>(image: UnsafePointer<T>, output: UnsafePointer<T>, into dW: UnsafeMutablePointer<T>) {
        let (k, l, og) = (groupRows, outPlane, groupOutChannels)
        dW.update(repeating: 0, count: outChannels * k)
        guard batch > 0 && og > 0 && k > 0 && l > 0 else { return }
        let scratch = isPointwise ? nil : Tensor(uninitialized: [columnRows, l], dtype: T.dtype)
        defer { withExtendedLifetime(scratch) {} }   // the last batch's gemm still reads the columns
        for n in 0..<batch {
            let columns: UnsafePointer<T>
            if isPointwise {
                columns = image + n * channels * imagePlane
            } else {
                im2col(image + n * channels * imagePlane, into: scratch!.pointer(T.self))
                columns = UnsafePointer(scratch!.pointer(T.self))
            }
            let y = output + n * outChannels * l
            for g in 0..<groups {
                // [Og, L] · [K, L]ᵀ → [Og, K], accumulated over the batch (beta = 1).
                T.gemm(transposeA: false, transposeB: true, m: og, n: k, k: l, alpha: 1,
                       a: y + g * og * l, lda: l, b: columns + g * k * l, ldb: l, beta: 1, c: dW + g * og * k, ldc: k)
            }
        }
    }

    // MARK: The three products, Float32: the C convolution kernels

    /// One group of one image, as the kernels see it.
    private var groupShape: ConvolutionShape {
        ConvolutionShape(channels: groupChannels, height: height, width: width, outChannels: groupOutChannels,
                         outHeight: outHeight, outWidth: outWidth, kernel: kernel, stride: stride, padding: padding,
                         dilation: dilation)
    }

    /// Chunks of the batch to run in parallel: one per thread, as long as each gets ~4 MFLOP (a few hundred
    /// microseconds of tiles, against the tens a second thread costs to start), and never more than images.
    private var imageChunks: Int {
        let flops = 2 * batch * outChannels * groupRows * outPlane
        return max(1, min(Strata.threads, batch, flops / 4_000_000))
    }

    /// Runs `body(chunk, images)` for each chunk of the batch, in parallel.
    private func forEachChunk(_ chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        parallelFor(chunks, grain: 1) { range in
            for chunk in range { body(chunk, batch * chunk / chunks..<batch * (chunk + 1) / chunks) }
        }
    }

    /// Packs each group's weight `[Og, K]` with `pack` into one buffer of `count` floats per group.
    private func packedWeight(_ weight: UnsafePointer<Float>, count: Int,
                              _ pack: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let packed = Tensor(uninitialized: [groups * count], dtype: .float32)
        let p = packed.pointer(Float.self)
        for g in 0..<groups { pack(weight + g * groupOutChannels * groupRows, p + g * count) }
        return packed
    }

    /// Float32 `correlate`, on `kernels`.
    func correlate(_ kernels: ConvolutionKernels, image: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                   bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>) {
        guard batch > 0 && outChannels > 0 && outPlane > 0 else { return }
        let shape = groupShape
        let count = kernels.forwardWeightCount(shape)
        let packed = packedWeight(weight, count: count) { kernels.packForwardWeight($0, shape, into: $1) }
        let (chunks, workspaceCount) = (imageChunks, kernels.workspaceCount(shape))
        let workspace = Tensor(uninitialized: [chunks * workspaceCount], dtype: .float32)
        let (p, ws) = (UnsafePointer(packed.pointer(Float.self)), workspace.pointer(Float.self))
        let (cg, og) = (groupChannels, groupOutChannels)
        withExtendedLifetime((packed, workspace)) {
            forEachChunk(chunks) { chunk, images in
                for n in images {
                    for g in 0..<groups {
                        kernels.forward(packed: p + g * count, bias: bias.map { $0 + g * og },
                                        image: image + (n * groups + g) * cg * imagePlane, shape,
                                        output: output + (n * groups + g) * og * outPlane,
                                        workspace: ws + chunk * workspaceCount)
                    }
                }
            }
        }
    }

    /// Float32 `scatter`, on `kernels`.
    func scatter(_ kernels: ConvolutionKernels, output: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                 bias: UnsafePointer<Float>?, image: UnsafeMutablePointer<Float>) {
        guard batch > 0 && channels > 0 && imagePlane > 0 else { return }
        let shape = groupShape
        let count = kernels.inputGradientWeightCount(shape)
        let packed = packedWeight(weight, count: count) { kernels.packInputGradientWeight($0, shape, into: $1) }
        let (chunks, workspaceCount) = (imageChunks, kernels.workspaceCount(shape))
        let workspace = Tensor(uninitialized: [chunks * workspaceCount], dtype: .float32)
        let (p, ws) = (UnsafePointer(packed.pointer(Float.self)), workspace.pointer(Float.self))
        let (cg, og) = (groupChannels, groupOutChannels)
        withExtendedLifetime((packed, workspace)) {
            forEachChunk(chunks) { chunk, images in
                for n in images {
                    let x = image + n * channels * imagePlane
                    if let bias {   // the planes start as the bias, and the kernel adds onto them
                        for c in 0..<channels { (x + c * imagePlane).update(repeating: bias[c], count: imagePlane) }
                    }
                    for g in 0..<groups {
                        kernels.inputGradient(packed: p + g * count, gradient: output + (n * groups + g) * og * outPlane,
                                              shape, imageGradient: x + g * cg * imagePlane, accumulate: bias != nil,
                                              workspace: ws + chunk * workspaceCount)
                    }
                }
            }
        }
    }

    /// Float32 `weightGradient`, on `kernels`: each chunk of the batch sums into its own accumulators, which are
    /// added into `dW` in chunk order.
    func weightGradient(_ kernels: ConvolutionKernels, image: UnsafePointer<Float>, output: UnsafePointer<Float>,
                        into dW: UnsafeMutablePointer<Float>) {
        let (k, og) = (groupRows, groupOutChannels)
        guard batch > 0 && og > 0 && k > 0 && outPlane > 0 else {
            dW.update(repeating: 0, count: outChannels * k)
            return
        }
        let shape = groupShape
        let (chunks, workspaceCount, count) = (imageChunks, kernels.workspaceCount(shape), kernels.accumulatorCount(shape))
        let workspace = Tensor(uninitialized: [chunks * workspaceCount], dtype: .float32)
        let accumulators = Tensor(uninitialized: [chunks, groups, count], dtype: .float32)
        let (ws, acc) = (workspace.pointer(Float.self), accumulators.pointer(Float.self))
        acc.update(repeating: 0, count: chunks * groups * count)
        withExtendedLifetime((workspace, accumulators)) {
            forEachChunk(chunks) { chunk, images in
                for n in images {
                    for g in 0..<groups {
                        kernels.weightGradient(image: image + (n * groups + g) * groupChannels * imagePlane,
                                               gradient: output + (n * groups + g) * og * outPlane, shape,
                                               accumulator: acc + (chunk * groups + g) * count,
                                               workspace: ws + chunk * workspaceCount)
                    }
                }
            }
            for chunk in 0..<chunks {
                for g in 0..<groups {
                    kernels.finishWeightGradient(accumulator: acc + (chunk * groups + g) * count, shape,
                                                 into: dW + g * og * k, accumulate: chunk > 0)
                }
            }
        }
    }
}

extension ConvGeometry {
    // MARK: On tensors: one contiguous buffer each, of one float dtype

    /// `correlate` into `output`: Float32 on the C kernels of the level in use, Float64 on BLAS.
    func correlate(image: Tensor, weight: Tensor, bias: Tensor?, output: Tensor, op: String) {
        switch image.dtype {
        case .float32:
            correlate(.selected, image: image.pointer(Float.self), weight: weight.pointer(Float.self),
                      bias: bias.map { UnsafePointer($0.pointer(Float.self)) }, output: output.pointer(Float.self))
        case .float64:
            correlate(image: image.pointer(Double.self), weight: weight.pointer(Double.self),
                      bias: bias?.pointer(Double.self), output: output.pointer(Double.self))
        default: unsupported(op, image.dtype)
        }
    }

    /// `scatter` into `image`: Float32 on the C kernels of the level in use, Float64 on BLAS.
    func scatter(output: Tensor, weight: Tensor, bias: Tensor?, image: Tensor, op: String) {
        switch output.dtype {
        case .float32:
            scatter(.selected, output: output.pointer(Float.self), weight: weight.pointer(Float.self),
                    bias: bias.map { UnsafePointer($0.pointer(Float.self)) }, image: image.pointer(Float.self))
        case .float64:
            scatter(output: output.pointer(Double.self), weight: weight.pointer(Double.self),
                    bias: bias?.pointer(Double.self), image: image.pointer(Double.self))
        default: unsupported(op, output.dtype)
        }
    }

    /// `weightGradient` into `dW`: Float32 on the C kernels of the level in use, Float64 on BLAS.
    func weightGradient(image: Tensor, output: Tensor, into dW: Tensor, op: String) {
        switch image.dtype {
        case .float32:
            weightGradient(.selected, image: image.pointer(Float.self), output: output.pointer(Float.self),
                           into: dW.pointer(Float.self))
        case .float64:
            weightGradient(image: image.pointer(Double.self), output: output.pointer(Double.self),
                           into: dW.pointer(Double.self))
        default: unsupported(op, image.dtype)
        }
    }
}

extension Tensor {
    /// 2-D convolution (cross-correlation), as `torch.nn.functional.conv2d`:
    /// `out[n, o, i, j] = b[o] + Σ_{c ∈ group(o), p, q} W[o, c, p, q] · x[n, c, i·sh − ph + p·dh, j·sw − pw + q·dw]`.
    ///
    /// `input [N, C, H, W]` (or unbatched `[C, H, W]`), `weight [O, C/groups, kh, kw]`, `bias [O]`
    /// → `[N, O, Ho, Wo]` with `Ho = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1` (likewise `Wo`).
    ///
    /// Forward, per image: the `[C·kh·kw, Ho·Wo]` columns times the weight, per group, onto the bias. Backward:
    /// `dW = Σ_n g_n · colsₙᵀ` (the columns rebuilt from the input), `dx = col2im(Wᵀ · g_n)`, `db = Σ g`, each
    /// only when needed. Float32 runs the C kernels, which build the columns in cache panel by panel.
    public static func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                              padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        if input.rank == 3 {
            return conv2d(input.unsqueezed(0), weight: weight, bias: bias, stride: stride, padding: padding,
                          dilation: dilation, groups: groups).squeezed(0)
        }
        require(input.rank == 4 && weight.rank == 4,
                     "conv2d: input \(input.shape) must be [N, C, H, W] and weight \(weight.shape) [O, C/groups, kh, kw]")
        checkConvolutionArguments("conv2d", input: input, weight: weight, bias: bias, stride: stride,
                                  padding: padding, dilation: dilation, groups: groups)
        let (n, c, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (o, kh, kw) = (weight.shape[0], weight.shape[2], weight.shape[3])
        require(c % groups == 0 && o % groups == 0,
                     "conv2d: input channels \(c) (input \(input.shape)) and output channels \(o) (weight \(weight.shape)) must both be divisible by groups = \(groups)")
        require(weight.shape[1] == c / groups,
                     "conv2d: input \(input.shape) has \(c) channels, so weight \(weight.shape) needs \(c / groups) (= C/groups) in dim 1")
        require(bias == nil || bias!.shape == [o], "conv2d: bias \(bias!.shape) does not match weight \(weight.shape) (needs [\(o)])")
        let size = try? (ShapeArithmetic.windowOutputSize(h, kernel: kh, stride: stride.0, padding: padding.0, dilation: dilation.0),
                         ShapeArithmetic.windowOutputSize(w, kernel: kw, stride: stride.1, padding: padding.1, dilation: dilation.1))
        require(size != nil,
                     "conv2d: input \(input.shape) padded by \(padding) is smaller than weight \(weight.shape)'s kernel dilated by \(dilation), or its size overflows")
        let (ho, wo) = size!
        let geometry = ConvGeometry(batch: n, channels: c, height: h, width: w, outChannels: o, outHeight: ho, outWidth: wo,
                                    kernel: (kh, kw), stride: stride, padding: padding, dilation: dilation, groups: groups)

        let x = input.detached().contiguousData()     // [N, C, H, W]
        let wt = weight.detached().contiguousData()   // [O, Cg, kh, kw] = [O, K]
        let b = bias?.detached().contiguousData()     // [O]
        let needsInputGradient = input.isTracked, needsWeightGradient = weight.isTracked
        let needsBiasGradient = bias?.isTracked ?? false
        let out = Tensor(uninitialized: [n, o, ho, wo], dtype: input.dtype)
        geometry.correlate(image: x, weight: wt, bias: b, output: out, op: "conv2d")

        let inputs = [input, weight] + (bias.map { [$0] } ?? [])
        return differentiable("conv2d", inputs: inputs, output: out) { g in   // g: [N, O, Ho, Wo]
            let gc = g.contiguousData()
            var dx: Tensor?, dW: Tensor?
            if needsInputGradient {   // dx = col2im(Wᵀ · g_n)   [N, C, H, W]
                dx = Tensor(uninitialized: x.shape, dtype: x.dtype)
                geometry.scatter(output: gc, weight: wt, bias: nil, image: dx!, op: "conv2d backward")
            }
            if needsWeightGradient {  // dW = Σ_n g_n · colsₙᵀ   [O, K]
                dW = Tensor(uninitialized: wt.shape, dtype: wt.dtype)
                geometry.weightGradient(image: x, output: gc, into: dW!, op: "conv2d backward")
            }
            return [dx, dW] + (bias == nil ? [] : [needsBiasGradient ? gc.sum(dims: [0, 2, 3]) : nil])   // db = Σ_{n,i,j} g  [O]
        }
    }

    /// 1-D convolution, as `torch.nn.functional.conv1d`: `conv2d` on the input viewed with height 1.
    ///
    /// `input [N, C, L]` (or unbatched `[C, L]`), `weight [O, C/groups, k]`, `bias [O]` → `[N, O, Lo]` with
    /// `Lo = ⌊(L + 2·padding − dilation·(k − 1) − 1) / stride⌋ + 1`.
    public static func conv1d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                              dilation: Int = 1, groups: Int = 1) -> Tensor {
        require((input.rank == 3 || input.rank == 2) && weight.rank == 3,
                     "conv1d: input \(input.shape) must be [N, C, L] or [C, L] and weight \(weight.shape) [O, C/groups, k]")
        let c = input.shape[input.rank - 2]
        require(groups >= 1 && c % groups == 0 && weight.shape[1] * groups == c,
                     "conv1d: input \(input.shape) has \(c) channels but weight \(weight.shape) with groups = \(groups) expects \(weight.shape[1] * groups)")
        let unbatched = input.rank == 2
        let x = unbatched ? input.unsqueezed(0) : input
        let out = conv2d(x.unsqueezed(2), weight: weight.unsqueezed(2), bias: bias, stride: (1, stride),
                         padding: (0, padding), dilation: (1, dilation), groups: groups).squeezed(2)
        return unbatched ? out.squeezed(0) : out
    }

    /// 2-D transposed convolution, as `torch.nn.functional.conv_transpose2d`: the adjoint (input gradient)
    /// of `conv2d` with the same weight, plus a bias.
    ///
    /// `input [N, C_in, H, W]` (or unbatched), `weight [C_in, C_out/groups, kh, kw]`, `bias [C_out]`
    /// → `[N, C_out, Ho, Wo]` with `Ho = (H − 1)·sh − 2·ph + dh·(kh − 1) + oph + 1` (likewise `Wo`).
    /// `outputPadding` adds rows/columns at the bottom/right and must be smaller than the stride or the dilation.
    ///
    /// Forward, per image: `Wᵀ · x` per group into columns, col2im onto the output planes (which start as the
    /// bias). Backward: `dx = W ⋆ g` (the columns of the gradient times the weight), `dW = Σ_n x_n · cols(g_n)ᵀ`,
    /// `db = Σ g`.
    public static func convTranspose2d(_ input: Tensor, weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                                       padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0),
                                       dilation: (Int, Int) = (1, 1), groups: Int = 1) -> Tensor {
        if input.rank == 3 {
            return convTranspose2d(input.unsqueezed(0), weight: weight, bias: bias, stride: stride, padding: padding,
                                   outputPadding: outputPadding, dilation: dilation, groups: groups).squeezed(0)
        }
        require(input.rank == 4 && weight.rank == 4,
                     "convTranspose2d: input \(input.shape) must be [N, C_in, H, W] and weight \(weight.shape) [C_in, C_out/groups, kh, kw]")
        checkConvolutionArguments("convTranspose2d", input: input, weight: weight, bias: bias, stride: stride,
                                  padding: padding, dilation: dilation, groups: groups)
        let (n, cin, h, w) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (kh, kw) = (weight.shape[2], weight.shape[3])
        let cout = weight.shape[1] * groups
        require(cin % groups == 0,
                     "convTranspose2d: input channels \(cin) (input \(input.shape)) must be divisible by groups = \(groups)")
        require(weight.shape[0] == cin,
                     "convTranspose2d: input \(input.shape) has \(cin) channels but weight \(weight.shape) has \(weight.shape[0]) in dim 0 ([C_in, C_out/groups, kh, kw])")
        require(bias == nil || bias!.shape == [cout],
                     "convTranspose2d: bias \(bias!.shape) does not match weight \(weight.shape) with groups = \(groups) (needs [\(cout)])")
        require(outputPadding.0 >= 0 && outputPadding.1 >= 0
                     && (outputPadding.0 < stride.0 || outputPadding.0 < dilation.0)
                     && (outputPadding.1 < stride.1 || outputPadding.1 < dilation.1),
                     "convTranspose2d: output padding \(outputPadding) must be smaller than either stride \(stride) or dilation \(dilation)")
        let size = try? (ShapeArithmetic.transposedWindowOutputSize(h, kernel: kh, stride: stride.0, padding: padding.0,
                                                                     outputPadding: outputPadding.0, dilation: dilation.0),
                         ShapeArithmetic.transposedWindowOutputSize(w, kernel: kw, stride: stride.1, padding: padding.1,
                                                                     outputPadding: outputPadding.1, dilation: dilation.1))
        require(size != nil,
                     "convTranspose2d: input \(input.shape) with weight \(weight.shape), stride \(stride), padding \(padding) gives an empty output, or its size overflows")
        let (ho, wo) = size!
        // The convolution this is the adjoint of: image side = this op's output, output side = its input.
        let geometry = ConvGeometry(batch: n, channels: cout, height: ho, width: wo, outChannels: cin, outHeight: h, outWidth: w,
                                    kernel: (kh, kw), stride: stride, padding: padding, dilation: dilation, groups: groups)

        let x = input.detached().contiguousData()     // [N, C_in, H, W]
        let wt = weight.detached().contiguousData()   // [C_in, C_out/G, kh, kw] = [O, K] of the convolution
        let b = bias?.detached().contiguousData()     // [C_out]
        let needsInputGradient = input.isTracked, needsWeightGradient = weight.isTracked
        let needsBiasGradient = bias?.isTracked ?? false
        let out = Tensor(uninitialized: [n, cout, ho, wo], dtype: input.dtype)
        geometry.scatter(output: x, weight: wt, bias: b, image: out, op: "convTranspose2d")

        let inputs = [input, weight] + (bias.map { [$0] } ?? [])
        return differentiable("convTranspose2d", inputs: inputs, output: out) { g in   // g: [N, C_out, Ho, Wo]
            let gc = g.contiguousData()
            var dx: Tensor?, dW: Tensor?
            if needsInputGradient {   // dx = W ⋆ g   [N, C_in, H, W]
                dx = Tensor(uninitialized: x.shape, dtype: x.dtype)
                geometry.correlate(image: gc, weight: wt, bias: nil, output: dx!, op: "convTranspose2d backward")
            }
            if needsWeightGradient {  // dW = Σ_n x_n · cols(g_n)ᵀ   [C_in, K]
                dW = Tensor(uninitialized: wt.shape, dtype: wt.dtype)
                geometry.weightGradient(image: gc, output: x, into: dW!, op: "convTranspose2d backward")
            }
            return [dx, dW] + (bias == nil ? [] : [needsBiasGradient ? gc.sum(dims: [0, 2, 3]) : nil])   // db = Σ g  [C_out]
        }
    }

    /// The checks conv2d and convTranspose2d share: dtypes, and positive stride, dilation and groups.
    private static func checkConvolutionArguments(_ op: String, input: Tensor, weight: Tensor, bias: Tensor?,
                                                  stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int), groups: Int) {
        require(input.dtype == weight.dtype && (bias == nil || bias!.dtype == input.dtype),
                     "\(op): input \(input.shape) (\(input.dtype)), weight \(weight.shape) (\(weight.dtype))\(bias.map { " and bias \($0.shape) (\($0.dtype))" } ?? "") must share one dtype")
        require(stride.0 >= 1 && stride.1 >= 1 && dilation.0 >= 1 && dilation.1 >= 1 && padding.0 >= 0 && padding.1 >= 0,
                     "\(op): stride \(stride) and dilation \(dilation) must be positive and padding \(padding) non-negative (input \(input.shape), weight \(weight.shape))")
        require(groups >= 1, "\(op): groups must be positive, got \(groups) (input \(input.shape), weight \(weight.shape))")
        require(weight.shape[2] >= 1 && weight.shape[3] >= 1, "\(op): weight \(weight.shape) has an empty kernel (input \(input.shape))")
    }
}
