import CStrataKernels

/// The Float32 batch-normalisation kernels of `CStrataKernels` (Sources/CStrataKernels/batchnorm): statistics,
/// the affine map and the backward over `x [N, C, S]`, at the full vector width of the level. Each call covers a
/// range of channels (the sums) or of `(sample, channel)` rows (the maps), and these wrappers split that range
/// across threads. `Tensor.batchNorm` runs Float32 through them; Float64 stays on Swift loops.
struct BatchNormKernels {
    let isa: KernelISA
    private let table: StrataBatchNormKernels

    /// The table of `isa`, or nil when this CPU does not run that level.
    init?(for isa: KernelISA) {
        guard let table = strata_batchnorm_kernels(isa.cValue) else { return nil }
        self.isa = isa
        self.table = table.pointee
    }

    /// The table of the level in use (`Strata.instructionSet`).
    static let selected = BatchNormKernels(for: KernelISA.selected)!

    /// Elements per thread below which a pass stays on one core.
    private static let grain = 32_768

    /// Per-channel mean and biased variance of `x [N, C, S]` over its `N·S` elements (two passes).
    func statistics(_ x: UnsafePointer<Float>, n: Int, c: Int, s: Int, mean: UnsafeMutablePointer<Float>,
                    variance: UnsafeMutablePointer<Float>) {
        parallelFor(c, grain: max(1, Self.grain / max(n * s, 1))) { channels in
            table.stats!(x, n, c, s, channels.lowerBound, channels.upperBound, mean, variance)
        }
    }

    /// `y = (x − mean[c])·scale[c] + shift[c]` over `x [N, C, S]`.
    func affine(_ x: UnsafePointer<Float>, n: Int, c: Int, s: Int, mean: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                shift: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        parallelFor(n * c, grain: max(1, Self.grain / max(s, 1))) { rows in
            table.affine!(x, c, s, rows.lowerBound, rows.upperBound, mean, scale, shift, y)
        }
    }

    /// Per channel, `sumDy = Σ dy` and `sumDyXhat = Σ dy·(x − mean)·rstd` over `[N, C, S]`.
    func gradientSums(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, n: Int, c: Int, s: Int,
                      mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, sumDy: UnsafeMutablePointer<Float>,
                      sumDyXhat: UnsafeMutablePointer<Float>) {
        parallelFor(c, grain: max(1, Self.grain / max(n * s, 1))) { channels in
            table.grad_sums!(dy, x, n, c, s, channels.lowerBound, channels.upperBound, mean, rstd, sumDy, sumDyXhat)
        }
    }

    /// `dx = scale·(dy − meanDy − (x − mean)·rstd·meanDyXhat)` per channel over `[N, C, S]` (batch statistics), or
    /// `dx = scale·dy` when `x` is nil (running statistics, which do not depend on `x`).
    func inputGradient(_ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>?, n: Int, c: Int, s: Int,
                       mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, scale: UnsafePointer<Float>,
                       meanDy: UnsafePointer<Float>, meanDyXhat: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        parallelFor(n * c, grain: max(1, Self.grain / max(s, 1))) { rows in
            table.grad_input!(dy, x, c, s, rows.lowerBound, rows.upperBound, mean, rstd, scale, meanDy, meanDyXhat, dx)
        }
    }
}
