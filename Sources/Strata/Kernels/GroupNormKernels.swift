import CStrataKernels

/// Group normalisation's statistics, forward and backward over a contiguous `[N, C, S]` buffer, Float32, at
/// the full width of the level in use (Sources/CStrataKernels/groupnorm). Layer norm over `[M, K]` is its
/// `N = M`, `C = K`, `S = 1`, `G = 1` case. `Tensor.layerNorm` and `Tensor.groupNorm` run Float32 through these;
/// Float64 stays on their Swift loops (Ops/Normalization.swift), which the gradchecks use.

/// One level's table of group-norm kernels (strata_groupnorm.h).
struct GroupNormKernels: Equatable {
    let isa: KernelISA
    private let table: StrataGroupNormKernels

    /// The table of `isa`, or nil when this CPU does not run that level.
    init?(for isa: KernelISA) {
        guard let table = strata_groupnorm_kernels(isa.cValue) else { return nil }
        self.isa = isa
        self.table = table.pointee
    }

    /// The table of the level in use (`Strata.instructionSet`).
    static let selected = GroupNormKernels(for: KernelISA.selected)!

    static func == (a: GroupNormKernels, b: GroupNormKernels) -> Bool { a.isa == b.isa }

    /// Normalises `blocks` consecutive blocks of `channels·s` floats, block `b` being group `(group0 + b) mod
    /// groups` of its sample, and writes each block's mean and rstd (strata_group_norm_forward). On the calling
    /// thread.
    func forwardBlocks(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?,
                       blocks: Int, group0: Int, groups: Int, channels: Int, s: Int, eps: Float,
                       into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
                       rstd: UnsafeMutablePointer<Float>) {
        table.forward(x, y, gamma, beta, blocks, group0, groups, channels, s, eps, mean, rstd)
    }

    /// dx of the same blocks from the upstream `g`, and `Σ g·x̂`, `Σ g` added into `dgamma`, `dbeta`
    /// (`groups·channels` floats each; strata_group_norm_backward). On the calling thread.
    func backwardBlocks(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>?,
                        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, blocks: Int, group0: Int, groups: Int,
                        channels: Int, s: Int, dx: UnsafeMutablePointer<Float>, dgamma: UnsafeMutablePointer<Float>,
                        dbeta: UnsafeMutablePointer<Float>) {
        table.backward(g, x, gamma, mean, rstd, blocks, group0, groups, channels, s, dx, dgamma, dbeta)
    }

    /// Blocks per thread's share below which a call stays on one core.
    private static func grain(_ blockSize: Int) -> Int { max(1, 16_384 / max(blockSize, 1)) }

    /// The number of partial dγ/dβ sums `backward` needs for `blocks` blocks of `blockSize` floats: it depends
    /// only on the shape, so dγ and dβ do not depend on the thread count.
    static func partials(blocks: Int, blockSize: Int) -> Int {
        let perPart = grain(blockSize)
        return max(1, (blocks + perPart - 1) / perPart)
    }

    /// Group-norm forward over `x [N, C, S]`: per block of `C/G · S` floats the mean and rstd (`[N, G]`), then
    /// `y = (x − μ)·rstd·γ[c] + β[c]`. Blocks are split over threads.
    func forward(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>?, beta: UnsafePointer<Float>?,
                 n: Int, c: Int, s: Int, groups: Int, eps: Float, into y: UnsafeMutablePointer<Float>,
                 mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>) {
        let perGroup = c / groups, blockSize = perGroup * s
        parallelFor(n * groups, grain: Self.grain(blockSize)) { range in
            let (b, o) = (range.lowerBound, range.lowerBound * blockSize)
            forwardBlocks(x + o, gamma: gamma, beta: beta, blocks: range.count, group0: b, groups: groups,
                          channels: perGroup, s: s, eps: eps, into: y + o, mean: mean + b, rstd: rstd + b)
        }
    }

    /// Group-norm backward over `[N, C, S]`: dx, and `dγ = Σ g·x̂`, `dβ = Σ g` (`[C]` each). The blocks are cut
    /// into `partials(blocks:blockSize:)` fixed parts, each adding into its own `2·C` floats of `partials`
    /// (zeroed here), which are then summed in order.
    func backward(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>?,
                  mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>, n: Int, c: Int, s: Int, groups: Int,
                  partials: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>,
                  dgamma: UnsafeMutablePointer<Float>, dbeta: UnsafeMutablePointer<Float>) {
        let perGroup = c / groups, blockSize = perGroup * s, blocks = n * groups
        let parts = Self.partials(blocks: blocks, blockSize: blockSize)
        partials.update(repeating: 0, count: parts * 2 * c)
        parallelFor(parts, grain: 1) { range in
            for part in range {
                let first = blocks * part / parts, end = blocks * (part + 1) / parts
                let o = first * blockSize, sums = partials + part * 2 * c
                backwardBlocks(g + o, x + o, gamma: gamma, mean: mean + first, rstd: rstd + first,
                               blocks: end - first, group0: first, groups: groups, channels: perGroup, s: s,
                               dx: dx + o, dgamma: sums, dbeta: sums + c)
            }
        }
        dgamma.update(from: partials, count: c)
        dbeta.update(from: partials + c, count: c)
        for part in 1..<parts {
            let sums = partials + part * 2 * c
            for ch in 0..<c {
                dgamma[ch] += sums[ch]
                dbeta[ch] += sums[c + ch]
            }
        }
    }
}
