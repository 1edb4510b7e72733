import CStrataKernels

/// The Float32 elementwise kernels of `CStrataKernels` (Sources/CStrataKernels/elementwise): every one at the
/// full vector width of the level in use. `unaryMap` and `binaryMap` run a function through them when its
/// type names a kernel (`ParameterizedUnaryFunction.kernel`); Float64 stays on the Swift loops.

/// A Float32 kernel of one operand (`strata_map1` in strata_elementwise.h).
enum UnaryKernel: CaseIterable {
    case neg, relu, leakyRelu, exp, log, sqrt, tanh, sigmoid, erf, gelu, geluTanh, silu

    /// Whether a call costs tens of operations per element (a polynomial, an exponential), which makes
    /// smaller loops worth splitting across threads.
    var isTranscendental: Bool {
        switch self {
        case .neg, .relu, .leakyRelu, .sqrt: false
        case .exp, .log, .tanh, .sigmoid, .erf, .gelu, .geluTanh, .silu: true
        }
    }
}

/// A Float32 kernel of two operands (`strata_map2`). A gradient kernel takes the upstream gradient first,
/// then the forward input (`…GradX`) or output (`…GradY`).
enum BinaryKernel: CaseIterable {
    case add, sub, mul, div
    case reluGradX, leakyReluGradX, tanhGradY, sigmoidGradY, siluGradX, geluGradX, geluTanhGradX

    var isTranscendental: Bool {
        switch self {
        case .add, .sub, .mul, .div, .reluGradX, .leakyReluGradX, .tanhGradY, .sigmoidGradY: false
        case .siluGradX, .geluGradX, .geluTanhGradX: true
        }
    }
}

/// One level's table of elementwise kernels.
struct ElementwiseKernels: Equatable {
    let isa: KernelISA
    private let table: StrataElementwiseKernels

    /// The table of `isa`, or nil when this CPU does not run that level.
    init?(for isa: KernelISA) {
        guard let table = strata_elementwise_kernels(isa.cValue) else { return nil }
        self.isa = isa
        self.table = table.pointee
    }

    /// The table of the level in use (`Strata.instructionSet`).
    static let selected = ElementwiseKernels(for: KernelISA.selected)!

    static func == (a: ElementwiseKernels, b: ElementwiseKernels) -> Bool { a.isa == b.isa }

    func function(_ kernel: UnaryKernel) -> strata_map1 {
        let f: strata_map1? = switch kernel {
        case .neg: table.neg
        case .relu: table.relu
        case .leakyRelu: table.leaky_relu
        case .exp: table.exp
        case .log: table.log
        case .sqrt: table.sqrt
        case .tanh: table.tanh
        case .sigmoid: table.sigmoid
        case .erf: table.erf
        case .gelu: table.gelu
        case .geluTanh: table.gelu_tanh
        case .silu: table.silu
        }
        return f!
    }

    func function(_ kernel: BinaryKernel) -> strata_map2 {
        let f: strata_map2? = switch kernel {
        case .add: table.add
        case .sub: table.sub
        case .mul: table.mul
        case .div: table.div
        case .reluGradX: table.relu_grad_x
        case .leakyReluGradX: table.leaky_relu_grad_x
        case .tanhGradY: table.tanh_grad_y
        case .sigmoidGradY: table.sigmoid_grad_y
        case .siluGradX: table.silu_grad_x
        case .geluGradX: table.gelu_grad_x
        case .geluTanhGradX: table.gelu_tanh_grad_x
        }
        return f!
    }

    /// `dst[i] = f(src[i·stride]; parameter)` for `i < count`, on the calling thread.
    func run(_ kernel: UnaryKernel, _ src: UnsafePointer<Float>, stride: Int = 1, count: Int, parameter: Float = 0,
             into dst: UnsafeMutablePointer<Float>) {
        function(kernel)(src, stride, dst, count, parameter)
    }

    /// `dst[i] = f(a[i·strideA], b[i·strideB]; parameter)` for `i < count`, on the calling thread.
    func run(_ kernel: BinaryKernel, _ a: UnsafePointer<Float>, stride strideA: Int = 1, _ b: UnsafePointer<Float>,
             stride strideB: Int = 1, count: Int, parameter: Float = 0, into dst: UnsafeMutablePointer<Float>) {
        function(kernel)(a, strideA, b, strideB, dst, count, parameter)
    }

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

/// Elements per thread below which a transcendental kernel stays on one core. Lower than
/// `elementwiseGrain`: these cost tens of operations per element.
let transcendentalGrain = 16_384
