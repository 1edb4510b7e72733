/// Recurrent layers with PyTorch's `nn.RNN`, `nn.LSTM` and `nn.GRU` semantics and parameter layout.
///
/// Shapes: `T` = time, `B` = batch, `I` = input size, `H` = hidden size, `L` = layers, `D` = directions (1 or 2).
/// Each layer and direction is one fused op (`Tensor.recurrentLayer`). A layer's parameters are
/// `weight_ih_l{k}` `[gates·H, I or D·H]`, `weight_hh_l{k}` `[gates·H, H]`, `bias_ih_l{k}` and `bias_hh_l{k}`
/// `[gates·H]`, with the suffix `_reverse` for the backward direction. All are initialised U(−1/√H, 1/√H).
///
/// As a `Layer` (in a `Sequential`), the layer gives the output sequence of a run from zero states, the first
/// of the full call's outputs; see `Layer`.
public class RecurrentLayer: Layer, ModeDependent {
    public let cell: RecurrentCell
    public let inputSize: Int, hiddenSize: Int, numLayers: Int
    public let bidirectional: Bool, batchFirst: Bool
    /// Dropout applied to the outputs of every layer but the last, in training mode.
    public let dropout: Double
    public var isTraining = true
    /// `(name, tensor)` in PyTorch's order: per layer, per direction, `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`.
    public let namedWeights: [(name: String, tensor: Tensor)]

    init(_ cell: RecurrentCell, inputSize: Int, hiddenSize: Int, numLayers: Int, bias: Bool, batchFirst: Bool,
         dropout: Double, bidirectional: Bool, dtype: DType) {
        let state = requireSettings {
            try Self.stateShapes(cell, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                                 dropout: dropout, bidirectional: bidirectional, dtype: dtype)
        }
        (self.cell, self.inputSize, self.hiddenSize, self.numLayers) = (cell, inputSize, hiddenSize, numLayers)
        (self.bidirectional, self.batchFirst, self.dropout) = (bidirectional, batchFirst, dropout)
        let bound = 1 / Double(hiddenSize).squareRoot()
        var weights: [(String, Tensor)] = []
        for entry in state {
            let t = Init.uniform(entry.shape, low: -bound, high: bound, dtype: dtype)
            t.requiresGrad = true
            weights.append((entry.name, t))
        }
        namedWeights = weights
    }

    /// The state `init` makes for `cell`, before making it, in PyTorch's order: per layer `k` and direction,
    /// `weight_ih_l{k}` `[gates·H, I]` (`[gates·H, D·H]` above the first layer), `weight_hh_l{k}` `[gates·H, H]`,
    /// and with `bias` `bias_ih_l{k}` and `bias_hh_l{k}` `[gates·H]`; `_reverse` marks the backward direction.
    /// `RNN`, `LSTM` and `GRU` are `.rnnTanh`, `.lstm` and `.gru`.
    /// - Throws: `ShapeError` for a size below 1 or a dropout outside [0, 1] (`.setting`), or a weight with more
    ///   elements than fit in `Int`.
    public static func stateShapes(_ cell: RecurrentCell, inputSize: Int, hiddenSize: Int, numLayers: Int = 1,
                                   bias: Bool = true, dropout: Double = 0, bidirectional: Bool = false,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule(cell == .lstm ? "LSTM" : cell == .gru ? "GRU" : "RNN")
        try rule.size("input_size", inputSize, atLeast: 1)
        try rule.size("hidden_size", hiddenSize, atLeast: 1)
        try rule.size("num_layers", numLayers, atLeast: 1)
        try rule.check((0...1).contains(dropout), "dropout", "dropout \(dropout) must be in [0, 1]")
        let gates = try rule.product(cell.gateCount, hiddenSize, what: "the gates")
        let directions = bidirectional ? 2 : 1
        var state: [StateEntry] = []
        for layer in 0..<numLayers {
            let layerInput = layer == 0 ? inputSize : try rule.product(directions, hiddenSize, what: "the layer input")
            for suffix in bidirectional ? ["", "_reverse"] : [""] {
                var shapes = [("weight_ih", [gates, layerInput]), ("weight_hh", [gates, hiddenSize])]
                if bias { shapes += [("bias_ih", [gates]), ("bias_hh", [gates])] }
                for (name, shape) in shapes { state.append(try rule.entry("\(name)_l\(layer)\(suffix)", shape, dtype)) }
            }
        }
        return state
    }

    public var entries: [(name: String, entry: ModuleEntry)] {
        namedWeights.map { ($0.name, .parameter($0.tensor)) }
    }

    /// The output sequence (`[T, B, D·H]`, or `[B, T, D·H]` when `batchFirst`) of a run over `input` from zero
    /// initial states: the first output of the subclass's full call, which also returns the final states.
    /// A direct call `lstm(x)` picks the full call, as in PyTorch; this one serves `Layer` (a `Sequential`)
    /// and a call whose result is asked to be a `Tensor`.
    @_disfavoredOverload
    public func callAsFunction(_ input: Tensor) -> Tensor {
        run(input, h0: nil, c0: nil).output
    }

    private func weight(_ name: String) -> Tensor? {
        namedWeights.first { $0.name == name }?.tensor
    }

    /// Runs the stack over `input` (`[T, B, I]`, or `[B, T, I]` when `batchFirst`).
    ///
    /// - Parameters:
    ///   - h0: initial hidden state `[L·D, B, H]`, zeros when omitted.
    ///   - c0: initial cell state `[L·D, B, H]` (LSTM only), zeros when omitted.
    /// - Returns: `output` (`[T, B, D·H]` or `[B, T, D·H]`, the last layer's hidden state at every step), and the
    ///   final hidden state `hN` and (LSTM) cell state `cN`, each `[L·D, B, H]`.
    func run(_ input: Tensor, h0: Tensor?, c0: Tensor?) -> (output: Tensor, hN: Tensor, cN: Tensor?) {
        require(input.rank == 3 && input.shape[2] == inputSize,
                     "\(cell.rawValue): input \(input.shape) must be \(batchFirst ? "[B, T, \(inputSize)]" : "[T, B, \(inputSize)]")")
        var x = batchFirst ? input.transposed(0, 1) : input  // [T, B, I]
        let batch = x.shape[1], directions = bidirectional ? 2 : 1
        let stateShape = [numLayers * directions, batch, hiddenSize]
        for (name, state) in [("h0", h0), ("c0", c0)] {
            require(state == nil || state!.shape == stateShape, "\(cell.rawValue): \(name) \(state!.shape) must be \(stateShape)")
        }
        require(c0 == nil || cell == .lstm, "\(cell.rawValue): only LSTM takes an initial cell state")
        let zeros = Tensor.zeros([batch, hiddenSize], dtype: input.dtype)
        var finalHidden: [Tensor] = [], finalCells: [Tensor] = []
        for layer in 0..<numLayers {
            var outputs: [Tensor] = []
            for direction in 0..<directions {
                let index = layer * directions + direction
                let suffix = "_l\(layer)" + (direction == 1 ? "_reverse" : "")
                let r = Tensor.recurrentLayer(
                    cell, input: x, h0: h0?.select(0, index) ?? zeros,
                    c0: cell == .lstm ? (c0?.select(0, index) ?? zeros) : nil,
                    weightIH: weight("weight_ih" + suffix)!, weightHH: weight("weight_hh" + suffix)!,
                    biasIH: weight("bias_ih" + suffix), biasHH: weight("bias_hh" + suffix), reverse: direction == 1)
                outputs.append(r.outputs)
                finalHidden.append(r.hidden)
                if let c = r.cell { finalCells.append(c) }
            }
            x = directions == 1 ? outputs[0] : Tensor.cat(outputs, dim: 2)
            if layer < numLayers - 1 && dropout > 0 { x = x.dropout(p: dropout, training: isTraining) }
        }
        let output = batchFirst ? x.transposed(0, 1) : x
        return (output, Tensor.stack(finalHidden, dim: 0), cell == .lstm ? Tensor.stack(finalCells, dim: 0) : nil)
    }
}

/// An Elman RNN with tanh, `h_t = tanh(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh)`, as `nn.RNN`.
public final class RNN: RecurrentLayer {
    public init(_ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false, dtype: DType = .float32) {
        super.init(.rnnTanh, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, dtype: dtype)
    }

    /// - Returns: every step's hidden state and the final hidden states `[L·D, B, H]`.
    public func callAsFunction(_ input: Tensor, h0: Tensor? = nil) -> (output: Tensor, hN: Tensor) {
        let r = run(input, h0: h0, c0: nil)
        return (r.output, r.hN)
    }
}

/// A long short-term memory layer, as `nn.LSTM` (gates i, f, g, o):
/// `c_t = σ(f)·c_{t−1} + σ(i)·tanh(g)`, `h_t = σ(o)·tanh(c_t)`.
public final class LSTM: RecurrentLayer {
    public init(_ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false, dtype: DType = .float32) {
        super.init(.lstm, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, dtype: dtype)
    }

    /// - Returns: every step's hidden state, and the final hidden and cell states `[L·D, B, H]`.
    public func callAsFunction(_ input: Tensor, h0: Tensor? = nil, c0: Tensor? = nil) -> (output: Tensor, hN: Tensor, cN: Tensor) {
        let r = run(input, h0: h0, c0: c0)
        return (r.output, r.hN, r.cN!)
    }
}

/// A gated recurrent unit layer, as `nn.GRU` (gates r, z, n):
/// `n = tanh(W_in·x + b_in + r·(W_hn·h + b_hn))`, `h_t = (1 − z)·n + z·h_{t−1}`.
public final class GRU: RecurrentLayer {
    public init(_ inputSize: Int, _ hiddenSize: Int, numLayers: Int = 1, bias: Bool = true, batchFirst: Bool = false,
                dropout: Double = 0, bidirectional: Bool = false, dtype: DType = .float32) {
        super.init(.gru, inputSize: inputSize, hiddenSize: hiddenSize, numLayers: numLayers, bias: bias,
                   batchFirst: batchFirst, dropout: dropout, bidirectional: bidirectional, dtype: dtype)
    }

    /// - Returns: every step's hidden state and the final hidden states `[L·D, B, H]`.
    public func callAsFunction(_ input: Tensor, h0: Tensor? = nil) -> (output: Tensor, hN: Tensor) {
        let r = run(input, h0: h0, c0: nil)
        return (r.output, r.hN)
    }
}

extension RecurrentLayer: ShapeInferring {
    /// `[T, B, I]` (`[B, T, I]` when `batchFirst`) → `[T, B, D·H]` (`[B, T, D·H]`), and per step, layer and
    /// direction `2·gates·H·(I_layer + H)` FLOPs (an LSTM's `8H(I + H)`), times `B·T`.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        try rule.rank([3], batchFirst ? "[B, T, input_size]" : "[T, B, input_size]")
        try rule.dimension(2, is: inputSize, argument: "input_size")
        let (batch, steps) = batchFirst ? (input[0], input[1]) : (input[1], input[0])
        let directions = bidirectional ? 2 : 1
        var multiplyAdds = 0                                   // per step and sequence, all layers
        for layer in 0..<numLayers {
            let layerInput = layer == 0 ? inputSize : directions * hiddenSize
            multiplyAdds += directions * cell.gateCount * hiddenSize * (layerInput + hiddenSize)   // sizes of built weights
        }
        let output = try rule.output([input[0], input[1], directions * hiddenSize])
        return (output, try rule.product(2, batch, steps, multiplyAdds))
    }
}
