/// Layers applied one after another, named `0`, `1`, … as in PyTorch's `nn.Sequential`.
///
/// ```swift
/// let model = Sequential {
///     Linear(784, 512); ReLU()
///     Linear(512, 10)
/// }
/// ```
public final class Sequential: Layer {
    public let layers: [any Layer]

    public init(_ layers: [any Layer]) { self.layers = layers }

    public init(@LayerBuilder _ build: () -> [any Layer]) { self.layers = build() }

    public var entries: [(name: String, entry: ModuleEntry)] {
        layers.enumerated().map { ("\($0.offset)", .module($0.element)) }
    }

    public func callAsFunction(_ input: Tensor) -> Tensor {
        layers.reduce(input) { x, layer in layer(x) }
    }
}

/// Collects the layers written in a `Sequential { … }` block.
@resultBuilder
public enum LayerBuilder {
    public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
    public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
    public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
    public static func buildEither(first: [any Layer]) -> [any Layer] { first }
    public static func buildEither(second: [any Layer]) -> [any Layer] { second }
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
