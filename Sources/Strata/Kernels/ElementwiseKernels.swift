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
}

/// Elements per thread below which a transcendental kernel stays on one core. Lower than
/// `elementwiseGrain`: these cost tens of operations per element.
let transcendentalGrain = 16_384
