import RealModule

/// One direction of one recurrent layer over a whole sequence, as a single differentiable op.
///
/// Shapes: `T` = time steps, `B` = batch, `I` = input features, `H` = hidden size, `G` = gates·H
/// (RNN 1, GRU 3 in the order r, z, n, LSTM 4 in the order i, f, g, o — PyTorch's layouts).
///
/// Forward: the input projection of all steps is one gemm `[T·B, I] · W_ihᵀ → [T·B, G]`; each step is then one
/// gemm `h · W_hhᵀ` and a fused gate kernel. The activated gates and cell states are kept for backward,
/// which runs back-propagation through time inside the pullback (no tape node per step, so a 1,000-step
/// sequence is one node) and forms the weight gradients as three gemms over all steps at once.
public enum RecurrentCell: String, Sendable {
    /// Elman RNN with tanh, LSTM (gates i, f, g, o) or GRU (gates r, z, n).
    case rnnTanh, lstm, gru

    /// Gate blocks per hidden unit.
    public var gateCount: Int {
        switch self {
        case .rnnTanh: 1
        case .gru: 3
        case .lstm: 4
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

        let x = input.detached().contiguousData()
        let wih = weightIH.detached().contiguousData(), whh = weightHH.detached().contiguousData()
        let bih = biasIH?.detached().contiguousData(), bhh = biasHH?.detached().contiguousData()
        let hStart = h0.detached().contiguousData(), cStart = c0?.detached().contiguousData()
        let rows = steps * batch, stateSize = batch * hiddenSize

        // Packed result: outputs [T, B, H], then the final cell state [B, H] for LSTM.
        let packed = Tensor(uninitialized: [steps + (cell == .lstm ? 1 : 0), batch, hiddenSize], dtype: input.dtype)
        // Saved for backward: activated gates per step (GRU adds W_hn·h + b_hn as a fourth block), cell states (LSTM).
        let savedWidth = cell == .gru ? 4 * hiddenSize : g
        let gates = Tensor(uninitialized: [steps, batch, savedWidth], dtype: input.dtype)
        let cells = cell == .lstm ? Tensor(uninitialized: [steps, batch, hiddenSize], dtype: input.dtype) : nil

        func forward<T: FloatElement>(_: T.Type) {
            // Input projection of every step: [T·B, I] · [G, I]ᵀ → [T·B, G], plus b_ih (and b_hh where it is not gated).
            let projection = Tensor(uninitialized: [rows, g], dtype: input.dtype)
            let xp = projection.pointer(T.self)
            fillRows(xp, rows: rows, width: g, first: bih?.pointer(T.self), second: cell == .gru ? nil : bhh?.pointer(T.self))
            T.gemm(transposeA: false, transposeB: true, m: rows, n: g, k: features, alpha: 1, a: x.pointer(T.self), lda: features,
                   b: wih.pointer(T.self), ldb: features, beta: 1, c: xp, ldc: g)
            let hidden = Tensor(uninitialized: [batch, g], dtype: input.dtype)
            let hp = hidden.pointer(T.self)
            // The scratch tensors must outlive the raw pointers taken from them (see Docs/AddingAnOp.md).
            defer { withExtendedLifetime((projection, hidden)) {} }
            let out = packed.pointer(T.self), saved = gates.pointer(T.self), cp = cells?.pointer(T.self)
            var hPrev = UnsafePointer(hStart.pointer(T.self))
            var cPrev = cStart.map { UnsafePointer($0.pointer(T.self)) }
            for s in 0..<steps {
                let t = reverse ? steps - 1 - s : s
                // [B, H] · [G, H]ᵀ → [B, G]
                fillRows(hp, rows: batch, width: g, first: cell == .gru ? bhh?.pointer(T.self) : nil, second: nil)
                T.gemm(transposeA: false, transposeB: true, m: batch, n: g, k: hiddenSize, alpha: 1, a: hPrev, lda: hiddenSize,
                       b: whh.pointer(T.self), ldb: hiddenSize, beta: 1, c: hp, ldc: g)
                let h = out + t * stateSize, gt = saved + t * batch * savedWidth
                let xt = xp + t * batch * g
                switch cell {
                case .rnnTanh: rnnStep(xt, hp, h, gt, count: stateSize)
                case .lstm: lstmStep(xt, hp, cPrev!, cp! + t * stateSize, h, gt, batch: batch, hidden: hiddenSize)
                case .gru: gruStep(xt, hp, hPrev, h, gt, batch: batch, hidden: hiddenSize)
                }
                hPrev = UnsafePointer(h)
                cPrev = cp.map { UnsafePointer($0 + t * stateSize) }
            }
            if let cPrev { (out + steps * stateSize).update(from: cPrev, count: stateSize) }
        }
        switch input.dtype {
        case .float32: forward(Float.self)
        case .float64: forward(Double.self)
        default: unsupported(cell.rawValue, input.dtype)
        }

        let inputs = [input, h0] + (c0.map { [$0] } ?? []) + [weightIH, weightHH] + [biasIH, biasHH].compactMap { $0 }
        let needsInputGradient = input.isTracked
        let result = differentiable(cell.rawValue, inputs: inputs, output: packed) { gradient in
            let dPacked = gradient.contiguousData()
            let dGx = Tensor(uninitialized: [steps, batch, g], dtype: x.dtype)
            let dGh = cell == .gru ? Tensor(uninitialized: [steps, batch, g], dtype: x.dtype) : dGx
            let dh0 = Tensor(uninitialized: [batch, hiddenSize], dtype: x.dtype)
            let dc0 = cell == .lstm ? Tensor(uninitialized: [batch, hiddenSize], dtype: x.dtype) : nil
            // h_{t−1} for every step, stacked in time order: [T, B, H].
            let previous = Tensor(uninitialized: [steps, batch, hiddenSize], dtype: x.dtype)
            func backward<T: FloatElement>(_: T.Type) {
                let out = packed.pointer(T.self), prev = previous.pointer(T.self), h0p = hStart.pointer(T.self)
                for t in 0..<steps {
                    let source = reverse ? (t == steps - 1 ? h0p : out + (t + 1) * stateSize) : (t == 0 ? h0p : out + (t - 1) * stateSize)
                    (prev + t * stateSize).update(from: source, count: stateSize)
                }
                let dOut = dPacked.pointer(T.self), saved = gates.pointer(T.self)
                let dgx = dGx.pointer(T.self), dgh = dGh.pointer(T.self)
                let dhScratch = Tensor(uninitialized: [batch, hiddenSize], dtype: x.dtype)
                defer { withExtendedLifetime(dhScratch) {} }
                let dh = dhScratch.pointer(T.self)
                let dc = dc0?.pointer(T.self)
                let dhNext = dh0.pointer(T.self)
                dhNext.update(repeating: 0, count: stateSize)
                if let dc { dc.update(from: dOut + steps * stateSize, count: stateSize) }
                for s in 0..<steps {
                    let t = reverse ? s : steps - 1 - s
                    for i in 0..<stateSize { dh[i] = dOut[t * stateSize + i] + dhNext[i] }
                    let gt = saved + t * batch * savedWidth
                    switch cell {
                    case .rnnTanh:
                        rnnStepBackward(dh, gt, dgx + t * batch * g, count: stateSize)
                    case .lstm:
                        let cPrev = t == (reverse ? steps - 1 : 0) ? cStart!.pointer(T.self) : cells!.pointer(T.self) + (reverse ? t + 1 : t - 1) * stateSize
                        lstmStepBackward(dh, dc!, gt, cells!.pointer(T.self) + t * stateSize, cPrev, dgx + t * batch * g,
                                         batch: batch, hidden: hiddenSize)
                    case .gru:
                        gruStepBackward(dh, gt, prev + t * stateSize, dgx + t * batch * g, dgh + t * batch * g, dhNext,
                                        batch: batch, hidden: hiddenSize)
                    }
                    // dh_{t−1} (+)= dG_h · W_hh: [B, G] · [G, H] → [B, H]; GRU already wrote its direct z-path term.
                    T.gemm(transposeA: false, transposeB: false, m: batch, n: hiddenSize, k: g, alpha: 1, a: dgh + t * batch * g, lda: g,
                           b: whh.pointer(T.self), ldb: hiddenSize, beta: cell == .gru ? 1 : 0, c: dhNext, ldc: hiddenSize)
                }
            }
            switch x.dtype {
            case .float32: backward(Float.self)
            default: backward(Double.self)
            }
            let dGxRows = dGx.reshaped([rows, g]), dGhRows = dGh.reshaped([rows, g])
            var grads: [Tensor?] = [
                needsInputGradient ? dGxRows.matmul(wih).reshaped([steps, batch, features]) : nil,  // dX = dGx · W_ih   [T·B, I]
                dh0,
            ]
            if cell == .lstm { grads.append(dc0) }
            grads.append(dGxRows.transposed().matmul(x.reshaped([rows, features])))                // dW_ih = dGxᵀ · X    [G, I]
            grads.append(dGhRows.transposed().matmul(previous.reshaped([rows, hiddenSize])))       // dW_hh = dGhᵀ · Hprev [G, H]
            if biasIH != nil { grads.append(dGxRows.sum(dim: 0)) }
            if biasHH != nil { grads.append(dGhRows.sum(dim: 0)) }
            return grads
        }
        let outputs = result.slice(0, 0..<steps)
        let hidden = result.select(0, reverse ? 0 : steps - 1)
        return (outputs, hidden, cell == .lstm ? result.select(0, steps) : nil)
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

@inline(__always) private func sigmoid<T: FloatElement>(_ x: T) -> T { 1 / (1 + fastExp(-x)) }

/// `eˣ`. Float32 uses `floatExp`, a branch-free polynomial the compiler vectorises in the gate loops
/// (a call to glibc's `expf` per gate value was a sixth of an LSTM step); Float64 uses `T.exp`.
@inline(__always) private func fastExp<T: FloatElement>(_ x: T) -> T {
    if T.self == Float.self { return unsafeBitCast(floatExp(unsafeBitCast(x, to: Float.self)), to: T.self) }
    return T.exp(x)
}

/// tanh through one `exp`: `sign(x)·(1 − 2/(e^{2|x|} + 1))`, with the Taylor series
/// `x·(1 − x²/3 + 2x⁴/15 − 17x⁶/315)` below |x| = 1/8 where the subtraction would cancel. Relative error
/// within a few ulps of Float32 (series remainder < 2e-9 at 1/8). glibc's `tanhf` goes through `expm1f`,
/// which profiling showed to be a third of an LSTM training step (`dlbench --only lstm`).
@inline(__always) private func fastTanh<T: FloatElement>(_ x: T) -> T {
    // Both branches are computed and one selected, so the gate loops stay branch-free and vectorise.
    let a = x.magnitude, x2 = x * x
    let series = x * (1 - x2 * (T(1) / 3 - x2 * (T(2) / 15 - x2 * (T(17) / 315))))
    let t = 1 - 2 / (fastExp(2 * a) + 1)
    return a < 0.125 ? series : (x < 0 ? -t : t)
}

/// h = tanh(x·W_ihᵀ + h·W_hhᵀ + b); saves h.
private func rnnStep<T: FloatElement>(_ xt: UnsafeMutablePointer<T>, _ hh: UnsafeMutablePointer<T>, _ h: UnsafeMutablePointer<T>,
                                      _ saved: UnsafeMutablePointer<T>, count: Int) {
    for i in 0..<count {
        h[i] = fastTanh(xt[i] + hh[i])
        saved[i] = h[i]
    }
}

private func rnnStepBackward<T: FloatElement>(_ dh: UnsafeMutablePointer<T>, _ saved: UnsafeMutablePointer<T>,
                                              _ dG: UnsafeMutablePointer<T>, count: Int) {
    for i in 0..<count { dG[i] = dh[i] * (1 - saved[i] * saved[i]) }
}

/// i, f, g, o = σ, σ, tanh, σ of the four gate blocks; c = f·c₋₁ + i·g; h = o·tanh(c). Saves the activated gates.
private func lstmStep<T: FloatElement>(_ xt: UnsafeMutablePointer<T>, _ hh: UnsafeMutablePointer<T>, _ cPrev: UnsafePointer<T>,
                                       _ c: UnsafeMutablePointer<T>, _ h: UnsafeMutablePointer<T>, _ saved: UnsafeMutablePointer<T>,
                                       batch: Int, hidden: Int) {
    if T.self == Float.self && hidden % 4 == 0 {
        return lstmStepFloat(float(xt), float(hh), UnsafePointer(float(cPrev)), float(c), float(h), float(saved),
                             batch: batch, hidden: hidden)
    }
    let g4 = 4 * hidden
    for b in 0..<batch {
        let x = xt + b * g4, r = hh + b * g4, s = saved + b * g4
        for j in 0..<hidden {
            let i = sigmoid(x[j] + r[j])
            let f = sigmoid(x[hidden + j] + r[hidden + j])
            let g = fastTanh(x[2 * hidden + j] + r[2 * hidden + j])
            let o = sigmoid(x[3 * hidden + j] + r[3 * hidden + j])
            let cell = f * cPrev[b * hidden + j] + i * g
            c[b * hidden + j] = cell
            h[b * hidden + j] = o * fastTanh(cell)
            (s[j], s[hidden + j], s[2 * hidden + j], s[3 * hidden + j]) = (i, f, g, o)
        }
    }
}

/// Given dh and dc (the cell-state gradient from the step after), writes the gate pre-activation gradients
/// and replaces dc with the gradient of the previous cell state.
private func lstmStepBackward<T: FloatElement>(_ dh: UnsafeMutablePointer<T>, _ dc: UnsafeMutablePointer<T>, _ saved: UnsafeMutablePointer<T>,
                                               _ c: UnsafePointer<T>, _ cPrev: UnsafePointer<T>, _ dG: UnsafeMutablePointer<T>,
                                               batch: Int, hidden: Int) {
    if T.self == Float.self && hidden % 4 == 0 {
        return lstmStepBackwardFloat(float(dh), float(dc), float(saved), UnsafePointer(float(c)), UnsafePointer(float(cPrev)),
                                     float(dG), batch: batch, hidden: hidden)
    }
    let g4 = 4 * hidden
    for b in 0..<batch {
        let s = saved + b * g4, d = dG + b * g4
        for j in 0..<hidden {
            let k = b * hidden + j
            let (i, f, g, o) = (s[j], s[hidden + j], s[2 * hidden + j], s[3 * hidden + j])
            let tc = fastTanh(c[k])
            let dcell = dc[k] + dh[k] * o * (1 - tc * tc)
            d[j] = dcell * g * i * (1 - i)
            d[hidden + j] = dcell * cPrev[k] * f * (1 - f)
            d[2 * hidden + j] = dcell * i * (1 - g * g)
            d[3 * hidden + j] = dh[k] * tc * o * (1 - o)
            dc[k] = dcell * f
        }
    }
}

// MARK: LSTM gates four lanes at a time (Float32)
//
// The scalar gate loops above do not vectorise (too many pointer streams for the compiler's alias checks),
// and the gates were half of an LSTM inference step (`perf` on `dlbench --only lstm`). These are the same
// formulas on SIMD4<Float>, with `exp4` the lane-wise form of `floatExp`.

@inline(__always) private func float<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always) private func float<T>(_ p: UnsafePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(mutating: p).assumingMemoryBound(to: Float.self)
}

@inline(__always) private func sigmoid4(_ x: Float4) -> Float4 { 1 / (1 + exp4(-x)) }

/// `fastTanh` on four lanes: the sign bit of `x` on `1 − 2/(e^{2|x|} + 1)`, the series below |x| = 1/8.
@inline(__always) private func tanh4(_ x: Float4) -> Float4 {
    let bits = unsafeBitCast(x, to: SIMD4<UInt32>.self)
    let a = unsafeBitCast(bits & 0x7FFF_FFFF, to: Float4.self)
    let x2 = x * x
    let c3: Float = 1.0 / 3, c5: Float = 2.0 / 15, c7: Float = 17.0 / 315
    let series = x * (1 - x2 * (c3 - x2 * (c5 - x2 * c7)))
    let t = 1 - 2 / (exp4(2 * a) + 1)
    let signed = unsafeBitCast(unsafeBitCast(t, to: SIMD4<UInt32>.self) | (bits & 0x8000_0000), to: Float4.self)
    return signed.replacing(with: series, where: a .< 0.125)
}

/// `lstmStep` for Float32 with `hidden` a multiple of 4.
private func lstmStepFloat(_ xt: UnsafeMutablePointer<Float>, _ hh: UnsafeMutablePointer<Float>, _ cPrev: UnsafePointer<Float>,
                           _ c: UnsafeMutablePointer<Float>, _ h: UnsafeMutablePointer<Float>, _ saved: UnsafeMutablePointer<Float>,
                           batch: Int, hidden: Int) {
    let g4 = 4 * hidden
    for b in 0..<batch {
        let x = xt + b * g4, r = hh + b * g4, s = saved + b * g4, base = b * hidden
        for j in stride(from: 0, to: hidden, by: 4) {
            let i = sigmoid4(load4(x + j) + load4(r + j))
            let f = sigmoid4(load4(x + hidden + j) + load4(r + hidden + j))
            let g = tanh4(load4(x + 2 * hidden + j) + load4(r + 2 * hidden + j))
            let o = sigmoid4(load4(x + 3 * hidden + j) + load4(r + 3 * hidden + j))
            let cell = f * load4(cPrev + base + j) + i * g
            store4(cell, c + base + j)
            store4(o * tanh4(cell), h + base + j)
            store4(i, s + j)
            store4(f, s + hidden + j)
            store4(g, s + 2 * hidden + j)
            store4(o, s + 3 * hidden + j)
        }
    }
}

/// `lstmStepBackward` for Float32 with `hidden` a multiple of 4.
private func lstmStepBackwardFloat(_ dh: UnsafeMutablePointer<Float>, _ dc: UnsafeMutablePointer<Float>,
                                   _ saved: UnsafeMutablePointer<Float>, _ c: UnsafePointer<Float>, _ cPrev: UnsafePointer<Float>,
                                   _ dG: UnsafeMutablePointer<Float>, batch: Int, hidden: Int) {
    let g4 = 4 * hidden
    for b in 0..<batch {
        let s = saved + b * g4, d = dG + b * g4, base = b * hidden
        for j in stride(from: 0, to: hidden, by: 4) {
            let k = base + j
            let (i, f, g, o) = (load4(s + j), load4(s + hidden + j), load4(s + 2 * hidden + j), load4(s + 3 * hidden + j))
            let tc = tanh4(load4(c + k))
            let dhk = load4(dh + k)
            let dcell = load4(dc + k) + dhk * o * (1 - tc * tc)
            store4(dcell * g * i * (1 - i), d + j)
            store4(dcell * load4(cPrev + k) * f * (1 - f), d + hidden + j)
            store4(dcell * i * (1 - g * g), d + 2 * hidden + j)
            store4(dhk * tc * o * (1 - o), d + 3 * hidden + j)
            store4(dcell * f, dc + k)
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
            let candidate = fastTanh(x[2 * hidden + j] + reset * r[2 * hidden + j])
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
