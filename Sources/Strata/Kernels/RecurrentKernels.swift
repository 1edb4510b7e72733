import CStrataKernels

/// The Float32 recurrent kernels of `CStrataKernels` (Sources/CStrataKernels/recurrent): the forward and
/// backward runs of an RNN, LSTM or GRU layer over a whole sequence, at the full vector width of the level in
/// use. `Tensor.recurrentLayer` runs Float32 through them; Float64 stays on its Swift loops.
///
/// Shapes: `T` steps, `B` batch, `H` hidden units, `G` = gates·H. W_hh is packed once per run (`pack`) and
/// every step multiplies by the packed panels, so nothing is repacked per step. Batch rows are independent
/// through the whole recurrence, so `chunks` threads each run a disjoint range of rows through every step,
/// with no synchronisation between steps. The operands' meanings are those of `StrataRecurrentForward` and
/// `StrataRecurrentBackward` (strata_recurrent.h).

/// The cell a recurrent kernel runs (`RecurrentCell.kernel` names it).
enum RecurrentKernel: CaseIterable {
    case rnnTanh, lstm, gru
}

/// One level's table of recurrent kernels.
struct RecurrentKernels: Equatable {
    let isa: KernelISA
    private let table: StrataRecurrentKernels

    /// The table of `isa`, or nil when this CPU does not run that level.
    init?(for isa: KernelISA) {
        guard let table = strata_recurrent_kernels(isa.cValue) else { return nil }
        self.isa = isa
        self.table = table.pointee
    }

    /// The table of the level in use (`Strata.instructionSet`).
    static let selected = RecurrentKernels(for: KernelISA.selected)!

    static func == (a: RecurrentKernels, b: RecurrentKernels) -> Bool { a.isa == b.isa }

    /// Floats `pack` writes for a `[k, n]` operand: whole panels of `panel_width` columns, `k` rows each.
    func packedCount(k: Int, n: Int) -> Int {
        let w = table.panel_width
        return (n + w - 1) / w * w * k
    }

    /// Packs the `[k, n]` operand `b`, element `(r, j)` at `b[r·rowStride + j·columnStride]`, for `product`.
    func pack(_ b: UnsafePointer<Float>, rowStride: Int, columnStride: Int, k: Int, n: Int,
              into packed: UnsafeMutablePointer<Float>) {
        table.pack(b, rowStride, columnStride, k, n, packed)
    }

    /// `c[m, n] = cin + a[m, k]·b + a2[m, k2]·b2`, `b` and `b2` packed by `pack` (`k2` 0: no second term). Rows
    /// are `ldcin`, `lda`, `lda2`, `ldc` apart (`ldcin` 0 repeats one row; `cin` nil adds nothing; `cin` may be `c`).
    func product(m: Int, n: Int, cin: UnsafePointer<Float>?, ldcin: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                 packed: UnsafePointer<Float>, k2: Int = 0, a2: UnsafePointer<Float>? = nil, lda2: Int = 0,
                 packed2: UnsafePointer<Float>? = nil, c: UnsafeMutablePointer<Float>, ldc: Int) {
        table.product(m, n, cin, ldcin, k, a, lda, packed, k2, a2, lda2, packed2, c, ldc)
    }

    /// How many row ranges to split a batch into: one per thread, as long as each range has at least four
    /// rows and 2²⁰ multiply-adds (`rows · T · G · H`), else fewer. Waking the other core costs about what
    /// 2²⁰ multiply-adds take, and it happens once per run, not once per step.
    static func chunks(_ kernel: RecurrentKernel, batch: Int, steps: Int, hidden: Int, threads: Int = KernelThreads.current) -> Int {
        let perRow = Double(steps) * Double(kernel.gateCount * hidden) * Double(hidden)
        let byWork = Double(batch) * perRow / Double(1 << 20)
        return max(1, min(threads, batch / 4, byWork >= Double(threads) ? threads : Int(byWork)))
    }

    /// Floats `forward` packs W_ih and W_hh into: `packedCount(k: I, n: G) + packedCount(k: H, n: G)`.
    func forwardPackedCount(_ kernel: RecurrentKernel, features: Int, hidden: Int) -> Int {
        let g = kernel.gateCount * hidden
        return packedCount(k: features, n: g) + packedCount(k: hidden, n: g)
    }

    /// Runs `kernel`'s forward over a sequence (operands as `StrataRecurrentForward`), rows split into `chunks`
    /// concurrent ranges. `weightIH [G, I]` and `weightHH [G, H]` are the weights as stored; they are packed
    /// here into `packed` (`forwardPackedCount` floats).
    func forward(_ kernel: RecurrentKernel, steps: Int, batch: Int, features: Int, hidden: Int, reverse: Bool,
                 input: UnsafePointer<Float>, weightIH: UnsafePointer<Float>, weightHH: UnsafePointer<Float>,
                 bias: UnsafePointer<Float>?, biasHH: UnsafePointer<Float>?, packed: UnsafeMutablePointer<Float>,
                 pre: UnsafeMutablePointer<Float>, preStep: Int, h0: UnsafePointer<Float>, c0: UnsafePointer<Float>?,
                 h: UnsafeMutablePointer<Float>, c: UnsafeMutablePointer<Float>?, cellStep: Int,
                 saved: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<Float>?, chunks: Int) {
        let g = kernel.gateCount * hidden
        let packedHH = packed + packedCount(k: features, n: g)
        pack(weightIH, rowStride: 1, columnStride: features, k: features, n: g, into: packed)  // W_ihᵀ [I, G]
        pack(weightHH, rowStride: 1, columnStride: hidden, k: hidden, n: g, into: packedHH)    // W_hhᵀ [H, G]
        let args = StrataRecurrentForward(
            steps: steps, batch: batch, features: features, hidden: hidden, reverse: reverse ? 1 : 0, input: input,
            weight_ih: packed, weight_hh: packedHH, bias: bias, bias_hh: biasHH, pre: pre, pre_step: preStep,
            h0: h0, c0: c0, h: h, c: c, c_step: cellStep, saved: saved, scratch: scratch)
        let run: strata_recurrent_forward? = switch kernel {
        case .rnnTanh: table.rnn_tanh_forward
        case .lstm: table.lstm_forward
        case .gru: table.gru_forward
        }
        withUnsafePointer(to: args) { args in parallelChunks(batch, chunks: chunks) { run!(args, $0.lowerBound, $0.upperBound) } }
    }

    /// Runs `kernel`'s backward over a sequence (operands as `StrataRecurrentBackward`), rows split into
    /// `chunks` concurrent ranges. `weight` is W_hh `[G, H]`, packed here into `packed` (`packedCount(k: G, n: H)`).
    func backward(_ kernel: RecurrentKernel, steps: Int, batch: Int, hidden: Int, reverse: Bool,
                  weight: UnsafePointer<Float>, packed: UnsafeMutablePointer<Float>, gates: UnsafePointer<Float>?,
                  h: UnsafePointer<Float>, h0: UnsafePointer<Float>, c: UnsafePointer<Float>?, c0: UnsafePointer<Float>?,
                  dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>?, dgx: UnsafeMutablePointer<Float>,
                  dgh: UnsafeMutablePointer<Float>?, dh0: UnsafeMutablePointer<Float>, chunks: Int) {
        let g = kernel.gateCount * hidden
        pack(weight, rowStride: hidden, columnStride: 1, k: g, n: hidden, into: packed)  // W_hh [G, H]
        let args = StrataRecurrentBackward(
            steps: steps, batch: batch, hidden: hidden, reverse: reverse ? 1 : 0, weight: packed, gates: gates,
            h: h, h0: h0, c: c, c0: c0, dh: dh, dc: dc, dgx: dgx, dgh: dgh, dh0: dh0)
        let run: strata_recurrent_backward? = switch kernel {
        case .rnnTanh: table.rnn_tanh_backward
        case .lstm: table.lstm_backward
        case .gru: table.gru_backward
        }
        withUnsafePointer(to: args) { args in parallelChunks(batch, chunks: chunks) { run!(args, $0.lowerBound, $0.upperBound) } }
    }
}

extension RecurrentKernel {
    /// Gate blocks per hidden unit: RNN 1, GRU 3, LSTM 4.
    var gateCount: Int {
        switch self {
        case .rnnTanh: 1
        case .gru: 3
        case .lstm: 4
        }
    }
}
