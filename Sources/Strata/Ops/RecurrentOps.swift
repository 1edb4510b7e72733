import RealModule

/// One direction of one recurrent layer over a whole sequence, as a single differentiable op.
///
/// Shapes: `T` = time steps, `B` = batch, `I` = input features, `H` = hidden size, `G` = gates·H
/// (RNN 1, GRU 3 in the order r, z, n, LSTM 4 in the order i, f, g, o — PyTorch's layouts).
///
/// Forward, Float32: the recurrent C kernels (`RecurrentKernels`, Docs/Kernels.md) run the whole sequence. W_ih
/// and W_hh are packed once per call; each step is one product `x_t · W_ihᵀ + h · W_hhᵀ` onto the bias row (GRU:
/// the input and hidden sides apart), then the gates at full vector width; batch rows are split across threads
/// for the whole sequence. Float64, for gradient checks, runs in Swift: the input projection of all steps as
/// one gemm `[T·B, I] · W_ihᵀ → [T·B, G]`, then per step one gemm `h · W_hhᵀ` and the gates. What backward
/// needs (the activated gates, and the cell states of LSTM) is kept only when the op is recorded on the
/// tape. Backward runs back-propagation through time inside the pullback (no tape node per step, so a
/// 1,000-step sequence is one node) and forms each weight gradient with gemms over all steps at once.
public enum RecurrentCell: String, Sendable {
    /// Elman RNN with tanh, LSTM (gates i, f, g, o) or GRU (gates r, z, n).
    case rnnTanh, lstm, gru

    /// Gate blocks per hidden unit.
    public var gateCount: Int { kernel.gateCount }

    /// The C kernels that run this cell on Float32.
    var kernel: RecurrentKernel {
        switch self {
        case .rnnTanh: .rnnTanh
        case .lstm: .lstm
        case .gru: .gru
        }
    }
}

extension Tensor {
    /// Runs `cell` over `input [T, B, I]` from `h0 [B, H]` (and `c0 [B, H]` for LSTM), reversed in time if `reverse`.
    ///
    /// - Parameters: `weightIH [G, I]`, `weightHH [G, H]`, `biasIH [G]?`, `biasHH [G]?`.
    /// - Returns: `outputs [T, B, H]` (the hidden state at each step, in input order), the final hidden state
    ///   `[B, H]` and, for LSTM, the final cell state `[B, H]`.
    public static func recurrentLayer(_ cell: RecurrentCell, input: Tensor, h0: Tensor, c0: Tensor?,
                                      weightIH: Tensor, weightHH: Tensor, biasIH: Tensor?, biasHH: Tensor?,
                                      reverse: Bool = false) -> (outputs: Tensor, hidden: Tensor, cell: Tensor?) {
        recurrentLayer(cell, input: input, h0: h0, c0: c0, weightIH: weightIH, weightHH: weightHH, biasIH: biasIH,
                       biasHH: biasHH, reverse: reverse, kernels: .selected)
    }

    /// `recurrentLayer` with Float32 on the recurrent kernels of a given level (tests run every level).
    static func recurrentLayer(_ cell: RecurrentCell, input: Tensor, h0: Tensor, c0: Tensor?,
                               weightIH: Tensor, weightHH: Tensor, biasIH: Tensor?, biasHH: Tensor?,
                               reverse: Bool, kernels: RecurrentKernels) -> (outputs: Tensor, hidden: Tensor, cell: Tensor?) {
        require(input.rank == 3, "\(cell.rawValue): input must be [T, B, I], got \(input.shape)")
        let (steps, batch, features) = (input.shape[0], input.shape[1], input.shape[2])
        let hiddenSize = weightHH.shape[1]
        let g = cell.gateCount * hiddenSize
        require(weightIH.shape == [g, features] && weightHH.shape == [g, hiddenSize],
                     "\(cell.rawValue): weights \(weightIH.shape) and \(weightHH.shape) do not fit input \(input.shape) with hidden size \(hiddenSize)")
        require(h0.shape == [batch, hiddenSize], "\(cell.rawValue): h0 \(h0.shape) must be [\(batch), \(hiddenSize)]")
        require((cell == .lstm) == (c0 != nil) && (c0 == nil || c0!.shape == [batch, hiddenSize]),
                     "\(cell.rawValue): c0 \(c0?.shape ?? []) must be [\(batch), \(hiddenSize)] for LSTM and absent otherwise")
        require(steps > 0, "\(cell.rawValue): the sequence must have at least one step, got input \(input.shape)")

        let inputs = [input, h0] + (c0.map { [$0] } ?? []) + [weightIH, weightHH] + [biasIH, biasHH].compactMap { $0 }
        let recording = GradMode.isEnabled && inputs.contains(where: \.isTracked)
        let x = input.detached().contiguousData()
        let wih = weightIH.detached().contiguousData(), whh = weightHH.detached().contiguousData()
        let bih = biasIH?.detached().contiguousData(), bhh = biasHH?.detached().contiguousData()
        let hStart = h0.detached().contiguousData(), cStart = c0?.detached().contiguousData()
        let rows = steps * batch, stateSize = batch * hiddenSize

        // Packed result: outputs [T, B, H], then the final cell state [B, H] for LSTM.
        let packed = Tensor(uninitialized: [steps + (cell == .lstm ? 1 : 0), batch, hiddenSize], dtype: input.dtype)
        // Saved for backward: LSTM's activated gates [T, B, 4H] and cell states [T, B, H], GRU's r, z, n and
        // W_hn·h + b_hn [T, B, 4H]; RNN needs only its outputs. Float32 keeps them only when the op is recorded.
        let gates: Tensor?, cells: Tensor?
        switch input.dtype {
        case .float32:
            // The pre-activations: of every step when they become LSTM's saved gates, else of one step, reused.
            let pre = Tensor(uninitialized: recording && cell == .lstm ? [steps, batch, g] : [batch, g], dtype: .float32)
            switch (cell, recording) {
            case (.lstm, true): (gates, cells) = (pre, Tensor(uninitialized: [steps, batch, hiddenSize], dtype: .float32))
            case (.gru, true): (gates, cells) = (Tensor(uninitialized: [steps, batch, 4 * hiddenSize], dtype: .float32), nil)
            default: (gates, cells) = (nil, nil)
            }
            // The bias added to the input side: b_ih + b_hh, or b_ih alone for GRU (whose b_hh is gated).
            let bias = cell == .gru ? bih : bih.map { b in bhh.map { b + $0 } ?? b } ?? bhh
            let weights = Tensor(uninitialized: [kernels.forwardPackedCount(cell.kernel, features: features, hidden: hiddenSize)],
                                 dtype: .float32)
            let scratch = cell == .gru ? Tensor(uninitialized: [batch, g], dtype: .float32) : nil
            let out = packed.pointer(Float.self)
            // Inference keeps one cell state, updated in place where the final one goes.
            let c = cell == .lstm ? (cells?.pointer(Float.self) ?? out + steps * stateSize) : nil
            kernels.forward(cell.kernel, steps: steps, batch: batch, features: features, hidden: hiddenSize, reverse: reverse,
                            input: x.pointer(Float.self), weightIH: wih.pointer(Float.self), weightHH: whh.pointer(Float.self),
                            bias: bias?.pointer(Float.self), biasHH: cell == .gru ? bhh?.pointer(Float.self) : nil,
                            packed: weights.pointer(Float.self), pre: pre.pointer(Float.self),
                            preStep: pre.rank == 3 ? batch * g : 0, h0: hStart.pointer(Float.self),
                            c0: cStart?.pointer(Float.self), h: out, c: c, cellStep: cells == nil ? 0 : stateSize,
                            saved: cell == .gru ? gates?.pointer(Float.self) : nil, scratch: scratch?.pointer(Float.self),
                            chunks: RecurrentKernels.chunks(cell.kernel, batch: batch, steps: steps, hidden: hiddenSize))
            if let cells {
                (out + steps * stateSize).update(from: cells.pointer(Float.self) + (reverse ? 0 : steps - 1) * stateSize,
                                                 count: stateSize)
            }
            withExtendedLifetime((pre, bias, weights, scratch)) {}
        case .float64:
            // The input projection of every step, [T, B, G]: x·W_ihᵀ plus b_ih (and b_hh where it is not gated).
            // The steps add h·W_hhᵀ to it in place, and LSTM replaces the sums with the activated gates.
            let projection = Tensor(uninitialized: [steps, batch, g], dtype: .float64)
            let xp = projection.pointer(Double.self)
            fillRows(xp, rows: rows, width: g, first: bih?.pointer(Double.self), second: cell == .gru ? nil : bhh?.pointer(Double.self))
            Double.gemm(transposeA: false, transposeB: true, m: rows, n: g, k: features, alpha: 1, a: x.pointer(Double.self),
                        lda: features, b: wih.pointer(Double.self), ldb: features, beta: 1, c: xp, ldc: g)
            switch cell {
            case .rnnTanh: (gates, cells) = (nil, nil)
            case .lstm: (gates, cells) = (projection, Tensor(uninitialized: [steps, batch, hiddenSize], dtype: .float64))
            case .gru: (gates, cells) = (Tensor(uninitialized: [steps, batch, 4 * hiddenSize], dtype: .float64), nil)
            }
            referenceForward(Double.self, cell, steps: steps, batch: batch, hidden: hiddenSize, reverse: reverse,
                             projection: projection, weightHH: whh, biasHH: bhh, h0: hStart, c0: cStart, packed: packed,
                             gates: gates, cells: cells)
        default: unsupported(cell.rawValue, input.dtype)
        }

        let needsInputGradient = input.isTracked
        let result = differentiable(cell.rawValue, inputs: inputs, output: packed) { gradient in
            let dPacked = gradient.contiguousData()
            let dGx = Tensor(uninitialized: [steps, batch, g], dtype: x.dtype)
            let dGh = cell == .gru ? Tensor(uninitialized: [steps, batch, g], dtype: x.dtype) : dGx
            let dh0 = Tensor(uninitialized: [batch, hiddenSize], dtype: x.dtype)
            let dc0 = cell == .lstm ? Tensor(uninitialized: [batch, hiddenSize], dtype: x.dtype) : nil
            switch x.dtype {
            case .float32:
                // The cell-state gradient starts as that of the final cell state; the run turns it into dc0's.
                dc0?.pointer(Float.self).update(from: dPacked.pointer(Float.self) + steps * stateSize, count: stateSize)
                let weight = Tensor(uninitialized: [kernels.packedCount(k: g, n: hiddenSize)], dtype: .float32)
                kernels.backward(cell.kernel, steps: steps, batch: batch, hidden: hiddenSize, reverse: reverse,
                                 weight: whh.pointer(Float.self), packed: weight.pointer(Float.self),
                                 gates: gates?.pointer(Float.self), h: packed.pointer(Float.self), h0: hStart.pointer(Float.self),
                                 c: cells?.pointer(Float.self), c0: cStart?.pointer(Float.self), dh: dPacked.pointer(Float.self),
                                 dc: dc0?.pointer(Float.self), dgx: dGx.pointer(Float.self),
                                 dgh: cell == .gru ? dGh.pointer(Float.self) : nil, dh0: dh0.pointer(Float.self),
                                 chunks: RecurrentKernels.chunks(cell.kernel, batch: batch, steps: steps, hidden: hiddenSize))
                withExtendedLifetime(weight) {}
            default:
                referenceBackward(Double.self, cell, steps: steps, batch: batch, hidden: hiddenSize, reverse: reverse,
                                  weightHH: whh, packed: packed, dPacked: dPacked, h0: hStart, c0: cStart, gates: gates,
                                  cells: cells, dGx: dGx, dGh: dGh, dh0: dh0, dc0: dc0)
            }
            let dGxRows = dGx.reshaped([rows, g]), dGhRows = dGh.reshaped([rows, g])
            var grads: [Tensor?] = [
                needsInputGradient ? dGxRows.matmul(wih).reshaped([steps, batch, features]) : nil,  // dX = dGx · W_ih   [T·B, I]
                dh0,
            ]
            if cell == .lstm { grads.append(dc0) }
            grads.append(dGxRows.transposed().matmul(x.reshaped([rows, features])))                // dW_ih = dGxᵀ · X    [G, I]
            grads.append(hiddenWeightGradient(dGh: dGh, outputs: packed, h0: hStart, steps: steps, reverse: reverse))
            // db_ih = Σ dGx, db_hh = Σ dGh over the rows: the same sum unless GRU (a copy: each bias owns its gradient).
            let dbIH = biasIH != nil ? dGxRows.sum(dim: 0) : nil
            if let dbIH { grads.append(dbIH) }
            if biasHH != nil { grads.append(cell == .gru || dbIH == nil ? dGhRows.sum(dim: 0) : dbIH!.clone()) }
            return grads
        }
        let outputs = result.slice(0, 0..<steps)
        let hidden = result.select(0, reverse ? 0 : steps - 1)
        return (outputs, hidden, cell == .lstm ? result.select(0, steps) : nil)
    }
}

/// `dW_hh = Σ_t dG_h[t]ᵀ · h_{t−1}` `[G, H]`, from `dGh [T, B, G]` and the hidden states where they are stored:
/// one gemm `[G, (T−1)·B] · [(T−1)·B, H]` over the steps whose `h_{t−1}` is an output (read in place from
/// `outputs [T(+1), B, H]`), and one `[G, B] · [B, H]` for the first step of the run, whose `h_{t−1}` is `h0`.
private func hiddenWeightGradient(dGh: Tensor, outputs: Tensor, h0: Tensor, steps: Int, reverse: Bool) -> Tensor {
    let (batch, g, hidden) = (dGh.shape[1], dGh.shape[2], h0.shape[1])
    let dW = Tensor(uninitialized: [g, hidden], dtype: dGh.dtype)
    func run<T: FloatElement>(_: T.Type) {
        let d = dGh.pointer(T.self), out = outputs.pointer(T.self), w = dW.pointer(T.self)
        let first = reverse ? steps - 1 : 0
        T.gemm(transposeA: true, transposeB: false, m: g, n: hidden, k: batch, alpha: 1, a: d + first * batch * g, lda: g,
               b: h0.pointer(T.self), ldb: hidden, beta: 0, c: w, ldc: hidden)
        guard steps > 1 else { return }
        // Forward, steps 1 ..< T read outputs 0 ..< T − 1; reverse, steps 0 ..< T − 1 read outputs 1 ..< T.
        let (dStart, outStart) = reverse ? (0, 1) : (1, 0)
        T.gemm(transposeA: true, transposeB: false, m: g, n: hidden, k: (steps - 1) * batch, alpha: 1,
               a: d + dStart * batch * g, lda: g, b: out + outStart * batch * hidden, ldb: hidden, beta: 1, c: w, ldc: hidden)
    }
    switch dGh.dtype {
    case .float32: run(Float.self)
    default: run(Double.self)
    }
    return dW
}

/// The Float64 forward steps: per step one gemm `h · W_hhᵀ` and a scalar gate loop. Writes the outputs (and
/// LSTM's final cell state) into `packed`, and `gates` and `cells` as `recurrentLayer` describes them.
private func referenceForward<T: FloatElement>(_: T.Type, _ cell: RecurrentCell, steps: Int, batch: Int, hidden: Int,
                                               reverse: Bool, projection: Tensor, weightHH: Tensor, biasHH: Tensor?,
                                               h0: Tensor, c0: Tensor?, packed: Tensor, gates: Tensor?, cells: Tensor?) {
    let g = cell.gateCount * hidden, stateSize = batch * hidden
    let savedWidth = cell == .gru ? 4 * hidden : g
    let hh = Tensor(uninitialized: [batch, g], dtype: projection.dtype)
    defer { withExtendedLifetime(hh) {} }
    let hp = hh.pointer(T.self), xp = projection.pointer(T.self), whh = weightHH.pointer(T.self)
    let out = packed.pointer(T.self), saved = gates?.pointer(T.self), cp = cells?.pointer(T.self)
    var hPrev = UnsafePointer(h0.pointer(T.self))
    var cPrev = c0.map { UnsafePointer($0.pointer(T.self)) }
    for s in 0..<steps {
        let t = reverse ? steps - 1 - s : s
        // [B, H] · [G, H]ᵀ → [B, G]
        fillRows(hp, rows: batch, width: g, first: cell == .gru ? biasHH?.pointer(T.self) : nil, second: nil)
        T.gemm(transposeA: false, transposeB: true, m: batch, n: g, k: hidden, alpha: 1, a: hPrev, lda: hidden,
               b: whh, ldb: hidden, beta: 1, c: hp, ldc: g)
        let h = out + t * stateSize, xt = xp + t * batch * g
        switch cell {
        case .rnnTanh: rnnStep(xt, hp, h, count: stateSize)
        case .lstm: lstmStep(xt, hp, cPrev!, cp! + t * stateSize, h, batch: batch, hidden: hidden)
        case .gru: gruStep(xt, hp, hPrev, h, saved! + t * batch * savedWidth, batch: batch, hidden: hidden)
        }
        hPrev = UnsafePointer(h)
        cPrev = cp.map { UnsafePointer($0 + t * stateSize) }
    }
    if let cPrev { (out + steps * stateSize).update(from: cPrev, count: stateSize) }
}

/// The Float64 backward steps: the scalar gate gradients and one gemm per step, `dG_h · W_hh`.
private func referenceBackward<T: FloatElement>(_: T.Type, _ cell: RecurrentCell, steps: Int, batch: Int, hidden: Int,
                                                reverse: Bool, weightHH: Tensor, packed: Tensor, dPacked: Tensor,
                                                h0: Tensor, c0: Tensor?, gates: Tensor?, cells: Tensor?, dGx: Tensor,
                                                dGh: Tensor, dh0: Tensor, dc0: Tensor?) {
    let g = cell.gateCount * hidden, stateSize = batch * hidden
    let savedWidth = cell == .gru ? 4 * hidden : g
    let out = packed.pointer(T.self), h0p = h0.pointer(T.self), whh = weightHH.pointer(T.self)
    let dOut = dPacked.pointer(T.self), saved = gates?.pointer(T.self)
    let dgx = dGx.pointer(T.self), dgh = dGh.pointer(T.self)
    let dhScratch = Tensor(uninitialized: [batch, hidden], dtype: dGx.dtype)
    defer { withExtendedLifetime(dhScratch) {} }
    let dh = dhScratch.pointer(T.self)
    let dc = dc0?.pointer(T.self)
    let dhNext = dh0.pointer(T.self)
    dhNext.update(repeating: 0, count: stateSize)
    if let dc { dc.update(from: dOut + steps * stateSize, count: stateSize) }
    for s in 0..<steps {
        let t = reverse ? s : steps - 1 - s
        let isFirst = t == (reverse ? steps - 1 : 0)            // the first step of the forward run
        let before = reverse ? t + 1 : t - 1
        for i in 0..<stateSize { dh[i] = dOut[t * stateSize + i] + dhNext[i] }
        switch cell {
        case .rnnTanh:
            rnnStepBackward(dh, out + t * stateSize, dgx + t * batch * g, count: stateSize)
        case .lstm:
            let c = cells!.pointer(T.self)
            let cPrev = isFirst ? c0!.pointer(T.self) : c + before * stateSize
            lstmStepBackward(dh, dc!, saved! + t * batch * savedWidth, c + t * stateSize, cPrev, dgx + t * batch * g,
                             batch: batch, hidden: hidden)
        case .gru:
            let hPrev = isFirst ? h0p : out + before * stateSize
            gruStepBackward(dh, saved! + t * batch * savedWidth, hPrev, dgx + t * batch * g, dgh + t * batch * g, dhNext,
                            batch: batch, hidden: hidden)
        }
        // dh_{t−1} (+)= dG_h · W_hh: [B, G] · [G, H] → [B, H]; GRU already wrote its direct z-path term.
        T.gemm(transposeA: false, transposeB: false, m: batch, n: hidden, k: g, alpha: 1, a: dgh + t * batch * g, lda: g,
               b: whh, ldb: hidden, beta: cell == .gru ? 1 : 0, c: dhNext, ldc: hidden)
    }
}

/// Writes `first + second` (either may be absent, meaning zeros) into each of `rows` rows of `width`.
private func fillRows<T: FloatElement>(_ p: UnsafeMutablePointer<T>, rows: Int, width: Int,
                                       first: UnsafeMutablePointer<T>?, second: UnsafeMutablePointer<T>?) {
    for r in 0..<rows {
        let row = p + r * width
        switch (first, second) {
        case let (a?, b?): for i in 0..<width { row[i] = a[i] + b[i] }
        case let (a?, nil): row.update(from: a, count: width)
        case let (nil, b?): row.update(from: b, count: width)
        case (nil, nil): row.update(repeating: 0, count: width)
        }
    }
}

// MARK: Float64 gate loops (Float32 runs the C kernels, Sources/CStrataKernels/recurrent)

@inline(__always) private func sigmoid<T: FloatElement>(_ x: T) -> T { 1 / (1 + T.exp(-x)) }

/// h = tanh(x·W_ihᵀ + h·W_hhᵀ + b).
private func rnnStep<T: FloatElement>(_ xt: UnsafeMutablePointer<T>, _ hh: UnsafeMutablePointer<T>, _ h: UnsafeMutablePointer<T>,
                                      count: Int) {
    for i in 0..<count { h[i] = T.tanh(xt[i] + hh[i]) }
}

/// dG = dh·(1 − h²) from the step's output h.
private func rnnStepBackward<T: FloatElement>(_ dh: UnsafeMutablePointer<T>, _ h: UnsafeMutablePointer<T>,
                                              _ dG: UnsafeMutablePointer<T>, count: Int) {
    for i in 0..<count { dG[i] = dh[i] * (1 - h[i] * h[i]) }
}

/// i, f, g, o = σ, σ, tanh, σ of the four gate blocks; c = f·c₋₁ + i·g; h = o·tanh(c). The activated gates
/// replace the input projection `xt` (each is read before it is written).
private func lstmStep<T: FloatElement>(_ xt: UnsafeMutablePointer<T>, _ hh: UnsafeMutablePointer<T>, _ cPrev: UnsafePointer<T>,
                                       _ c: UnsafeMutablePointer<T>, _ h: UnsafeMutablePointer<T>, batch: Int, hidden: Int) {
    let g4 = 4 * hidden
    for b in 0..<batch {
        let x = xt + b * g4, r = hh + b * g4
        for j in 0..<hidden {
            let i = sigmoid(x[j] + r[j])
            let f = sigmoid(x[hidden + j] + r[hidden + j])
            let g = T.tanh(x[2 * hidden + j] + r[2 * hidden + j])
            let o = sigmoid(x[3 * hidden + j] + r[3 * hidden + j])
            let cell = f * cPrev[b * hidden + j] + i * g
            c[b * hidden + j] = cell
            h[b * hidden + j] = o * T.tanh(cell)
            (x[j], x[hidden + j], x[2 * hidden + j], x[3 * hidden + j]) = (i, f, g, o)
        }
    }
}

/// Given dh and dc (the cell-state gradient from the step after), writes the gate pre-activation gradients
/// and replaces dc with the gradient of the previous cell state.
private func lstmStepBackward<T: FloatElement>(_ dh: UnsafeMutablePointer<T>, _ dc: UnsafeMutablePointer<T>, _ saved: UnsafeMutablePointer<T>,
                                               _ c: UnsafePointer<T>, _ cPrev: UnsafePointer<T>, _ dG: UnsafeMutablePointer<T>,
                                               batch: Int, hidden: Int) {
    let g4 = 4 * hidden
    for b in 0..<batch {
        let s = saved + b * g4, d = dG + b * g4
        for j in 0..<hidden {
            let k = b * hidden + j
            let (i, f, g, o) = (s[j], s[hidden + j], s[2 * hidden + j], s[3 * hidden + j])
            let tc = T.tanh(c[k])
            let dcell = dc[k] + dh[k] * o * (1 - tc * tc)
            d[j] = dcell * g * i * (1 - i)
            d[hidden + j] = dcell * cPrev[k] * f * (1 - f)
            d[2 * hidden + j] = dcell * i * (1 - g * g)
            d[3 * hidden + j] = dh[k] * tc * o * (1 - o)
            dc[k] = dcell * f
        }
    }
}

/// r, z = σ(x_r + h_r), σ(x_z + h_z); n = tanh(x_n + r·h_n); h = (1 − z)·n + z·h₋₁, where the hidden
/// projection `hh` already includes b_hh. Saves r, z, n and h_n.
private func gruStep<T: FloatElement>(_ xt: UnsafeMutablePointer<T>, _ hh: UnsafeMutablePointer<T>, _ hPrev: UnsafePointer<T>,
                                      _ h: UnsafeMutablePointer<T>, _ saved: UnsafeMutablePointer<T>, batch: Int, hidden: Int) {
    let g3 = 3 * hidden
    for b in 0..<batch {
        let x = xt + b * g3, r = hh + b * g3, s = saved + b * 4 * hidden
        for j in 0..<hidden {
            let reset = sigmoid(x[j] + r[j])
            let update = sigmoid(x[hidden + j] + r[hidden + j])
            let candidate = T.tanh(x[2 * hidden + j] + reset * r[2 * hidden + j])
            let k = b * hidden + j
            h[k] = (1 - update) * candidate + update * hPrev[k]
            (s[j], s[hidden + j], s[2 * hidden + j], s[3 * hidden + j]) = (reset, update, candidate, r[2 * hidden + j])
        }
    }
}

/// Writes the input-side and hidden-side pre-activation gradients and the direct path dh·z into `dhPrev`.
private func gruStepBackward<T: FloatElement>(_ dh: UnsafeMutablePointer<T>, _ saved: UnsafeMutablePointer<T>, _ hPrev: UnsafePointer<T>,
                                              _ dGx: UnsafeMutablePointer<T>, _ dGh: UnsafeMutablePointer<T>, _ dhPrev: UnsafeMutablePointer<T>,
                                              batch: Int, hidden: Int) {
    let g3 = 3 * hidden
    for b in 0..<batch {
        let s = saved + b * 4 * hidden, dx = dGx + b * g3, dhh = dGh + b * g3
        for j in 0..<hidden {
            let k = b * hidden + j
            let (r, z, n, hn) = (s[j], s[hidden + j], s[2 * hidden + j], s[3 * hidden + j])
            let dn = dh[k] * (1 - z) * (1 - n * n)
            let dz = dh[k] * (hPrev[k] - n) * z * (1 - z)
            let dr = dn * hn * r * (1 - r)
            (dx[j], dx[hidden + j], dx[2 * hidden + j]) = (dr, dz, dn)
            (dhh[j], dhh[hidden + j], dhh[2 * hidden + j]) = (dr, dz, dn * r)
            dhPrev[k] = dh[k] * z
        }
    }
}
