/// Softmax and log-softmax along one dimension, with fused kernels for the forward and the pullback
/// (Kernels/SoftmaxKernels.swift). The input is made contiguous and viewed as `[outer, length, inner]`, `length`
/// being the size of the normalised dimension, so any dim runs without a transpose.
extension Tensor {
    /// `exp(x − m) / Σ exp(x − m)` along `dim`, `m` the max along `dim` (so ±1e4 logits stay finite).
    /// Same shape as the input; each run along `dim` sums to 1.
    public func softmax(dim: Int) -> Tensor {
        softmaxFamily(dim: dim, log: false, op: "softmax")
    }

    /// `(x − m) − log Σ exp(x − m)` along `dim`, `m` the max along `dim`: the log of `softmax(dim:)`
    /// without its underflow (log-softmax of ±1e4 logits is exact where softmax rounds to 0).
    public func logSoftmax(dim: Int) -> Tensor {
        softmaxFamily(dim: dim, log: true, op: "logSoftmax")
    }

    /// The shared forward and fused pullback of softmax (`log == false`) and log-softmax.
    private func softmaxFamily(dim: Int, log: Bool, op: String) -> Tensor {
        let d = axis(dim, op: op)
        let (outer, length, inner) = middleSizes(d)
        let source = contiguousData()
        let out = Tensor(uninitialized: shape, dtype: dtype)
        func run<T: FloatElement>(_: T.Type) {
            softmaxMiddle(T.self, source.pointer(T.self), outer: outer, length: length, inner: inner, log: log,
                          into: out.pointer(T.self))
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported(op, dtype)
        }
        let y = out.detached()
        return Tensor.differentiable(op, inputs: [self], output: out) { g in  // g: input shape
            // softmax: y·(g − Σ g·y); log-softmax: g − exp(y)·Σ g (sums along dim).
            let upstream = g.contiguousData()
            let grad = Tensor(uninitialized: y.shape, dtype: y.dtype)
            func backward<T: FloatElement>(_: T.Type) {
                softmaxBackwardMiddle(T.self, upstream.pointer(T.self), y.pointer(T.self), outer: outer,
                                      length: length, inner: inner, log: log, into: grad.pointer(T.self))
            }
            switch y.dtype {
            case .float32: backward(Float.self)
            case .float64: backward(Double.self)
            default: unsupported(op, y.dtype)
            }
            return [grad]
        }
    }
}
