/// Layers applied one after another, named `0`, `1`, … as in PyTorch's `nn.Sequential`.
///
/// ```swift
/// let model = Sequential {
///     Linear(784, 512); ReLU()
///     Linear(512, 10)
/// }
/// ```
public final class Sequential: Layer {
    /// The layers, applied in order.
    public let layers: [any Layer]

    /// The layers in `layers`, in order.
    public init(_ layers: [any Layer]) { self.layers = layers }

    /// The layers listed in `build`, in order: `Sequential { Linear(4, 8); ReLU() }`.
    public init(@LayerBuilder _ build: () -> [any Layer]) { self.layers = build() }

    public var entries: [(name: String, entry: ModuleEntry)] {
        layers.enumerated().map { ("\($0.offset)", .module($0.element)) }
    }

    /// Each layer applied to the previous one's output.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        layers.reduce(input) { x, layer in layer(x) }
    }
}

/// Collects the layers written in a `Sequential { … }` block.
@resultBuilder
public enum LayerBuilder {
    /// One layer.
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    /// The layers of every line, in order.
    public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
    /// The layers of an `if` without `else`, or none.
    public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
    /// The layers of an `if` branch.
    public static func buildEither(first: [any Layer]) -> [any Layer] { first }
    /// The layers of an `else` branch.
    public static func buildEither(second: [any Layer]) -> [any Layer] { second }
    /// The layers of every pass of a `for` loop.
    public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
}

extension Sequential: ShapeInferring {
    /// Each layer's rule given the previous one's output shape; the FLOPs summed. A failing layer is named
    /// by its index, and a layer without a rule throws `ShapeError.Kind.unsupported`.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        var (shape, total) = (input, 0)
        for (index, layer) in layers.enumerated() {
            guard let inferring = layer as? any ShapeInferring else {
                throw ShapeError(layer: String(describing: type(of: layer)), path: "\(index)", input: shape, kind: .unsupported,
                                 reason: "the layer has no shape rule (it does not conform to ShapeInferring)")
            }
            let (next, flops) = try childShape(inferring, "\(index)", shape)
            (shape, total) = (next, try rule.sum(total, flops))
        }
        return (shape, total)
    }

    /// Each layer's dtype rule given the previous one's output dtype.
    public func outputDType(for input: DType) throws(ShapeError) -> DType {
        var dtype = input
        for (index, layer) in layers.enumerated() {
            guard let inferring = layer as? any ShapeInferring else {
                throw ShapeError(layer: String(describing: type(of: layer)), path: "\(index)", input: [], kind: .unsupported,
                                 reason: "the layer has no shape rule (it does not conform to ShapeInferring)")
            }
            do { dtype = try inferring.outputDType(for: dtype) } catch { throw error.nested(under: "\(index)") }
        }
        return dtype
    }
}
