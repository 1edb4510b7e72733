// The strided drivers of the elementwise maps: they walk tensors' shapes and strides (coalesced into as few
// rows as the layout allows) and run a `Kernels/Map.swift` function, or for Float32 a `CStrataKernels` kernel
// (`Kernels/ElementwiseKernels.swift`), over each contiguous or strided row.

/// `out = f(x; p)` elementwise; `out` is contiguous with `x`'s shape. Float32 runs through `F.kernel` when
/// it names one.
func unaryMap<F: ParameterizedUnaryFunction, T: FloatElement>(_: F.Type, _: T.Type, _ x: Tensor,
                                                              parameters p: MapParameters<T> = .none, into out: Tensor) {
    if T.self == Float.self, let kernel = F.kernel {
        ElementwiseKernels.selected.map(kernel, x, parameter: unsafeBitCast(p.a, to: Float.self), into: out)
        return
    }
    let dst = out.pointer(T.self)
    let src = x.pointer(T.self)
    if x.isContiguous {
        parallelFor(x.count, grain: elementwiseGrain) { range in
            for i in range { dst[i] = F.apply(src[i], p) }
        }
        return
    }
    let (shape, strides) = Shape.coalesce(x.shape, [x.strides, out.strides])
    let n = shape[shape.count - 1]
    let xs = strides[0][strides[0].count - 1]
    Shape.forEachRow(shape, strides) { offsets in
        let s = src + offsets[0], d = dst + offsets[1]
        for i in 0..<n { d[i] = F.apply(s[i * xs], p) }
    }
}

/// `out = f(a, b; p)` elementwise with NumPy broadcasting; `out` is contiguous with the broadcast shape.
///
/// Broadcast operands are read through zero strides, never expanded into copies; a row-wise bias add
/// (`[B, N] + [N]`) runs as contiguous inner loops. Float32 runs through `F.kernel` when it names one.
func binaryMap<F: ParameterizedBinaryFunction, T: FloatElement>(_: F.Type, _: T.Type, _ a: Tensor, _ b: Tensor,
                                                                parameters p: MapParameters<T> = .none, into out: Tensor) {
    if T.self == Float.self, let kernel = F.kernel {
        ElementwiseKernels.selected.map(kernel, a, b, parameter: unsafeBitCast(p.a, to: Float.self), into: out)
        return
    }
    let dst = out.pointer(T.self)
    let pa = a.pointer(T.self), pb = b.pointer(T.self)
    if a.isContiguous && b.isContiguous && a.shape == b.shape {
        parallelFor(out.count, grain: elementwiseGrain) { range in
            for i in range { dst[i] = F.apply(pa[i], pb[i], p) }
        }
        return
    }
    let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
    let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
    let (shape, strides) = Shape.coalesce(out.shape, [sa, sb, out.strides])
    let n = shape[shape.count - 1]
    let ia = strides[0][strides[0].count - 1], ib = strides[1][strides[1].count - 1]
    Shape.forEachRow(shape, strides, grain: elementwiseGrain) { offsets in
        let x = pa + offsets[0], y = pb + offsets[1], d = dst + offsets[2]
        switch (ia, ib) {
        case (1, 1): for i in 0..<n { d[i] = F.apply(x[i], y[i], p) }
        case (1, 0): let v = y[0]; for i in 0..<n { d[i] = F.apply(x[i], v, p) }
        case (0, 1): let v = x[0]; for i in 0..<n { d[i] = F.apply(v, y[i], p) }
        default: for i in 0..<n { d[i] = F.apply(x[i * ia], y[i * ib], p) }
        }
    }
}

extension ElementwiseKernels {
    /// `out = f(x; parameter)` elementwise over a Float32 tensor of any strides into the contiguous `out`:
    /// one kernel call per thread's share of a contiguous tensor, else one per row of the strided walk.
    func map(_ kernel: UnaryKernel, _ x: Tensor, parameter: Float, into out: Tensor) {
        let f = function(kernel)
        let grain = kernel.isTranscendental ? transcendentalGrain : elementwiseGrain
        let src = x.pointer(Float.self), dst = out.pointer(Float.self)
        if x.isContiguous {
            parallelFor(x.count, grain: grain) { range in
                f(src + range.lowerBound, 1, dst + range.lowerBound, range.count, parameter)
            }
            return
        }
        let (shape, strides) = Shape.coalesce(x.shape, [x.strides, out.strides])
        let n = shape[shape.count - 1], xs = strides[0][strides[0].count - 1]
        Shape.forEachRow(shape, strides, grain: grain) { offsets in
            f(src + offsets[0], xs, dst + offsets[1], n, parameter)
        }
    }

    /// `out = f(a, b; parameter)` elementwise with NumPy broadcasting into the contiguous `out`. Broadcast
    /// operands are read through zero strides (the kernels splat a broadcast scalar), never copied.
    func map(_ kernel: BinaryKernel, _ a: Tensor, _ b: Tensor, parameter: Float, into out: Tensor) {
        let f = function(kernel)
        let grain = kernel.isTranscendental ? transcendentalGrain : elementwiseGrain
        let pa = a.pointer(Float.self), pb = b.pointer(Float.self), dst = out.pointer(Float.self)
        if a.isContiguous && b.isContiguous && a.shape == b.shape {
            parallelFor(out.count, grain: grain) { range in
                let i = range.lowerBound
                f(pa + i, 1, pb + i, 1, dst + i, range.count, parameter)
            }
            return
        }
        let sa = Shape.broadcastStrides(shape: a.shape, strides: a.strides, to: out.shape)
        let sb = Shape.broadcastStrides(shape: b.shape, strides: b.strides, to: out.shape)
        let (shape, strides) = Shape.coalesce(out.shape, [sa, sb, out.strides])
        let n = shape[shape.count - 1]
        let ia = strides[0][strides[0].count - 1], ib = strides[1][strides[1].count - 1]
        Shape.forEachRow(shape, strides, grain: grain) { offsets in
            f(pa + offsets[0], ia, pb + offsets[1], ib, dst + offsets[2], n, parameter)
        }
    }
}
