/// A tensor a module owns that is saved and loaded with it but never trained, such as BatchNorm's
/// running statistics. Declare it as `@Buffer var runningMean: Tensor`.
@propertyWrapper
public final class Buffer {
    /// The buffer's tensor.
    public var wrappedValue: Tensor
    /// Declares a buffer holding `wrappedValue`.
    public init(wrappedValue: Tensor) { self.wrappedValue = wrappedValue }
}

/// One named thing a module holds directly.
public enum ModuleEntry {
    /// A trained tensor.
    case parameter(Tensor)
    /// A saved but untrained tensor (see `Buffer`).
    case buffer(Tensor)
    /// A child module.
    case module(any Module)
}

/// A building block of a model: it owns parameters, buffers and child modules.
///
/// Nothing is registered by hand: a module's entries are found from its stored properties with `Mirror`,
/// its superclasses' properties first (as PyTorch registers them when `super().__init__` runs first). Each
/// stored property is one of:
///
/// | property type | becomes | names |
/// | --- | --- | --- |
/// | `Tensor` | a parameter | `name` |
/// | `@Buffer var x: Tensor` | a buffer | `name` |
/// | a module (any class conforming to `Module`) | a child | `name.*` |
/// | `[Tensor]` (PyTorch's `ParameterList`) | parameters | `name.0`, `name.1`, … |
/// | `[String: Tensor]` (`ParameterDict`) | parameters | `name.key`, keys in sorted order |
/// | an array of modules (`ModuleList`) | children | `name.0.*`, `name.1.*`, … |
/// | `[String: M]` with `M` a module type (`ModuleDict`) | children | `name.key.*`, keys in sorted order |
/// | an optional of any of these | the same when set, nothing when `nil` | |
/// | anything holding no tensor or module (`Int`, `Bool`, `Double`, `String`, enums, closures, …) | ignored | |
///
/// Swift dictionaries have no order, so dictionary entries come in the keys' sorted order (`String`'s `<`,
/// so `"10"` sorts before `"2"`), where PyTorch keeps insertion order; a key must be non-empty and free of
/// `.`, as in PyTorch. A reference to an object that is neither a tensor nor a module (an optimizer, a
/// cache) is not part of the module's state and is not walked, as PyTorch ignores such attributes.
///
/// Any other property that holds a tensor, buffer or module — `[Tensor?]`, `Set<Tensor>`, a tuple of
/// tensors, a struct or enum holding one, `[[Tensor]]`, a dictionary with non-`String` keys — stops the
/// program with a message naming the property and its type, rather than being left out of the state dict.
///
/// Property names become PyTorch's snake_case names (`runningMean` → `running_mean`, `selfAttn` →
/// `self_attn`), so a model's state dict reads `layers.0.weight` exactly as the equivalent PyTorch module's
/// does. A module whose PyTorch names follow another pattern (`Sequential`, the recurrent layers)
/// implements `entries` itself.
public protocol Module: AnyObject {
    /// The parameters, buffers and children this module holds directly, under their PyTorch names.
    var entries: [(name: String, entry: ModuleEntry)] { get }
}

/// A module that maps one tensor to one tensor, and so can be chained in a `Sequential`.
///
/// One rule covers the layers whose full call takes or returns more than one tensor (the recurrent layers,
/// attention, the transformer layers and stacks): as a `Layer`, such a layer feeds its one input to every
/// tensor input — attention attends with `query = key = value = x`, a decoder layer decodes `x` with
/// `memory = x` — and returns the **first** output: the recurrent layers' output sequence (not the final
/// states), attention's output (not the weights). This is PyTorch's convention that the first output flows
/// on; PyTorch's `nn.Sequential` itself passes the whole tuple on, which a user then unpacks in a wrapper.
/// The full call keeps its labelled arguments and its tuple result, and a direct call picks it, as in
/// PyTorch:
///
/// ```swift
/// let lstm = LSTM(8, 16)
/// let (output, hN, cN) = lstm(x)               // the full call, as PyTorch's lstm(x)
/// let states = lstm(x, h0: h, c0: c)           // the full call, with initial states
/// let y: Tensor = lstm(x)                      // the Layer call: the output sequence
/// let model = Sequential { lstm; Linear(16, 4) }   // the Layer call inside
/// ```
public protocol Layer: Module {
    /// The layer applied to one tensor.
    func callAsFunction(_ input: Tensor) -> Tensor
}

/// A module whose behaviour differs between training and evaluation (Dropout, BatchNorm).
public protocol ModeDependent: AnyObject {
    /// Whether the module is in training mode; `Module.train()` and `Module.eval()` set it for a whole tree.
    var isTraining: Bool { get set }
}

extension Module {
    public var entries: [(name: String, entry: ModuleEntry)] {
        var mirrors: [Mirror] = []
        var next: Mirror? = Mirror(reflecting: self)
        while let mirror = next {
            mirrors.append(mirror)
            next = mirror.superclassMirror
        }
        var found: [(name: String, entry: ModuleEntry)] = []
        for mirror in mirrors.reversed() {
            for child in mirror.children {
                guard let label = child.label else { continue }
                let property = propertyName(label)
                PropertyReflector(owner: self, property: property).collect(child.value, as: snakeCase(property), into: &found)
            }
        }
        return found
    }

    /// Every parameter, buffer and submodule below this module, depth first, with dotted names. A module
    /// reached through two properties appears under both names, as in PyTorch's `state_dict`.
    public func namedEntries(prefix: String = "") -> [(name: String, entry: ModuleEntry)] {
        var result: [(name: String, entry: ModuleEntry)] = []
        // Each pending entry carries the modules enclosing it, to stop on a cycle instead of looping forever.
        func pending(_ module: any Module, _ prefix: String, _ enclosing: [ObjectIdentifier]) -> [(String, ModuleEntry, [ObjectIdentifier])] {
            let path = enclosing + [ObjectIdentifier(module)]
            return module.entries.reversed().map { (prefix + $0.name, $0.entry, path) }
        }
        var stack = pending(self, prefix, [])
        while let (name, entry, enclosing) = stack.popLast() {
            result.append((name, entry))
            if case .module(let module) = entry {
                require(!enclosing.contains(ObjectIdentifier(module)),
                        "Module: \(name) (\(type(of: module))) is one of the modules enclosing it, so the module tree has a cycle; hold a reference to a parent in a non-module type")
                stack.append(contentsOf: pending(module, name + ".", enclosing))
            }
        }
        return result
    }

    /// Every parameter with its dotted PyTorch name (`layers.0.weight`), frozen ones included. A parameter
    /// shared by two submodules (tied weights) is listed once, under its first name, as PyTorch's
    /// `named_parameters()` does, so an optimizer steps it once.
    public func namedParameters() -> [(name: String, tensor: Tensor)] {
        var seen = Set<ObjectIdentifier>()
        return namedEntries().compactMap {
            guard case .parameter(let t) = $0.entry, seen.insert(ObjectIdentifier(t)).inserted else { return nil }
            return ($0.name, t)
        }
    }

    /// Every buffer with its dotted name (`bn.running_mean`), as PyTorch's `named_buffers()`.
    public func namedBuffers() -> [(name: String, tensor: Tensor)] {
        namedEntries().compactMap { if case .buffer(let t) = $0.entry { ($0.name, t) } else { nil } }
    }

    /// Every parameter, frozen ones included, each once.
    public func parameters() -> [Tensor] { namedParameters().map(\.tensor) }

    /// The parameters an optimizer should update: those that require grad.
    public func trainableParameters() -> [Tensor] { parameters().filter(\.requiresGrad) }

    /// Every submodule below this one, this one first, each once.
    public func modules() -> [any Module] {
        var seen: Set<ObjectIdentifier> = [ObjectIdentifier(self)]
        return [self] + namedEntries().compactMap {
            guard case .module(let m) = $0.entry, seen.insert(ObjectIdentifier(m)).inserted else { return nil }
            return m
        }
    }

    /// The parameter with dotted name `name` (`"layers.0.weight"`), or nil when there is none; PyTorch's
    /// `get_parameter`.
    public func parameter(named name: String) -> Tensor? {
        if case .parameter(let t) = entry(named: name) { t } else { nil }
    }

    /// The buffer with dotted name `name` (`"bn.running_mean"`), or nil; PyTorch's `get_buffer`.
    public func buffer(named name: String) -> Tensor? {
        if case .buffer(let t) = entry(named: name) { t } else { nil }
    }

    /// The submodule with dotted name `name` (`"layers.0"`, `"encoder.layers.1.self_attn"`), or nil;
    /// PyTorch's `get_submodule`.
    public func module(named name: String) -> (any Module)? {
        if case .module(let m) = entry(named: name) { m } else { nil }
    }

    /// The entry at dotted `name`, descending only into the children whose names prefix it.
    private func entry(named name: String) -> ModuleEntry? {
        var module: any Module = self
        var rest = Substring(name)
        while true {
            var descended = false
            for (entryName, entry) in module.entries {
                if rest == entryName { return entry }
                guard case .module(let child) = entry, rest.hasPrefix(entryName + ".") else { continue }
                module = child
                rest = rest.dropFirst(entryName.count + 1)
                descended = true
                break
            }
            if !descended { return nil }
        }
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
    /// state lacks (missing, ignored when `strict` is false), shape mismatches (always an error) and values the
    /// target's dtype cannot hold (always an error): for an integer buffer, a value that is not a whole number
    /// in ±2^53 (`maxIntegerValue`, so counting up from it cannot overflow); for a float32 one, a finite value
    /// that float32 rounds to infinity.
    /// - Throws: `StateDictError` listing all of them; the module is left unchanged.
    public func loadStateDict(_ state: [String: Tensor], strict: Bool = true) throws {
        let own = stateDict()
        var error = StateDictError()
        error.missing = strict ? own.keys.filter { state[$0] == nil }.sorted() : []
        error.unexpected = strict ? state.keys.filter { own[$0] == nil }.sorted() : []
        for (name, target) in own.sorted(by: { $0.key < $1.key }) {
            guard let source = state[name] else { continue }
            if source.shape != target.shape {
                error.shapeMismatches.append((name, expected: target.shape, found: source.shape))
            } else if let reason = Self.unrepresentable(source, as: target.dtype) {
                error.badValues.append((name, reason: reason))
            }
        }
        guard error.isEmpty else { throw error }
        for (name, target) in own {
            if let source = state[name] { target.copy(from: source) }
        }
    }

    /// The largest magnitude an integer buffer may be loaded with: 2^53, the largest integer a Double holds exactly.
    public static var maxIntegerValue: Int64 { 1 << 53 }

    /// Why `source`'s values do not fit `dtype`, or nil when they all do.
    private static func unrepresentable(_ source: Tensor, as dtype: DType) -> String? {
        switch (dtype, source.dtype) {
        case (.int64, .int64):
            guard let bad = source.scalars(as: Int64.self).first(where: { $0.magnitude > maxIntegerValue.magnitude }) else { return nil }
            return "value \(bad) is outside the integer range ±2^53"
        case (.int64, .float32), (.int64, .float64):
            guard let bad = source.toDoubles().first(where: { !$0.isFinite || $0.rounded() != $0 || abs($0) > Double(maxIntegerValue) }) else { return nil }
            return "value \(bad) is not a whole number in ±2^53, which an int64 buffer needs"
        case (.float32, .float64):
            guard let bad = source.toDoubles().first(where: { $0.isFinite && !Float($0).isFinite }) else { return nil }
            return "value \(bad) overflows float32"
        default:
            return nil
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
    /// Names the module has and the dict lacks.
    public var missing: [String] = []
    /// Names the dict has and the module lacks.
    public var unexpected: [String] = []
    /// Tensors whose shapes differ, with the module's and the dict's.
    public var shapeMismatches: [(name: String, expected: [Int], found: [Int])] = []
    /// Tensors holding a value their target's dtype cannot hold, with the value.
    public var badValues: [(name: String, reason: String)] = []

    var isEmpty: Bool { missing.isEmpty && unexpected.isEmpty && shapeMismatches.isEmpty && badValues.isEmpty }

    /// Every missing, unexpected and misshapen name, with the shapes.
    public var description: String {
        var parts: [String] = []
        if !missing.isEmpty { parts.append("missing keys: \(missing.joined(separator: ", "))") }
        if !unexpected.isEmpty { parts.append("unexpected keys: \(unexpected.joined(separator: ", "))") }
        for m in shapeMismatches {
            parts.append("\(m.name): checkpoint shape \(m.found), model shape \(m.expected)")
        }
        for b in badValues { parts.append("\(b.name): \(b.reason)") }
        return "state dict does not fit the model: " + parts.joined(separator: "; ")
    }

    /// Whether both report the same problems.
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

// MARK: - Finding entries

/// A stored property's name without the storage prefixes Swift adds: `_x` for a property wrapper and
/// `$__lazy_storage_$_x` for a `lazy var`.
private func propertyName(_ label: String) -> String {
    let lazyPrefix = "$__lazy_storage_$_"
    if label.hasPrefix(lazyPrefix) { return String(label.dropFirst(lazyPrefix.count)) }
    return label.hasPrefix("_") ? String(label.dropFirst()) : label
}

/// `Optional`, `Array` and `Dictionary` opened without knowing their type arguments.
private protocol OptionalProperty {
    static var wrappedType: Any.Type { get }
    var wrappedValue: Any? { get }
}
private protocol ArrayProperty {
    static var elementType: Any.Type { get }
    var elementValues: [Any] { get }
}
private protocol DictionaryProperty {
    static var keyType: Any.Type { get }
    static var valueType: Any.Type { get }
    var stringKeyedValues: [(key: String, value: Any)]? { get }
    var valueCount: Int { get }
}

extension Optional: OptionalProperty {
    fileprivate static var wrappedType: Any.Type { Wrapped.self }
    fileprivate var wrappedValue: Any? { self.map { $0 as Any } }
}

extension Array: ArrayProperty {
    fileprivate static var elementType: Any.Type { Element.self }
    fileprivate var elementValues: [Any] { map { $0 as Any } }
}

extension Dictionary: DictionaryProperty {
    fileprivate static var keyType: Any.Type { Key.self }
    fileprivate static var valueType: Any.Type { Value.self }
    /// The entries sorted by key when the keys are strings, else nil.
    fileprivate var stringKeyedValues: [(key: String, value: Any)]? {
        guard Key.self == String.self else { return nil }
        return map { (key: $0.key as! String, value: $0.value as Any) }.sorted { $0.key < $1.key }
    }
    fileprivate var valueCount: Int { count }
}

/// Values that hold no tensor or module, recognised without reflecting over their elements (a `[Float]` of
/// a million values is skipped at once).
private protocol PlainValue {}
extension Int: PlainValue {}
extension Int8: PlainValue {}
extension Int16: PlainValue {}
extension Int32: PlainValue {}
extension Int64: PlainValue {}
extension UInt: PlainValue {}
extension UInt8: PlainValue {}
extension UInt16: PlainValue {}
extension UInt32: PlainValue {}
extension UInt64: PlainValue {}
extension Float: PlainValue {}
extension Double: PlainValue {}
extension Bool: PlainValue {}
extension String: PlainValue {}
extension Character: PlainValue {}
extension DType: PlainValue {}

/// Sorts one stored property of a module into entries (see `Module`), or stops on a property that holds
/// module state in a form that cannot be walked.
private struct PropertyReflector {
    let owner: any Module
    let property: String

    func collect(_ value: Any, as name: String, into found: inout [(name: String, entry: ModuleEntry)]) {
        let type = Swift.type(of: value)
        if type == Tensor.self { return found.append((name, .parameter(value as! Tensor))) }
        if type == Buffer.self { return found.append((name, .buffer((value as! Buffer).wrappedValue))) }
        if value is PlainValue { return }
        if let optional = value as? OptionalProperty {
            if let wrapped = optional.wrappedValue { collect(wrapped, as: name, into: &found) } else { rejectIfStateful(value) }
            return
        }
        if let module = value as? any Module { return found.append((name, .module(module))) }
        if let array = value as? ArrayProperty {
            let elementType = Swift.type(of: array).elementType
            if elementType == Tensor.self {
                for (index, tensor) in array.elementValues.enumerated() { found.append(("\(name).\(index)", .parameter(tensor as! Tensor))) }
                return
            }
            if elementType is PlainValue.Type { return }
            let elements = array.elementValues
            if !elements.isEmpty && !(elementType is OptionalProperty.Type) && elements.allSatisfy({ $0 is any Module }) {
                for (index, module) in elements.enumerated() { found.append(("\(name).\(index)", .module(module as! any Module))) }
                return
            }
        }
        if let dictionary = value as? DictionaryProperty, dictionary.valueCount > 0, let pairs = dictionary.stringKeyedValues {
            let values = pairs.map(\.value)
            let allTensors = values.allSatisfy { Swift.type(of: $0) == Tensor.self }
            let allModules = values.allSatisfy { !($0 is OptionalProperty) && $0 is any Module }
            if allTensors || allModules {
                for (key, value) in pairs {
                    require(!key.isEmpty && !key.contains("."),
                            "Module: \(Swift.type(of: owner)).\(property) has the key \"\(key)\"; a dictionary key must be non-empty and free of \".\"")
                    found.append(("\(name).\(key)", allTensors ? .parameter(value as! Tensor) : .module(value as! any Module)))
                }
                return
            }
        }
        rejectIfStateful(value)
    }

    /// Stops when `value` is not of a type `collect` names yet holds a tensor, buffer or module (or, empty or
    /// nil, is of a type that mentions `Tensor` or `Buffer`).
    private func rejectIfStateful(_ value: Any) {
        let type = Swift.type(of: value)
        require(isNameable(type) || (!holdsState(value) && !typeNamesState(type)),
                "Module: \(Swift.type(of: owner)).\(property) has type \(Swift.type(of: value)), which holds tensors or modules in a form a module cannot name; use Tensor, [Tensor], [String: Tensor], @Buffer, a module, an array or [String: …] dictionary of modules, or an optional of one of these")
    }

    /// Whether `collect` names every value of `type`: a tensor, a module, an array of either, a `String`-keyed
    /// dictionary of either, or an optional of one of these.
    private func isNameable(_ type: Any.Type) -> Bool {
        func isElement(_ type: Any.Type) -> Bool { type == Tensor.self || type is any Module.Type }
        if isElement(type) { return true }
        if let optional = type as? OptionalProperty.Type { return isNameable(optional.wrappedType) }
        if let array = type as? ArrayProperty.Type { return isElement(array.elementType) }
        if let dictionary = type as? DictionaryProperty.Type { return dictionary.keyType == String.self && isElement(dictionary.valueType) }
        return false
    }

    /// Whether `value` contains a tensor, buffer or module, looking through value types (structs, enums,
    /// tuples, optionals, collections) but not into other objects.
    private func holdsState(_ value: Any) -> Bool {
        if value is PlainValue { return false }
        if value is Tensor || value is Buffer || value is any Module { return true }
        if let array = value as? ArrayProperty, Swift.type(of: array).elementType is PlainValue.Type { return false }
        let mirror = Mirror(reflecting: value)
        if mirror.displayStyle == .class { return false }
        return mirror.children.contains { holdsState($0.value) }
    }

    /// Whether a type's name mentions `Strata.Tensor` or `Strata.Buffer` outside any function type, which
    /// catches an empty `[Tensor?]` or a nil `(Tensor, Tensor)?` that `holdsState` cannot see into.
    private func typeNamesState(_ type: Any.Type) -> Bool {
        let name = String(reflecting: type)
        guard !name.contains("->") else { return false }
        for stateType in ["Strata.Tensor", "Strata.Buffer"] {
            var rest = Substring(name)
            while let range = rest.range(of: stateType) {
                let next = rest[range.upperBound...].first
                if next.map({ !($0.isLetter || $0.isNumber || $0 == "_") }) ?? true { return true }
                rest = rest[range.upperBound...]
            }
        }
        return false
    }
}
