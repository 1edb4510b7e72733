import Strata

/// The layer table of a model, with totals: its layers, output shapes, parameter counts and FLOPs per sample,
/// as `dltrain info` prints them.
///
/// Every shape and FLOP count is the layers' own shape rule's (`ShapeInferring`): FLOPs are `2 ×` the
/// multiply-adds of the matrix products, convolutions and recurrences, the convention of `reference_torch.py`;
/// element-wise ops, normalisation, pooling and bias additions count 0. Shapes are full shapes for a batch of
/// one, `[1, …]`.
///
/// `Sequential` and `GraphModel` are walked child by child, each child's rule given the previous output, so
/// every row has its output shape and the FLOP total is known. Any other module is listed by its direct
/// children with their parameter counts; its shape and FLOPs are known when it has a shape rule itself.
/// A shape a rule refuses is shown as unknown (`?`), and so is everything after it.
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
                total = sum(total, result?.flops)
            }
            return total.flatMap { t in current.map { (t, $0) } }
        }
        if let graph = module as? GraphModel {
            var values: [(shape: [Int], dtype: DType)?] = [shape.map { ($0, graph.inputDType) }]
            var total: Int? = 0
            let names = ["input"] + graph.nodes.map(\.name)
            for node in graph.nodes {
                let inputs = node.inputs.compactMap { values[$0] }
                let result = inputs.count == node.inputs.count
                    ? try? GraphModel.infer(node.kind, node: node.name, op: node.op, inputNames: node.inputs.map { names[$0] }, inputs: inputs)
                    : nil
                if case .layer(let layer) = node.kind {
                    rows.append((prefix + node.name, typeName(layer), result?.shape, parameterCount(layer)))
                } else {
                    rows.append((prefix + node.name, node.op, result?.shape, 0))
                }
                values.append(result.map { ($0.shape, $0.dtype) })
                total = sum(total, result?.flops)
            }
            let output = values.last ?? nil
            return total.flatMap { t in output.map { (t, $0.shape) } }
        }
        let counted = shape.flatMap { try? (module as? any ShapeInferring)?.inferShape(for: $0) }
        let children = module.entries
        let hasChildModules = children.contains { if case .module = $0.entry { true } else { false } }
        if isRoot && hasChildModules {
            // An arbitrary model: list its direct children; its shape and FLOPs are known if it has a rule itself.
            for (name, entry) in children {
                switch entry {
                case .module(let child):
                    rows.append((name, typeName(child), nil, parameterCount(child)))
                case .parameter(let t):
                    rows.append((name, "Parameter", t.shape, t.count))
                case .buffer:
                    continue
                }
            }
            return counted.map { ($0.flops, $0.outputShape) }
        }
        let name = prefix.isEmpty ? typeName(module) : prefix
        rows.append((name, typeName(module), counted?.outputShape, parameterCount(module)))
        return counted.map { ($0.flops, $0.outputShape) }
    }

    /// `a + b`, nil when either is unknown or the sum overflows.
    private func sum(_ a: Int?, _ b: Int?) -> Int? {
        guard let a, let b else { return nil }
        let (total, overflow) = a.addingReportingOverflow(b)
        return overflow ? nil : total
    }
}

private func parameterCount(_ module: any Module) -> Int { module.parameters().reduce(0) { $0 + $1.count } }

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
