import Strata

/// A model's layers, output shapes, parameter counts and FLOPs per sample, as `dltrain info` prints them.
///
/// FLOPs are `2 ×` the multiply-adds of the matrix products (Linear), convolutions and recurrences, the
/// convention of `reference_torch.py`; element-wise ops, normalisation, pooling and bias additions count 0.
/// Shapes are full shapes for a batch of one, `[1, …]`.

/// A layer that can say how many FLOPs it spends and what shape it produces, without running.
///
/// Conform a new layer type to add it to `ModelSummary`'s counts. Return nil when the input shape does not
/// fit the layer (a summary then reports the FLOPs as unknown rather than trapping).
public protocol FLOPCounting {
    /// FLOPs (2 × multiply-adds) of one forward pass over `inputShape` (a full shape, batch first), and
    /// the output shape; nil when the layer cannot take that shape.
    func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])?
}

/// The layer table of a model, with totals.
///
/// `Sequential` and `GraphModel` are walked child by child, propagating shapes, so every row has its
/// output shape and the FLOP total is known. Any other module is listed by its direct children with their
/// parameter counts; its FLOPs are known only when it conforms to `FLOPCounting` itself.
public struct ModelSummary: CustomStringConvertible {
    /// One row per layer (or direct child): dotted name, Swift type, output shape for a batch of one
    /// (nil when unknown) and parameters held (recursively).
    public var rows: [(name: String, type: String, outputShape: [Int]?, parameters: Int)]
    /// Elements in all parameters, frozen ones included (buffers excluded, as in PyTorch).
    public var parameterCount: Int
    /// Elements in the parameters that require grad.
    public var trainableParameterCount: Int
    /// FLOPs of one forward pass over one sample, or nil when some layer's count is unknown.
    public var flopsPerSample: Int?
    /// The sample shape the summary was made for (no batch dim).
    public var inputShape: [Int]
    /// The model's output shape for a batch of one, when known.
    public var outputShape: [Int]?

    /// Summarises `model` for one sample of `inputShape` (no batch dim, e.g. `[1, 28, 28]`).
    public init(_ model: any Module, inputShape: [Int]) {
        self.inputShape = inputShape
        let parameters = model.parameters()
        parameterCount = parameters.reduce(0) { $0 + $1.count }
        trainableParameterCount = parameters.filter(\.requiresGrad).reduce(0) { $0 + $1.count }
        rows = []
        var walker = Walker()
        let result = walker.walk(model, prefix: "", shape: [1] + inputShape, isRoot: true)
        rows = walker.rows
        flopsPerSample = result?.flops
        outputShape = result?.outputShape
    }

    /// A table: name, type, output shape and parameters per row, then the totals.
    public var description: String {
        let header = ("Layer", "Type", "Output shape", "Params")
        let body = rows.map { row in
            (row.name, row.type, row.outputShape.map { "\($0)" } ?? "?", summaryGroupedDigits(row.parameters))
        }
        let widths = ([header] + body).reduce(into: [0, 0, 0, 0]) { w, r in
            w = [Swift.max(w[0], r.0.count), Swift.max(w[1], r.1.count), Swift.max(w[2], r.2.count), Swift.max(w[3], r.3.count)]
        }
        func line(_ r: (String, String, String, String)) -> String {
            [pad(r.0, widths[0]), pad(r.1, widths[1]), pad(r.2, widths[2]), pad(r.3, widths[3], right: true)]
                .joined(separator: "  ")
        }
        let rule = String(repeating: "─", count: widths.reduce(6, +))
        var lines = [line(header), rule] + body.map(line) + [rule]
        lines.append("Input shape: \([1] + inputShape) (batch of one)")
        lines.append("Parameters: \(summaryGroupedDigits(parameterCount)) (trainable \(summaryGroupedDigits(trainableParameterCount)))")
        lines.append("FLOPs per sample: " + (flopsPerSample.map { "\(summaryGroupedDigits($0)) (\(scaled($0)))" } ?? "unknown"))
        return lines.joined(separator: "\n")
    }
}

/// Walks a module tree, appending rows and summing FLOPs while the shapes stay known.
private struct Walker {
    var rows: [(name: String, type: String, outputShape: [Int]?, parameters: Int)] = []

    /// Adds the rows for `module` and returns its FLOPs and output shape, or nil when unknown.
    mutating func walk(_ module: any Module, prefix: String, shape: [Int]?, isRoot: Bool = false) -> (flops: Int, outputShape: [Int])? {
        if let sequential = module as? Sequential {
            var current = shape, total: Int? = 0
            for (index, layer) in sequential.layers.enumerated() {
                let result = walk(layer, prefix: prefix + "\(index)", shape: current)
                current = result?.outputShape
                total = total.flatMap { t in result.map { t + $0.flops } }
            }
            return total.flatMap { t in current.map { (t, $0) } }
        }
        if let graph = module as? GraphModel {
            var values: [[Int]?] = [shape]
            var total: Int? = 0
            for node in graph.nodes {
                let inputs = node.inputs.map { values[$0] }
                var result: (flops: Int, outputShape: [Int])?
                if inputs.allSatisfy({ $0 != nil }) {
                    let known = inputs.map { $0! }
                    switch node.kind {
                    case .layer(let layer):
                        result = walk(layer, prefix: prefix + node.name, shape: known[0])
                        values.append(result?.outputShape)
                        total = total.flatMap { t in result.map { t + $0.flops } }
                        continue
                    case .add:
                        result = known.dropFirst().reduce(Optional(known[0])) { s, next in s.flatMap { specBroadcastShapes($0, next) } }
                            .map { (0, $0) }
                    case .concat(let dim):
                        result = known.allSatisfy({ $0.count == known[0].count && $0.count > dim })
                            ? (0, { var s = known[0]; s[dim] = known.reduce(0) { $0 + $1[dim] }; return s }()) : nil
                    case .reshape(let target):
                        result = (0, [known[0][0]] + target)
                    }
                } else if case .layer(let layer) = node.kind {
                    _ = walk(layer, prefix: prefix + node.name, shape: nil)
                    values.append(nil)
                    total = nil
                    continue
                }
                rows.append((prefix + node.name, node.op, result?.outputShape, 0))
                values.append(result?.outputShape)
                if result == nil { total = nil }
            }
            let output = values.last ?? nil
            return total.flatMap { t in output.map { (t, $0) } }
        }
        let counted = shape.flatMap { (module as? any FLOPCounting)?.flops(inputShape: $0) }
        let children = module.entries
        let hasChildModules = children.contains { if case .module = $0.entry { true } else { false } }
        if isRoot && hasChildModules {
            // An arbitrary model: list its direct children; FLOPs only if the model counts them itself.
            for (name, entry) in children {
                switch entry {
                case .module(let child):
                    rows.append((name, typeName(child), nil, child.parameters().reduce(0) { $0 + $1.count }))
                case .parameter(let t):
                    rows.append((name, "Parameter", t.shape, t.count))
                case .buffer:
                    continue
                }
            }
            return counted
        }
        let name = prefix.isEmpty ? typeName(module) : prefix
        rows.append((name, typeName(module), counted?.outputShape, module.parameters().reduce(0) { $0 + $1.count }))
        return counted
    }
}

private func typeName(_ module: any Module) -> String { String(describing: type(of: module)) }

private func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
    let fill = String(repeating: " ", count: Swift.max(0, width - s.count))
    return right ? fill + s : s + fill
}

/// `1234567` → `1,234,567`.
func summaryGroupedDigits(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}

/// `46_800_000` → `46.8 MFLOPs`.
private func scaled(_ flops: Int) -> String {
    let units: [(Double, String)] = [(1e12, "TFLOPs"), (1e9, "GFLOPs"), (1e6, "MFLOPs"), (1e3, "kFLOPs")]
    let value = Double(flops)
    for (scale, unit) in units where value >= scale {
        let v = value / scale
        return (v >= 100 ? String(Int(v.rounded())) : String(Double(Int((v * 10).rounded())) / 10)) + " " + unit
    }
    return "\(flops) FLOPs"
}

// MARK: - Counts of the built-in layers

/// Output length of a window op: `⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1`, nil if < 1.
private func windowLength(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1) -> Int? {
    let span = size + 2 * padding - dilation * (kernel - 1) - 1
    return span >= 0 && stride > 0 ? span / stride + 1 : nil
}

extension Linear: FLOPCounting {
    /// `2·in·out` per row: `[…, in] → […, out]`.
    public func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])? {
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        guard let last = inputShape.last, last == inFeatures else { return nil }
        let rowCount = inputShape.dropLast().reduce(1, *)
        return (2 * rowCount * inFeatures * outFeatures, inputShape.dropLast() + [outFeatures])
    }
}

extension Conv2d: FLOPCounting {
    /// `2·Ho·Wo·C_out·(C_in/groups)·kh·kw` per sample.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        let w = weight.shape                                  // [C_out, C_in/groups, kh, kw]
        guard x.count == 4, x[1] == w[1] * groups,
              let ho = windowLength(x[2], kernel: w[2], stride: stride.0, padding: padding.0, dilation: dilation.0),
              let wo = windowLength(x[3], kernel: w[3], stride: stride.1, padding: padding.1, dilation: dilation.1)
        else { return nil }
        return (2 * x[0] * ho * wo * w[0] * w[1] * w[2] * w[3], [x[0], w[0], ho, wo])
    }
}

extension Conv1d: FLOPCounting {
    /// `2·Lo·C_out·(C_in/groups)·k` per sample.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        let w = weight.shape                                  // [C_out, C_in/groups, k]
        guard x.count == 3, x[1] == w[1] * groups,
              let lo = windowLength(x[2], kernel: w[2], stride: stride, padding: padding, dilation: dilation) else { return nil }
        return (2 * x[0] * lo * w[0] * w[1] * w[2], [x[0], w[0], lo])
    }
}

extension ConvTranspose2d: FLOPCounting {
    /// `2·H·W·C_in·(C_out/groups)·kh·kw` per sample: every input pixel scatters one kernel per output channel.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        let w = weight.shape                                  // [C_in, C_out/groups, kh, kw]
        guard x.count == 4, x[1] == w[0] else { return nil }
        let ho = (x[2] - 1) * stride.0 - 2 * padding.0 + dilation.0 * (w[2] - 1) + outputPadding.0 + 1
        let wo = (x[3] - 1) * stride.1 - 2 * padding.1 + dilation.1 * (w[3] - 1) + outputPadding.1 + 1
        guard ho > 0 && wo > 0 else { return nil }
        return (2 * x[0] * x[2] * x[3] * w[0] * w[1] * w[2] * w[3], [x[0], w[1] * groups, ho, wo])
    }
}

extension RecurrentLayer: FLOPCounting {
    /// Per step, layer and direction `2·gates·H·(I_layer + H)` (LSTM: `8H(I + H)`), times `T`.
    /// Input `[B, T, I]` when `batchFirst`, else `[T, B, I]`; output `[…, D·H]`.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        guard x.count == 3, x[2] == inputSize else { return nil }
        let (batch, steps) = batchFirst ? (x[0], x[1]) : (x[1], x[0])
        let directions = bidirectional ? 2 : 1
        let gates = cell.gateCount * hiddenSize
        var macs = 0
        for layer in 0..<numLayers {
            let layerInput = layer == 0 ? inputSize : directions * hiddenSize
            macs += directions * gates * (layerInput + hiddenSize)
        }
        return (2 * batch * steps * macs, [x[0], x[1], directions * hiddenSize])
    }
}

extension Embedding: FLOPCounting {
    /// A lookup: no multiply-adds. `[…] → […, D]`.
    public func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])? { (0, inputShape + [embeddingDim]) }
}

extension MaxPool2d: FLOPCounting {
    /// No multiply-adds. `[N, C, H, W] → [N, C, Ho, Wo]`.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        guard x.count == 4, let ho = windowLength(x[2], kernel: kernel.0, stride: stride.0, padding: padding.0),
              let wo = windowLength(x[3], kernel: kernel.1, stride: stride.1, padding: padding.1) else { return nil }
        return (0, [x[0], x[1], ho, wo])
    }
}

extension AvgPool2d: FLOPCounting {
    /// No multiply-adds. `[N, C, H, W] → [N, C, Ho, Wo]`.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        guard x.count == 4, let ho = windowLength(x[2], kernel: kernel.0, stride: stride.0, padding: padding.0),
              let wo = windowLength(x[3], kernel: kernel.1, stride: stride.1, padding: padding.1) else { return nil }
        return (0, [x[0], x[1], ho, wo])
    }
}

extension AdaptiveAvgPool2d: FLOPCounting {
    /// No multiply-adds. `[N, C, H, W] → [N, C, Ho, Wo]`.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        x.count == 4 ? (0, [x[0], x[1], outputSize.0, outputSize.1]) : nil
    }
}

extension Flatten: FLOPCounting {
    /// No arithmetic; dims `startDim...endDim` merged.
    public func flops(inputShape x: [Int]) -> (flops: Int, outputShape: [Int])? {
        guard !x.isEmpty else { return (0, [1]) }
        let s = startDim < 0 ? startDim + x.count : startDim, e = endDim < 0 ? endDim + x.count : endDim
        guard 0 <= s && s <= e && e < x.count else { return nil }
        return (0, Array(x[..<s]) + [x[s...e].reduce(1, *)] + Array(x[(e + 1)...]))
    }
}

extension Sequential: FLOPCounting {
    /// The sum over the layers, each given the previous one's output shape; nil if any layer's count is unknown.
    public func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])? {
        var shape = inputShape, total = 0
        for layer in layers {
            guard let counted = (layer as? any FLOPCounting)?.flops(inputShape: shape) else { return nil }
            total += counted.flops
            shape = counted.outputShape
        }
        return (total, shape)
    }
}

extension GraphModel: FLOPCounting {
    /// The sum over the graph's layer nodes, shapes propagated through the graph ops.
    public func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])? {
        var walker = Walker()
        return walker.walk(self, prefix: "", shape: inputShape)
    }
}

/// Layers that keep their input's shape and do no multiply-adds (activations, normalisation, dropout).
protocol ShapePreservingLayer: FLOPCounting {}

extension ShapePreservingLayer {
    /// No multiply-adds; the shape passes through.
    public func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])? { (0, inputShape) }
}

extension ReLU: FLOPCounting, ShapePreservingLayer {}
extension LeakyReLU: FLOPCounting, ShapePreservingLayer {}
extension GELU: FLOPCounting, ShapePreservingLayer {}
extension SiLU: FLOPCounting, ShapePreservingLayer {}
extension Tanh: FLOPCounting, ShapePreservingLayer {}
extension Sigmoid: FLOPCounting, ShapePreservingLayer {}
extension Softmax: FLOPCounting, ShapePreservingLayer {}
extension LogSoftmax: FLOPCounting, ShapePreservingLayer {}
extension Dropout: FLOPCounting, ShapePreservingLayer {}
extension LayerNorm: FLOPCounting, ShapePreservingLayer {}
extension GroupNorm: FLOPCounting, ShapePreservingLayer {}
extension BatchNorm1d: FLOPCounting, ShapePreservingLayer {}
extension BatchNorm2d: FLOPCounting, ShapePreservingLayer {}

extension TransformerEncoderLayer: FLOPCounting {
    /// Self-attention and the feed-forward network over `T` tokens of width `E` (`[B, T, E]` batch-first):
    /// the q/k/v projection `2·T·E·3E`, `Q·Kᵀ` and `P·V` `2·2·T·T·E`, the output projection `2·T·E·E`,
    /// and the two feed-forward products `2·2·T·E·F`.
    public func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])? {
        guard inputShape.count == 3, inputShape[2] == selfAttn.embedDim else { return nil }
        let tokens = selfAttn.batchFirst ? inputShape[1] : inputShape[0]
        let batch = selfAttn.batchFirst ? inputShape[0] : inputShape[1]
        let (e, f) = (selfAttn.embedDim, linear1.weight.shape[0])
        let perSequence = 2 * tokens * e * 3 * e + 4 * tokens * tokens * e + 2 * tokens * e * e + 4 * tokens * e * f
        return (batch * perSequence, inputShape)
    }
}

extension VisionTransformer: FLOPCounting {
    /// The patch embedding, every encoder layer over the patches plus the class token, and the head.
    public func flops(inputShape: [Int]) -> (flops: Int, outputShape: [Int])? {
        guard inputShape.count == 4, inputShape[1] == channels, inputShape[2] == imageSize, inputShape[3] == imageSize else { return nil }
        let batch = inputShape[0], patches = (imageSize / patchSize) * (imageSize / patchSize)
        let width = patchEmbed.weight.shape[0]
        var total = patchEmbed.flops(inputShape: [batch, patches, channels * patchSize * patchSize])!.flops
        for layer in encoder.layers {
            guard let counted = layer.flops(inputShape: [batch, patches + 1, width]) else { return nil }
            total += counted.flops
        }
        total += head.flops(inputShape: [batch, width])!.flops
        return (total, [batch, head.weight.shape[0]])
    }
}
