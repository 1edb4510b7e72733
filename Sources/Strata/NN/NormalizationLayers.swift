/// Normalisation layers with PyTorch's names, defaults and state dicts. Each forwards to the fused op of the
/// same name in `Ops/Normalization.swift`. Shapes: `N` = batch, `C` = channels, `L` = length, `H`×`W` = image.

/// Layer normalisation over the trailing `normalizedShape` dims, as `nn.LayerNorm`.
///
/// `y = (x − E[x]) / √(Var[x] + eps) · γ + β`.
/// - `weight` (γ): `normalizedShape`, initialised to ones; `bias` (β): `normalizedShape`, zeros.
public final class LayerNorm: Layer {
    public let normalizedShape: [Int]
    public let eps: Double
    public var weight: Tensor?
    public var bias: Tensor?

    /// - Parameters:
    ///   - normalizedShape: the trailing dims of the input to normalise over.
    ///   - elementwiseAffine: whether to learn `weight` (and `bias`, unless `bias` is false).
    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true,
                dtype: DType = .float32) {
        _ = requireSettings { try Self.stateShapes(normalizedShape, elementwiseAffine: elementwiseAffine, bias: bias, dtype: dtype) }
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Tensor.ones(normalizedShape, dtype: dtype) : nil
        self.bias = elementwiseAffine && bias ? Tensor.zeros(normalizedShape, dtype: dtype) : nil
        weight?.requiresGrad = true
        self.bias?.requiresGrad = true
    }

    /// The state `init` makes, before making it: `weight`, then `bias`, each `normalizedShape`, when affine.
    /// - Throws: `ShapeError` for an empty or negative `normalizedShape` (`.setting`) or one with more elements
    ///   than fit in `Int`.
    public static func stateShapes(_ normalizedShape: [Int], elementwiseAffine: Bool = true, bias: Bool = true,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule("LayerNorm")
        try rule.check(!normalizedShape.isEmpty, "normalized_shape", "normalized_shape must name at least one dim")
        for size in normalizedShape { try rule.size("normalized_shape", size, atLeast: 0) }
        let weight = try rule.entry("weight", normalizedShape, dtype)
        guard elementwiseAffine else { return [] }
        return bias ? [weight, StateEntry("bias", normalizedShape, dtype)] : [weight]
    }

    /// Normalises over the last dimension of size `size`.
    public convenience init(_ size: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true,
                            dtype: DType = .float32) {
        self.init([size], eps: eps, elementwiseAffine: elementwiseAffine, bias: bias, dtype: dtype)
    }

    /// `[..., *normalizedShape] → [..., *normalizedShape]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        Tensor.layerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }
}

/// Group normalisation, as `nn.GroupNorm`: channels split into `numGroups` groups, each normalised per sample.
///
/// - `weight` (γ): `[C]`, ones; `bias` (β): `[C]`, zeros.
public final class GroupNorm: Layer {
    public let numGroups: Int
    public let numChannels: Int
    public let eps: Double
    public var weight: Tensor?
    public var bias: Tensor?

    /// - Parameters:
    ///   - numGroups: groups to split the channels into; must divide `numChannels`.
    ///   - numChannels: `C`, the size of the input's second dim.
    ///   - affine: whether to learn a per-channel `weight` and `bias`.
    public init(_ numGroups: Int, _ numChannels: Int, eps: Double = 1e-5, affine: Bool = true, dtype: DType = .float32) {
        _ = requireSettings { try Self.stateShapes(numGroups, numChannels, affine: affine, dtype: dtype) }
        (self.numGroups, self.numChannels, self.eps) = (numGroups, numChannels, eps)
        weight = affine ? Tensor.ones([numChannels], dtype: dtype) : nil
        bias = affine ? Tensor.zeros([numChannels], dtype: dtype) : nil
        weight?.requiresGrad = true
        bias?.requiresGrad = true
    }

    /// The state `init` makes, before making it: `weight` and `bias` `[C]` when `affine`.
    /// - Throws: `ShapeError` (`.setting`) for groups below 1 or not dividing the channels.
    public static func stateShapes(_ numGroups: Int, _ numChannels: Int, affine: Bool = true,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        let rule = SettingRule("GroupNorm")
        try rule.size("num_groups", numGroups, atLeast: 1)
        try rule.size("num_channels", numChannels, atLeast: 0)
        try rule.check(numChannels % numGroups == 0, "num_groups", "\(numChannels) channels do not split into \(numGroups) groups")
        return affine ? [StateEntry("weight", [numChannels], dtype), StateEntry("bias", [numChannels], dtype)] : []
    }

    /// `[N, C, *] → [N, C, *]`.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(input.rank >= 2 && input.shape[1] == numChannels,
                     "GroupNorm: input \(input.shape) must be [N, \(numChannels), *]")
        return Tensor.groupNorm(input, groups: numGroups, weight: weight, bias: bias, eps: eps)
    }
}

/// Batch normalisation, the shared implementation of `BatchNorm1d` and `BatchNorm2d`.
///
/// Training normalises each channel with the batch's mean and biased variance and updates
/// `running = (1 − momentum)·running + momentum·stat` (unbiased variance); evaluation uses the running values.
/// - `weight` (γ): `[C]`, ones; `bias` (β): `[C]`, zeros.
/// - Buffers: `runningMean` `[C]` zeros, `runningVar` `[C]` ones, `numBatchesTracked` int64 0-d, counting
///   training forwards.
/// The state dict reads `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked`.
public class BatchNorm: Layer, ModeDependent {
    public let numFeatures: Int
    public let eps: Double
    /// The running-average factor; `nil` for a cumulative average over all batches, as in PyTorch.
    public let momentum: Double?
    public let trackRunningStats: Bool
    public var weight: Tensor?
    public var bias: Tensor?
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let numBatchesTracked: Tensor
    /// Training mode (batch statistics, running ones updated) or evaluation (running statistics); see `train()`/`eval()`.
    public var isTraining = true
    private let name: String
    private let ranks: [Int]

    init(_ numFeatures: Int, eps: Double, momentum: Double?, affine: Bool, trackRunningStats: Bool, dtype: DType,
         name: String, ranks: [Int]) {
        _ = requireSettings { try Self.stateShapes(numFeatures, affine: affine, trackRunningStats: trackRunningStats, dtype: dtype) }
        (self.numFeatures, self.eps, self.momentum, self.trackRunningStats) = (numFeatures, eps, momentum, trackRunningStats)
        (self.name, self.ranks) = (name, ranks)
        weight = affine ? Tensor.ones([numFeatures], dtype: dtype) : nil
        bias = affine ? Tensor.zeros([numFeatures], dtype: dtype) : nil
        weight?.requiresGrad = true
        bias?.requiresGrad = true
        runningMean = Tensor.zeros([numFeatures], dtype: dtype)
        runningVar = Tensor.ones([numFeatures], dtype: dtype)
        numBatchesTracked = Tensor.zeros([], dtype: .int64)
    }

    /// The state `init` makes, before making it, in state-dict order: `weight` and `bias` `[C]` when `affine`,
    /// then `running_mean` and `running_var` `[C]` and the int64 0-d `num_batches_tracked` when
    /// `trackRunningStats`.
    /// - Throws: `ShapeError` (`.setting`) for a negative feature count.
    public static func stateShapes(_ numFeatures: Int, affine: Bool = true, trackRunningStats: Bool = true,
                                   dtype: DType = .float32) throws(ShapeError) -> [StateEntry] {
        try SettingRule(String(describing: self)).size("num_features", numFeatures, atLeast: 0)
        var state: [StateEntry] = []
        if affine { state += [StateEntry("weight", [numFeatures], dtype), StateEntry("bias", [numFeatures], dtype)] }
        if trackRunningStats {
            state += [StateEntry("running_mean", [numFeatures], dtype), StateEntry("running_var", [numFeatures], dtype),
                      StateEntry("num_batches_tracked", [], .int64)]
        }
        return state
    }

    /// PyTorch's state dict order; the running statistics are absent when they are not tracked.
    public var entries: [(name: String, entry: ModuleEntry)] {
        var found: [(name: String, entry: ModuleEntry)] = []
        if let weight { found.append(("weight", .parameter(weight))) }
        if let bias { found.append(("bias", .parameter(bias))) }
        if trackRunningStats {
            found += [("running_mean", .buffer(runningMean)), ("running_var", .buffer(runningVar)),
                      ("num_batches_tracked", .buffer(numBatchesTracked))]
        }
        return found
    }

    /// `[N, C, *] → [N, C, *]` for the ranks the subclass accepts.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(ranks.contains(input.rank), "\(name): input \(input.shape) must have rank \(ranks.map(String.init).joined(separator: " or ")) ([N, C, …])")
        return batchNormForward(input)
    }

    private func batchNormForward(_ input: Tensor) -> Tensor {
        require(input.shape[1] == numFeatures,
                     "BatchNorm: input \(input.shape) has \(input.shape[1]) channels, expected \(numFeatures)")
        var factor = momentum ?? 0
        if isTraining && trackRunningStats {
            numBatchesTracked.pointer(Int64.self).pointee += 1
            // momentum nil: a cumulative moving average, weighting every batch so far equally.
            if momentum == nil { factor = 1 / Double(numBatchesTracked.pointer(Int64.self).pointee) }
        }
        let useRunning = trackRunningStats
        return Tensor.batchNorm(input, runningMean: useRunning ? runningMean : nil, runningVar: useRunning ? runningVar : nil,
                                weight: weight, bias: bias, training: isTraining || !trackRunningStats,
                                momentum: factor, eps: eps)
    }
}

/// Batch normalisation over `[N, C]` or `[N, C, L]`, as `nn.BatchNorm1d`. See `BatchNorm`.
public final class BatchNorm1d: BatchNorm {
    /// - Parameters:
    ///   - numFeatures: `C`.
    ///   - affine: whether to learn `weight` and `bias`.
    ///   - trackRunningStats: whether to keep running statistics; without them evaluation also uses batch statistics.
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, dtype: DType = .float32) {
        super.init(numFeatures, eps: eps, momentum: momentum, affine: affine, trackRunningStats: trackRunningStats,
                   dtype: dtype, name: "BatchNorm1d", ranks: [2, 3])
    }
}

/// Batch normalisation over `[N, C, H, W]`, as `nn.BatchNorm2d`: each channel over `N·H·W` elements. See `BatchNorm`.
public final class BatchNorm2d: BatchNorm {
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, dtype: DType = .float32) {
        super.init(numFeatures, eps: eps, momentum: momentum, affine: affine, trackRunningStats: trackRunningStats,
                   dtype: dtype, name: "BatchNorm2d", ranks: [4])
    }
}

extension LayerNorm: ShapeInferring, ShapePreserving {
    /// The trailing dims must equal `normalizedShape`.
    func checkInput(_ rule: ShapeRule) throws(ShapeError) {
        guard rule.input.count >= normalizedShape.count, Array(rule.input.suffix(normalizedShape.count)) == normalizedShape else {
            throw rule.error(.size, "normalized_shape", "the trailing dims must equal normalized_shape \(normalizedShape)")
        }
    }
}

extension GroupNorm: ShapeInferring, ShapePreserving {
    /// `[N, C, *]` with `C = numChannels`.
    func checkInput(_ rule: ShapeRule) throws(ShapeError) {
        try rule.rank(atLeast: 2, "[N, C, *]")
        try rule.dimension(1, is: numChannels, argument: "num_channels")
    }
}

extension BatchNorm: ShapeInferring, ShapePreserving {
    /// `[N, C]` or `[N, C, L]` (`BatchNorm1d`), `[N, C, H, W]` (`BatchNorm2d`), with `C = numFeatures`.
    func checkInput(_ rule: ShapeRule) throws(ShapeError) {
        try rule.rank(ranks, ranks == [4] ? "[N, C, H, W]" : "[N, C] or [N, C, L]")
        try rule.dimension(1, is: numFeatures, argument: "num_features")
    }
}
