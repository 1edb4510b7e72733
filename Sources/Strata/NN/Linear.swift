/// A fully connected layer, `y = x · Wᵀ + b`, as PyTorch's `nn.Linear`.
///
/// - `weight`: `[out, in]`, initialised U(−1/√in, 1/√in) (Kaiming uniform with a = √5, PyTorch's default).
/// - `bias`: `[out]`, initialised U(−1/√in, 1/√in).
public final class Linear: Layer {
    public var weight: Tensor
    public var bias: Tensor?

    /// - Parameters:
    ///   - inFeatures: size of each input's last dimension.
    ///   - outFeatures: size of each output's last dimension.
    ///   - bias: whether to learn an additive bias.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .float32) {
        let state = requireSettings { try Self.stateShapes(inFeatures, outFeatures, bias: bias, dtype: dtype) }
        weight = Init.kaimingUniform(state[0].shape, a: 5.0.squareRoot(), dtype: dtype)
        weight.requiresGrad = true
        let bound = inFeatures > 0 ? 1 / Double(inFeatures).squareRoot() : 0
        self.bias = bias ? Init.uniform(state[1].shape, low: -bound, high: bound, dtype: dtype) : nil
        self.bias?.requiresGrad = true
    }

    /// The state `init` makes, before making it: `weight` `[out, in]`, then `bias` `[out]` when `bias`.
    /// - Throws: `ShapeError` for a negative size (`.setting`) or a weight with more elements than fit in `Int`.
    public static func stateShapes(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule("Linear")
        try rule.size("in_features", inFeatures, atLeast: 0)
        try rule.size("out_features", outFeatures, atLeast: 0)
        let weight = try rule.entry("weight", [outFeatures, inFeatures], dtype)
        return bias ? [weight, try rule.entry("bias", [outFeatures], dtype)] : [weight]
    }

    /// `[..., in] → [..., out]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.linear(input, weight: weight, bias: bias)
    }
}

/// Flattens dimensions `startDim...endDim` (by default all but the batch dimension), as `nn.Flatten`.
public final class Flatten: Layer {
    public let startDim: Int
    public let endDim: Int

    public init(startDim: Int = 1, endDim: Int = -1) {
        (self.startDim, self.endDim) = (startDim, endDim)
    }

    public func callAsFunction(_ input: Tensor) -> Tensor { input.flattened(from: startDim, to: endDim) }
}

extension Linear: ShapeInferring {
    /// `[…, in] → […, out]`, and `2·rows·in·out` FLOPs with `rows` the product of the leading dims.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        let (outFeatures, inFeatures) = (weight.shape[0], weight.shape[1])
        try rule.rank(atLeast: 1, "[…, in_features]")
        try rule.dimension(-1, is: inFeatures, argument: "in_features")
        let output = try rule.output(input.dropLast() + [outFeatures])
        return (output, try rule.product(2, rule.product(input.dropLast()), inFeatures, outFeatures))
    }
}

extension Flatten: ShapeInferring {
    /// Dims `startDim...endDim` merged into one (a 0-d input becomes `[1]`); no arithmetic.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        let rule = try ShapeRule(self, input)
        guard !input.isEmpty else { return ([1], 0) }
        func dim(_ d: Int, _ argument: String) throws(ShapeError) -> Int {
            let normalised = d < 0 ? d + input.count : d
            guard (0..<input.count).contains(normalised) else {
                throw rule.error(.rank, argument, "\(argument) \(d) is out of range for rank \(input.count)")
            }
            return normalised
        }
        let (s, e) = (try dim(startDim, "start_dim"), try dim(endDim, "end_dim"))
        guard s <= e else { throw rule.error(.rank, "start_dim", "start_dim \(startDim) comes after end_dim \(endDim) for rank \(input.count)") }
        return (Array(input[..<s]) + [try rule.product(input[s...e])] + Array(input[(e + 1)...]), 0)
    }

    /// Any dtype: flattening moves no values.
    public func outputDType(for input: DType) throws(ShapeError) -> DType { input }
}
