/// The affine map of a fully connected layer as one op, so the bias is written in the same pass that
/// prepares gemm's output instead of as a separate broadcast add.
///
/// Shapes: `N` = rows (all leading dims of the input flattened), `I` = in features, `O` = out features.
extension Tensor {
    /// `y = x · Wᵀ + b`: `x [..., I]`, `weight [O, I]`, `bias [O]` → `[..., O]`.
    ///
    /// Forward: every output row starts as a copy of `b`, then one gemm adds `x · Wᵀ` into it (`beta = 1`),
    /// with `W` read through gemm's transpose flag.
    public static func linear(_ input: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        require(weight.rank == 2 && input.rank >= 1 && input.shape[input.rank - 1] == weight.shape[1],
                     "linear: input \(input.shape) does not match weight \(weight.shape) ([out, in])")
        require(bias == nil || bias!.shape == [weight.shape[0]],
                     "linear: bias \(bias!.shape) does not match weight \(weight.shape)")
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        let leading = Array(input.shape.dropLast())
        let x = input.detached().reshaped([leading.reduce(1, *), inFeatures]).contiguousData()   // [N, I] (no -1: I may be 0)
        let w = weight.detached().contiguousData()                              // [O, I]
        let b = bias?.detached().contiguousData()                               // [O]
        let rows = x.shape[0]
        let out = Tensor(uninitialized: [rows, outFeatures], dtype: input.dtype)
        func run<T: FloatElement>(_: T.Type) {
            let y = out.pointer(T.self)
            if let b {
                let bias = b.pointer(T.self)
                for r in 0..<rows { (y + r * outFeatures).update(from: bias, count: outFeatures) }
            }
            guard rows > 0 && outFeatures > 0 else { return }
            guard inFeatures > 0 else {
                if b == nil { y.update(repeating: 0, count: rows * outFeatures) }
                return
            }
            // [N, I] · [O, I]ᵀ → [N, O], accumulated onto the bias rows.
            T.gemm(transposeA: false, transposeB: true, m: rows, n: outFeatures, k: inFeatures, alpha: 1,
                   a: x.pointer(T.self), lda: inFeatures, b: w.pointer(T.self), ldb: inFeatures,
                   beta: b == nil ? 0 : 1, c: y, ldc: outFeatures)
        }
        switch input.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported("linear", input.dtype)
        }
        let inputs = [input, weight] + (bias.map { [$0] } ?? [])
        let needsInputGradient = input.isTracked
        let result = differentiable("linear", inputs: inputs, output: out) { g in    // g: [N, O]
            [needsInputGradient ? g.matmul(w).reshaped(input.shape) : nil,         // dx = g · W     [N, I]
             g.transposed().matmul(x),                                              // dW = gᵀ · x    [O, I]
            ] + (bias == nil ? [] : [g.sum(dim: 0)])                                // db = Σ_rows g  [O]
        }
        return result.reshaped(leading + [outFeatures])
    }
}
