/// A tensor a module owns that is saved and loaded with it but never trained, such as BatchNorm's
/// running statistics. Declare it as `@Buffer var runningMean: Tensor`.
@propertyWrapper
public final class Buffer {
    public var wrappedValue: Tensor
    public init(wrappedValue: Tensor) { self.wrappedValue = wrappedValue }
}

/// One named thing a module holds directly.
public enum ModuleEntry {
    case parameter(Tensor)
    case buffer(Tensor)
    case module(any Module)
}

/// A building block of a model: it owns parameters, buffers and child modules.
///
/// Nothing is registered by hand. A module's entries are found from its stored properties with `Mirror`:
/// a `Tensor` property is a parameter, a `@Buffer` property a buffer, and a `Module` (or an array or
/// optional of modules) a child. Property names become PyTorch's snake_case names (`runningMean` →
/// `running_mean`, `selfAttn` → `self_attn`) and array elements are numbered, so a model's state dict
/// reads `layers.0.weight` exactly as the equivalent PyTorch module's does. A module whose PyTorch
/// names follow another pattern (`Sequential`, the recurrent layers) implements `entries` itself.
public protocol Module: AnyObject {
    /// The parameters, buffers and children this module holds directly, under their PyTorch names.
    var entries: [(name: String, entry: ModuleEntry)] { get }
}

/// A module that maps one tensor to one tensor, and so can be chained in a `Sequential`.
public protocol Layer: Module {
    func callAsFunction(_ input: Tensor) -> Tensor
}

/// A module whose behaviour differs between training and evaluation (Dropout, BatchNorm).
public protocol ModeDependent: AnyObject {
    var isTraining: Bool { get set }
}

extension Module {
    public var entries: [(name: String, entry: ModuleEntry)] {
        var found: [(name: String, entry: ModuleEntry)] = []
        for child in Mirror(reflecting: self).children {
            guard let label = child.label else { continue }
            let name = snakeCase(label.hasPrefix("_") ? String(label.dropFirst()) : label)
            switch child.value {
            case let tensor as Tensor: found.append((name, .parameter(tensor)))
            case let buffer as Buffer: found.append((name, .buffer(buffer.wrappedValue)))
            case let module as any Module: found.append((name, .module(module)))
            case let modules as [any Module]:
                for (index, module) in modules.enumerated() { found.append(("\(name).\(index)", .module(module))) }
            default: continue
            }
        }
        return found
    }

    /// Every parameter, buffer and submodule below this module, depth first, with dotted names.
    public func namedEntries(prefix: String = "") -> [(name: String, entry: ModuleEntry)] {
        var result: [(name: String, entry: ModuleEntry)] = []
        var stack: [(String, ModuleEntry)] = entries.reversed().map { (prefix + $0.name, $0.entry) }
        while let (name, entry) = stack.popLast() {
            result.append((name, entry))
            if case .module(let module) = entry {
                stack.append(contentsOf: module.entries.reversed().map { ("\(name).\($0.name)", $0.entry) })
            }
        }
        return result
    }

    /// Every parameter with its dotted PyTorch name (`layers.0.weight`), frozen ones included.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        namedEntries().compactMap { if case .parameter(let t) = $0.entry { ($0.name, t) } else { nil } }
    }

    /// Every parameter, frozen ones included.
    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// The parameters an optimizer should update: those that require grad.
    public func trainableParameters() -> [Tensor] { parameters().filter(\.requiresGrad) }

    /// Every submodule below this one, this one first.
    public func modules() -> [any Module] {
        [self] + namedEntries().compactMap { if case .module(let m) = $0.entry { m } else { nil } }
    }

    /// Parameters and buffers by dotted name, as PyTorch's `state_dict()`.
    public func stateDict() -> [String: Tensor] {
        var state: [String: Tensor] = [:]
        for (name, entry) in namedEntries() {
            switch entry {
            case .parameter(let t), .buffer(let t): state[name] = t
            case .module: continue
            }
        }
        return state
    }

    /// Copies `state` into this module's parameters and buffers, converting dtypes as PyTorch's `copy_` does.
    ///
    /// Every problem is collected before anything is written: keys the module lacks (unexpected), keys the
    /// state lacks (missing, ignored when `strict` is false) and shape mismatches (always an error).
    /// - Throws: `StateDictError` listing all of them; the module is left unchanged.
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        let own = stateDict()
        var error = StateDictError()
        error.missing = strict ? own.keys.filter { state[$0] == nil }.sorted() : []
        error.unexpected = strict ? state.keys.filter { own[$0] == nil }.sorted() : []
        for (name, target) in own.sorted(by: { $0.key < $1.key }) {
            if let source = state[name], source.shape != target.shape {
                error.shapeMismatches.append((name, expected: target.shape, found: source.shape))
            }
        }
        guard error.isEmpty else { throw error }
        for (name, target) in own {
            if let source = state[name] { target.copy(from: source) }
        }
    }

    /// Stops gradients to every parameter (`requires_grad_(False)`).
    public func freeze() { for p in parameters() { p.requiresGrad = false } }

    /// Lets gradients flow to every parameter again.
    public func unfreeze() { for p in parameters() { p.requiresGrad = true } }

    /// Clears the gradient of every parameter.
    public func zeroGrad() { for p in parameters() { p.zeroGrad() } }

    /// Puts this module and every submodule in training mode (Dropout drops, BatchNorm uses batch statistics).
    public func train() { setTraining(true) }

    /// Puts this module and every submodule in evaluation mode.
    public func eval() { setTraining(false) }

    private func setTraining(_ training: Bool) {
        for module in modules() { (module as? any ModeDependent)?.isTraining = training }
    }
}

/// The problems found by `loadStateDict`, all at once.
public struct StateDictError: Error, CustomStringConvertible, Equatable {
    public var missing: [String] = []
    public var unexpected: [String] = []
    public var shapeMismatches: [(name: String, expected: [Int], found: [Int])] = []

    var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty }

    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        for m in shapeMismatches {
            parts.append("\(m.name): checkpoint shape \(m.found), model shape \(m.expected)")
        }
        return "state dict does not fit the model: " + parts.joined(separator: "; ")
    }

    public static func == (a: StateDictError, b: StateDictError) -> Bool { a.description == b.description }
}

/// `camelCase1` → `camel_case1`, the PyTorch spelling of a Swift property name.
func snakeCase(_ name: String) -> String {
    var out = ""
    for character in name {
        if character.isUppercase {
            if !out.isEmpty { out.append("_") }
            out.append(contentsOf: character.lowercased())
        } else {
            out.append(character)
        }
    }
    return out
}
