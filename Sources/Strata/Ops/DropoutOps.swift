/// Dropout, as `F.dropout`: inverted dropout, so evaluation needs no rescaling. The layer is NN/Dropout.swift.

extension Tensor {
    /// Zeroes each element with probability `p` and scales the survivors by `1/(1 − p)`, when `training`;
    /// the identity otherwise.
    ///
    /// `y = x·m/(1 − p)` with `m ~ Bernoulli(1 − p)` per element, drawn from the global generator
    /// (`Strata.seed(_:)`), so the same seed gives the same mask. `p = 1` gives zeros. The gradient is
    /// `dx = dy·m/(1 − p)`. Any shape; float32 or float64.
    public func dropout(p: Double = 0.5, training: Bool = true) -> Tensor {
        require((0...1).contains(p), "dropout: probability \(p) must be in [0, 1] (input \(shape))")
        guard training && p > 0 else { return self }
        return applyingDropoutMask(Strata.withGlobalGenerator { Tensor.dropoutMask(shape: shape, dtype: dtype, p: p, op: "dropout", generator: &$0) })
    }

    /// Dropout with the mask drawn from `generator` instead of the global one.
    public func dropout(p: Double = 0.5, training: Bool = true, generator: inout RandomGenerator) -> Tensor {
        require((0...1).contains(p), "dropout: probability \(p) must be in [0, 1] (input \(shape))")
        guard training && p > 0 else { return self }
        return applyingDropoutMask(Tensor.dropoutMask(shape: shape, dtype: dtype, p: p, op: "dropout", generator: &generator))
    }

    /// A tensor of `shape` and `dtype` holding `0` with probability `p` and `1/(1 − p)` otherwise: the mask of
    /// `dropout` and of attention's dropout. The generator is sequential, so the mask is drawn in one serial pass.
    static func dropoutMask(shape: [Int], dtype: DType, p: Double, op: String, generator: inout RandomGenerator) -> Tensor {
        let mask = Tensor(uninitialized: shape, dtype: dtype)
        let n = mask.count
        func run<T: FloatElement>(_: T.Type) {
            let mp = mask.pointer(T.self)
            let scale: T = p < 1 ? T(fromDouble: 1 / (1 - p)) : 0
            for i in 0..<n { mp[i] = generator.nextUnit() < p ? 0 : scale }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported(op, dtype)
        }
        return mask
    }

    /// `y = x·mask`, recorded with `dx = dy·mask`.
    private func applyingDropoutMask(_ mask: Tensor) -> Tensor {
        let x = detached().contiguousData()
        let out = Tensor(uninitialized: shape, dtype: dtype)
        func run<T: FloatElement>(_: T.Type) {
            let (xp, mp, yp) = (x.pointer(T.self), mask.pointer(T.self), out.pointer(T.self))
            parallelFor(count) { range in
                for i in range { yp[i] = xp[i] * mp[i] }
            }
        }
        switch dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        default: unsupported("dropout", dtype)
        }
        return Tensor.differentiable("dropout", inputs: [self], output: out) { g in [g * mask] }   // dx = dy·m/(1 − p)
    }
}
