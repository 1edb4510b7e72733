/// Parameters that share a learning rate and weight decay, as a PyTorch parameter group.
public struct ParameterGroup {
    /// The tensors the group updates.
    public var parameters: [Tensor]
    /// The group's learning rate (schedules write it).
    public var learningRate: Double
    /// The group's weight decay.
    public var weightDecay: Double

    /// A group of `parameters` with its rate and weight decay.
    public init(_ parameters: [Tensor], learningRate: Double, weightDecay: Double = 0) {
        (self.parameters, self.learningRate, self.weightDecay) = (parameters, learningRate, weightDecay)
    }
}

/// The state an optimizer keeps for one parameter: named buffers shaped like it (`momentum_buffer`,
/// `exp_avg`, …) and the number of steps taken. `Optimizer.stateDict()` saves all of it.
public final class ParameterState {
    /// The buffers made so far, by name.
    public fileprivate(set) var buffers: [String: Tensor] = [:]
    /// Steps taken for this parameter, the one being applied included: 1 during the first `update`.
    public fileprivate(set) var step = 0

    init() {}

    /// The buffer `name`, made on first use as a tensor shaped like `parameter` (same dtype) filled with
    /// `initialValue`. Check `buffers[name] == nil` first to tell a first step apart.
    public func buffer(_ name: String, like parameter: Tensor, initialValue: Double = 0) -> Tensor {
        if let b = buffers[name] { return b }
        let b = Tensor.full(parameter.shape, initialValue, dtype: parameter.dtype)
        buffers[name] = b
        return b
    }
}

/// Updates parameters from their gradients, as PyTorch's `torch.optim.Optimizer`.
///
/// `step()` visits every parameter of every group that has a gradient and calls `update` on it; parameters
/// without a gradient are skipped. The built-in optimizers' updates are flat loops over the raw buffers,
/// never recorded on the tape.
///
/// To write an optimizer, subclass this and override `update(_:gradient:state:group:)`; the initialiser
/// takes the parameter groups. The update runs with recording off (`withNoGrad`), so it may use tensor ops
/// and write the result with `copy(from:)`:
///
/// ```swift
/// /// Heavy-ball momentum: m ← 0.9·m + ∇, θ ← θ − η·m.
/// final class HeavyBall: Optimizer {
///     init(_ parameters: [Tensor], learningRate: Double) {
///         super.init(groups: [ParameterGroup(parameters, learningRate: learningRate)])
///     }
///     override func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
///         let m = state.buffer("momentum", like: parameter)        // saved by stateDict() as state.<i>.momentum
///         m.copy(from: m * 0.9 + gradient)
///         parameter.copy(from: parameter - m * group.learningRate)
///     }
/// }
/// ```
open class Optimizer {
    /// The parameter groups, each with its own rate and decay.
    public var groups: [ParameterGroup]
    private var states: [ObjectIdentifier: ParameterState] = [:]

    /// An optimizer over `groups`, each with its own learning rate and weight decay.
    public init(groups: [ParameterGroup]) {
        for group in groups {
            for p in group.parameters {
                require(p.isContiguous && p.dtype.isFloatingPoint,
                             "optimizer: parameters must be contiguous floating-point tensors, got \(p.dtype) \(p.shape)")
            }
        }
        self.groups = groups
    }

    /// The learning rate of the first group; setting it sets every group's.
    public var learningRate: Double {
        get { groups.first?.learningRate ?? 0 }
        set { for i in groups.indices { groups[i].learningRate = newValue } }
    }

    /// Applies one update to every parameter that has a gradient: its state's step count goes up by one,
    /// then `update` runs with recording off.
    public func step() {
        withNoGrad {
            for group in groups {
                for parameter in group.parameters {
                    guard let grad = parameter.grad else { continue }
                    require(grad.shape == parameter.shape && grad.dtype == parameter.dtype,
                            "optimizer: gradient \(grad.shape) (\(grad.dtype)) does not match parameter \(parameter.shape) (\(parameter.dtype))")
                    let state = states[ObjectIdentifier(parameter), default: ParameterState()]
                    states[ObjectIdentifier(parameter)] = state
                    state.step += 1
                    update(parameter, gradient: grad.contiguousData(), state: state, group: group)
                }
            }
        }
    }

    /// Clears the gradient of every parameter (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() {
        for group in groups { for p in group.parameters { p.zeroGrad() } }
    }

    /// Updates one parameter in place; every optimizer overrides it.
    ///
    /// - Parameters:
    ///   - parameter: a contiguous floating-point tensor of `group`, to be written in place.
    ///   - gradient: its gradient, contiguous, with its shape and dtype. It may share storage with other
    ///     tensors, so read it but never write it.
    ///   - state: this parameter's buffers and step count (already counting this step), kept between steps
    ///     and saved by `stateDict()`.
    ///   - group: the parameter's group, with the learning rate and weight decay to use now (a schedule may
    ///     have changed them since the last step).
    open func update(_ parameter: Tensor, gradient: Tensor, state: ParameterState, group: ParameterGroup) {
        fatalError("\(Self.self) must override update(_:gradient:state:group:)")
    }

    /// The per-parameter state, as flat tensors named `state.<index>.<buffer>` and `state.<index>.step`,
    /// with parameters numbered in group order as PyTorch numbers them, plus each group's learning rate.
    public func stateDict() -> [String: Tensor] {
        var dict: [String: Tensor] = [:]
        for (index, parameter) in groups.flatMap(\.parameters).enumerated() {
            guard let state = states[ObjectIdentifier(parameter)] else { continue }
            dict["state.\(index).step"] = Tensor([Int64(state.step)], shape: [])
            for (name, buffer) in state.buffers { dict["state.\(index).\(name)"] = buffer }
        }
        for (index, group) in groups.enumerated() {
            dict["param_groups.\(index).lr"] = Tensor([group.learningRate], shape: [])
        }
        return dict
    }

    /// The buffers `update` keeps per parameter (`["exp_avg", "exp_avg_sq"]` for Adam), which `loadStateDict`
    /// requires of every parameter that has state; nil (the default, for an optimizer that does not say) accepts
    /// any buffer shaped like its parameter.
    open var stateBufferNames: Set<String>? { nil }

    /// The largest step count a state dict may hold: 2^53, the largest integer every dtype stores exactly.
    public static let maxStepCount = 1 << 53

    /// Restores what `stateDict()` saved, for an optimizer over parameters of the same shapes (every buffer
    /// is shaped like its parameter).
    ///
    /// Everything is checked before anything changes: keys (`state.<i>.<name>` with `i` a parameter index
    /// written without a sign or leading zeros, `param_groups.<g>.lr`), each `step` one whole count (shape `[]`) in
    /// 0...2^53, each `lr` one finite non-negative number, each buffer shaped like its parameter with finite
    /// values its dtype holds, and every parameter with state holding a step and `stateBufferNames`.
    /// - Throws: `OptimizerStateError` naming the first entry that does not fit, with its bad value.
    public func loadStateDict(_ dict: [String: Tensor]) throws {
        let parameters = groups.flatMap(\.parameters)
        var restored: [Int: ParameterState] = [:]
        var rates = groups.map(\.learningRate)
        func fail(_ key: String, _ reason: String) -> OptimizerStateError { OptimizerStateError(key: key, reason: reason) }
        func index(_ text: Substring, below bound: Int, _ key: String, _ what: String) throws -> Int {
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text == "0" || text.first != "0",
                  let value = Int(text), value < bound else {
                throw fail(key, "no \(what) with index '\(text)' (the optimizer has \(bound))")
            }
            return value
        }
        func scalar(_ key: String, _ tensor: Tensor) throws -> Double {
            guard tensor.shape == [] else { throw fail(key, "shape \(tensor.shape), expected one value (shape [])") }
            return tensor.toDoubles()[0]
        }
        for (key, tensor) in dict.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: ".", omittingEmptySubsequences: false)
            switch (parts.first, parts.count) {
            case ("state", 3):
                let i = try index(parts[1], below: parameters.count, key, "parameter")
                let state = restored[i, default: ParameterState()]
                restored[i] = state
                let name = String(parts[2])
                if name == "step" {
                    let step: Int
                    if tensor.dtype == .int64 {
                        guard tensor.shape == [] else { throw fail(key, "shape \(tensor.shape), expected one value (shape [])") }
                        step = Int(tensor.scalars(as: Int64.self)[0])
                    } else {
                        let value = try scalar(key, tensor)
                        guard value.isFinite, value.rounded() == value, abs(value) <= Double(Self.maxStepCount) else {
                            throw fail(key, "step \(value) is not a whole count in 0...2^53")
                        }
                        step = Int(value)
                    }
                    guard step >= 0, step <= Self.maxStepCount else { throw fail(key, "step \(step) is not a count in 0...2^53") }
                    state.step = step
                } else {
                    let parameter = parameters[i]
                    if let names = stateBufferNames, !names.contains(name) {
                        throw fail(key, "\(Self.self) keeps no buffer '\(name)' (it keeps \(names.sorted()))")
                    }
                    guard tensor.shape == parameter.shape else {
                        throw fail(key, "shape \(tensor.shape) does not match parameter shape \(parameter.shape)")
                    }
                    if tensor.dtype.isFloatingPoint, let bad = tensor.toDoubles().first(where: { !$0.isFinite || (parameter.dtype == .float32 && !Float($0).isFinite) }) {
                        throw fail(key, "holds \(bad), which a finite \(parameter.dtype) buffer cannot")
                    }
                    state.buffers[name] = tensor.to(parameter.dtype).contiguous().clone()
                }
            case ("param_groups", 3) where parts[2] == "lr":
                let g = try index(parts[1], below: groups.count, key, "parameter group")
                let rate = try scalar(key, tensor)
                guard rate.isFinite, rate >= 0 else { throw fail(key, "learning rate \(rate) is not a finite non-negative number") }
                rates[g] = rate
            default:
                throw fail(key, "not an optimizer state entry")
            }
        }
        for (i, state) in restored.sorted(by: { $0.key < $1.key }) {
            guard dict["state.\(i).step"] != nil else { throw fail("state.\(i).step", "missing: parameter \(i) has buffers but no step count") }
            if let names = stateBufferNames, let missing = names.subtracting(state.buffers.keys).sorted().first {
                throw fail("state.\(i).\(missing)", "missing: \(Self.self) keeps it for every parameter with state")
            }
        }
        states = Dictionary(restored.map { (ObjectIdentifier(parameters[$0.key]), $0.value) }, uniquingKeysWith: { first, _ in first })
        for i in groups.indices { groups[i].learningRate = rates[i] }
    }
}

/// An optimizer state entry that does not fit the optimizer it is loaded into.
public struct OptimizerStateError: Error, CustomStringConvertible {
    /// The state entry at fault.
    public var key: String
    /// What is wrong with it.
    public var reason: String
    /// The key and the reason, on one line.
    public var description: String { "optimizer state \(key): \(reason)" }
}
