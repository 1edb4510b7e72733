/// Parameters that share a learning rate and weight decay, as a PyTorch parameter group.
public struct ParameterGroup {
    public var parameters: [Tensor]
    public var learningRate: Double
    public var weightDecay: Double

    public init(_ parameters: [Tensor], learningRate: Double, weightDecay: Double = 0) {
        (self.parameters, self.learningRate, self.weightDecay) = (parameters, learningRate, weightDecay)
    }
}

/// The buffers an optimizer keeps for one parameter (`momentum_buffer`, `exp_avg`, …) and its step count.
final class ParameterState {
    var buffers: [String: Tensor] = [:]
    var step = 0

    /// The buffer `name`, created as zeros shaped like `parameter` on first use.
    func buffer(_ name: String, like parameter: Tensor) -> Tensor {
        if let b = buffers[name] { return b }
        let b = Tensor.zeros(like: parameter)
        buffers[name] = b
        return b
    }
}

/// Updates parameters from their gradients. A step is a flat loop over raw buffers and is never
/// recorded on the tape. Parameters without a gradient are skipped.
public class Optimizer {
    public var groups: [ParameterGroup]
    private var states: [ObjectIdentifier: ParameterState] = [:]

    init(groups: [ParameterGroup]) {
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

    /// Applies one update to every parameter that has a gradient.
    public func step() {
        for group in groups {
            for parameter in group.parameters {
                guard let grad = parameter.grad else { continue }
                require(grad.shape == parameter.shape,
                             "optimizer: gradient \(grad.shape) does not match parameter \(parameter.shape)")
                let state = states[ObjectIdentifier(parameter), default: ParameterState()]
                states[ObjectIdentifier(parameter)] = state
                state.step += 1
                let g = grad.contiguousData()
                defer { withExtendedLifetime(g) {} }   // a fresh copy when grad is strided, read only through its pointer
                switch parameter.dtype {
                case .float32: update(Float.self, parameter: parameter.pointer(), grad: g.pointer(), count: parameter.count, group: group, state: state, like: parameter)
                case .float64: update(Double.self, parameter: parameter.pointer(), grad: g.pointer(), count: parameter.count, group: group, state: state, like: parameter)
                default: unsupported("optimizer step", parameter.dtype)
                }
            }
        }
    }

    /// Clears the gradient of every parameter (PyTorch's `zero_grad(set_to_none=True)`).
    public func zeroGrad() {
        for group in groups { for p in group.parameters { p.zeroGrad() } }
    }

    /// One parameter's update; each optimizer overrides it. A generic method called through the class is not
    /// specialised by the optimiser, so every override carries `@_specialize` for `Float` and `Double`:
    /// without it the update loop runs as unspecialised generic code, several times slower.
    func update<T: FloatElement>(_: T.Type, parameter p: UnsafeMutablePointer<T>, grad g: UnsafeMutablePointer<T>,
                                 count: Int, group: ParameterGroup, state: ParameterState, like parameter: Tensor) {
        fatalError("\(Self.self) must override update")
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

    /// Restores what `stateDict()` saved, for an optimizer over parameters of the same shapes.
    /// - Throws: `OptimizerStateError` naming the first entry that does not fit; nothing is changed then.
    public func loadStateDict(_ dict: [String: Tensor]) throws {
        let parameters = groups.flatMap(\.parameters)
        var restored: [ObjectIdentifier: ParameterState] = [:]
        var rates = groups.map(\.learningRate)
        for (key, tensor) in dict {
            let parts = key.split(separator: ".")
            switch (parts.first, parts.count) {
            case ("state", 3):
                guard let index = Int(parts[1]), index >= 0, index < parameters.count else {
                    throw OptimizerStateError(key: key, reason: "no parameter with that index (the optimizer has \(parameters.count))")
                }
                let state = restored[ObjectIdentifier(parameters[index]), default: ParameterState()]
                restored[ObjectIdentifier(parameters[index])] = state
                if parts[2] == "step" {
                    state.step = Int(tensor.item())
                } else {
                    guard tensor.shape == parameters[index].shape else {
                        throw OptimizerStateError(key: key, reason: "shape \(tensor.shape) does not match parameter shape \(parameters[index].shape)")
                    }
                    state.buffers[String(parts[2])] = tensor.to(parameters[index].dtype).contiguous().clone()
                }
            case ("param_groups", 3) where parts[2] == "lr":
                guard let index = Int(parts[1]), index >= 0, index < groups.count else {
                    throw OptimizerStateError(key: key, reason: "no parameter group with that index (the optimizer has \(groups.count))")
                }
                rates[index] = tensor.item()
            default:
                throw OptimizerStateError(key: key, reason: "not an optimizer state entry")
            }
        }
        states = restored
        for i in groups.indices { groups[i].learningRate = rates[i] }
    }
}

/// An optimizer state entry that does not fit the optimizer it is loaded into.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public var key: String
    public var reason: String
    public var description: String { "optimizer state \(key): \(reason)" }
}
