import Foundation

/// A model described as a graph of layers in JSON, so a new architecture trains without writing Swift.
/// The format is documented in `Docs/ModelSpec.md`.
///
/// Shapes: `N` = batch (always 1 during shape inference), the rest as each layer documents. Every node's
/// arguments use PyTorch's constructor names (`in_features`, `kernel_size`, …), and a layer node becomes a
/// child module named by the node, so the state dict reads `<node name>.weight` as the equivalent PyTorch
/// module's does.
///
/// ```swift
/// let spec = try ModelSpec.load(from: URL(fileURLWithPath: "cnn.json"))
/// let model = try spec.build(inputShape: [1, 28, 28])   // one sample, without the batch dimension
/// ```
public struct ModelSpec: Decodable, Sendable {
    /// One node of the graph as written in the file, arguments validated against its op.
    public struct Node: Sendable {
        /// The node's name (its position `"0"`, `"1"`, … when the file gives none); its layer's state-dict prefix.
        public let name: String
        /// The op, e.g. `"conv2d"` or `"add"`.
        public let op: String
        /// Names of the nodes (or `"input"`) whose outputs this node consumes.
        public let inputs: [String]
        /// Position in the file's `nodes` list, from 0.
        public let index: Int
        let arguments: SpecArguments
    }

    /// The file the spec came from, named in every error.
    public let file: String
    /// The shape of one sample (no batch dimension) the file declares, if it declares one.
    public let inputShape: [Int]?
    /// The nodes in file order; each consumes only `"input"` or earlier nodes.
    public let nodes: [Node]
    /// The name of the node whose output is the model's output.
    public let output: String

    /// Reads and validates the spec at `url`.
    /// - Throws: `ModelSpecError` naming the file (and node and field) for any problem, including an unreadable file.
    public static func load(from url: URL) throws -> ModelSpec {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw ModelSpecError(.unreadableFile, file: url.path, message: "cannot read the file (\(error.localizedDescription))")
        }
        return try parse(data, file: url.path)
    }

    /// Parses and validates a spec from JSON bytes; `file` is the name errors use.
    public static func parse(_ data: Data, file: String) throws -> ModelSpec {
        let json: SpecValue
        do {
            json = try JSONDecoder().decode(SpecValue.self, from: data)
        } catch {
            throw ModelSpecError(.invalidJSON, file: file, message: "not valid JSON: \(jsonErrorSummary(data))")
        }
        return try ModelSpec(json: json, file: file)
    }

    /// Decodes a spec from any decoder; errors name the file as `<decoded>`. Prefer `load(from:)` or `parse(_:file:)`.
    public init(from decoder: any Decoder) throws {
        self = try ModelSpec(json: SpecValue(from: decoder), file: "<decoded>")
    }

    init(json: SpecValue, file: String) throws {
        self.file = file
        guard case .object(let top) = json else {
            throw ModelSpecError(.wrongType, file: file, message: "the top level must be a JSON object, found \(json.typeName)")
        }
        let allowed: Set<String> = ["version", "name", "description", "input_shape", "nodes", "output"]
        if let extra = top.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw ModelSpecError(.unexpectedArgument, file: file, field: extra,
                                 message: "unknown top-level field (allowed: \(allowed.sorted().joined(separator: ", ")))")
        }
        if let version = top["version"], version != .int(1) {
            throw ModelSpecError(.invalidValue, file: file, field: "version", message: "only version 1 is supported, found \(version.text)")
        }
        for key in ["name", "description"] {
            if let value = top[key], case .string = value {} else if let value = top[key] {
                throw ModelSpecError(.wrongType, file: file, field: key, message: "must be a string, found \(value.typeName)")
            }
        }
        if let shape = top["input_shape"] {
            let dims: [Int] = if case .array(let items) = shape {
                items.compactMap { if case .int(let v) = $0, v > 0 { v } else { nil } }
            } else { [] }
            guard case .array(let items) = shape, !items.isEmpty, dims.count == items.count else {
                throw ModelSpecError(.wrongType, file: file, field: "input_shape",
                                     message: "must be a non-empty list of positive integers, found \(shape.text)")
            }
            inputShape = dims
        } else {
            inputShape = nil
        }
        guard let nodeList = top["nodes"] else {
            throw ModelSpecError(.missingArgument, file: file, field: "nodes", message: "the spec has no `nodes` list")
        }
        guard case .array(let rawNodes) = nodeList, !rawNodes.isEmpty else {
            throw ModelSpecError(.wrongType, file: file, field: "nodes", message: "must be a non-empty list of node objects, found \(nodeList.text)")
        }
        var nodes: [Node] = []
        var seen: [String: Int] = [:]
        for (index, raw) in rawNodes.enumerated() {
            let node = try ModelSpec.parseNode(raw, index: index, file: file, previous: nodes.last?.name, seen: seen)
            seen[node.name] = index
            nodes.append(node)
        }
        self.nodes = nodes
        if let out = top["output"] {
            guard case .string(let name) = out else {
                throw ModelSpecError(.wrongType, file: file, field: "output", message: "must be a node name (string), found \(out.typeName)")
            }
            guard seen[name] != nil else {
                throw ModelSpecError(.unknownInput, file: file, field: "output",
                                     message: "no node is named '\(name)' (nodes: \(nodes.map(\.name).joined(separator: ", ")))")
            }
            output = name
        } else {
            output = nodes[nodes.count - 1].name
        }
    }

    /// Validates one node object: its name, op, inputs and arguments.
    private static func parseNode(_ raw: SpecValue, index: Int, file: String, previous: String?,
                                  seen: [String: Int]) throws -> Node {
        let position = "#\(index)"
        guard case .object(var fields) = raw else {
            throw ModelSpecError(.wrongType, file: file, node: position, message: "a node must be a JSON object, found \(raw.typeName)")
        }
        var name = String(index)
        if let value = fields.removeValue(forKey: "name") {
            guard case .string(let given) = value else {
                throw ModelSpecError(.wrongType, file: file, node: position, field: "name", message: "must be a string, found \(value.typeName)")
            }
            name = given
        }
        let label = "'\(name)' (#\(index))"
        guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            throw ModelSpecError(.invalidValue, file: file, node: label, field: "name",
                                 message: "a name is letters, digits and '_' (it becomes a state-dict prefix, so no '.')")
        }
        guard name != "input" else {
            throw ModelSpecError(.duplicateName, file: file, node: label, field: "name", message: "'input' names the graph's input; choose another name")
        }
        if let earlier = seen[name] {
            throw ModelSpecError(.duplicateName, file: file, node: label, field: "name", message: "node #\(earlier) already has this name")
        }
        guard let opValue = fields.removeValue(forKey: "op") else {
            throw ModelSpecError(.missingArgument, file: file, node: label, field: "op", message: "every node needs an `op`")
        }
        guard case .string(let op) = opValue else {
            throw ModelSpecError(.wrongType, file: file, node: label, field: "op", message: "must be a string, found \(opValue.typeName)")
        }
        guard let schema = specOpSchemas[op] else {
            throw ModelSpecError(.unknownOp, file: file, node: label, field: "op",
                                 message: "unknown op '\(op)'\(specSuggestion(op, among: Array(specOpSchemas.keys))) (known: \(specOpSchemas.keys.sorted().joined(separator: ", ")))")
        }
        _ = fields.removeValue(forKey: "comment")

        var inputs: [String]
        switch fields.removeValue(forKey: "inputs") {
        case nil:
            inputs = [previous ?? "input"]
        case .string(let one)?:
            inputs = [one]
        case .array(let many)? where many.allSatisfy({ if case .string = $0 { true } else { false } }):
            inputs = many.map { if case .string(let s) = $0 { s } else { "" } }
        case let other?:
            throw ModelSpecError(.wrongType, file: file, node: label, field: "inputs",
                                 message: "must be a node name or a list of node names, found \(other.text)")
        }
        for input in inputs where input != "input" && seen[input] == nil {
            let reason = input == name ? "a node cannot consume itself (the graph must be acyclic)"
                : "no earlier node is named '\(input)'; nodes may only consume `input` or nodes listed before them, so the graph has no cycles"
            throw ModelSpecError(input == name ? .cycle : .unknownInput, file: file, node: label, field: "inputs", message: reason)
        }
        if schema.multiInput {
            guard inputs.count >= 2 else {
                throw ModelSpecError(.invalidValue, file: file, node: label, field: "inputs",
                                     message: "\(op) combines two or more inputs, found \(inputs.count)")
            }
        } else if inputs.count != 1 {
            throw ModelSpecError(.invalidValue, file: file, node: label, field: "inputs", message: "\(op) takes exactly one input, found \(inputs.count)")
        }

        // Unknown arguments first: a misspelt name is the likelier cause of a "missing" one.
        let known = schema.arguments.map(\.name)
        if let extra = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw ModelSpecError(.unexpectedArgument, file: file, node: label, field: extra,
                                 message: "\(op) takes no argument `\(extra)`\(specSuggestion(extra, among: known)) (it takes: \(known.isEmpty ? "none" : known.joined(separator: ", ")); every node may have name, op, inputs, comment)")
        }
        var values: [String: SpecArgValue] = [:]
        for arg in schema.arguments {
            if let given = fields.removeValue(forKey: arg.name) {
                guard let value = arg.type.convert(given) else {
                    throw ModelSpecError(.wrongType, file: file, node: label, field: arg.name,
                                         message: "\(op) expects \(arg.type.expected), found \(given.text)")
                }
                values[arg.name] = value
            } else if let fallback = arg.fallback {
                values[arg.name] = fallback
            } else {
                throw ModelSpecError(.missingArgument, file: file, node: label, field: arg.name,
                                     message: "\(op) requires `\(arg.name)` (\(arg.type.expected))")
            }
        }
        return Node(name: name, op: op, inputs: inputs, index: index, arguments: SpecArguments(values: values))
    }

    /// Builds the model for samples of `inputShape` (no batch dimension, e.g. `[1, 28, 28]`), checking every
    /// node's shapes by inference before any layer is created.
    /// - Throws: `ModelSpecError` naming the node and field whose shape or value does not fit.
    public func build(inputShape: [Int]) throws -> GraphModel {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError(.invalidValue, file: file, field: "input_shape",
                                 message: "the input shape \(inputShape) must be a non-empty list of positive sizes")
        }
        if let declared = self.inputShape, declared != inputShape {
            throw ModelSpecError(.shapeMismatch, file: file, field: "input_shape",
                                 message: "the spec declares input shape \(declared) but the data has \(inputShape)")
        }
        // The graph input holds indices exactly when an embedding reads it directly.
        let inputIsIndices = nodes.contains { $0.op == "embedding" && $0.inputs == ["input"] }
        var values: [String: (slot: Int, shape: [Int], indices: Bool)] = ["input": (0, [1] + inputShape, inputIsIndices)]
        var graphNodes: [GraphModel.Node] = []
        let lastNeeded = nodes.firstIndex { $0.name == output }!
        for node in nodes[...lastNeeded] {
            let incoming = node.inputs.map { values[$0]! }
            let context = BuildContext(file: file, node: node, inputShapes: incoming.map(\.shape))
            let isIndexOp = ["embedding", "reshape", "flatten", "concat"].contains(node.op)
            if !isIndexOp, let i = incoming.firstIndex(where: \.indices) {
                throw context.error(.shapeMismatch, field: "inputs",
                                    "'\(node.inputs[i])' holds integer indices (it feeds an embedding), but \(node.op) needs floating-point values")
            }
            if node.op == "embedding" && !incoming[0].indices {
                throw context.error(.shapeMismatch, field: "inputs",
                                    "embedding needs integer indices, but '\(node.inputs[0])' holds floating-point values; feed it `input` directly")
            }
            if node.op == "concat" && Set(incoming.map(\.indices)).count > 1 {
                throw context.error(.shapeMismatch, field: "inputs", "concat mixes integer indices with floating-point values")
            }
            let (kind, shape) = try context.infer()
            let indices = node.op == "embedding" ? false : incoming.contains { $0.indices }
            values[node.name] = (graphNodes.count + 1, shape, indices)
            graphNodes.append(GraphModel.Node(name: node.name, op: node.op, kind: kind,
                                              inputs: incoming.map(\.slot), outputShape: shape))
        }
        return GraphModel(nodes: graphNodes, inputShape: inputShape, inputIsIndices: inputIsIndices)
    }

    /// What is wrong with JSON text that does not parse, with the line and column when Foundation reports
    /// the character offset ("Invalid value around line 3, column 14").
    private static func jsonErrorSummary(_ data: Data) -> String {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            let text = ((error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String) ?? error.localizedDescription
            guard let range = text.range(of: #"character (\d+)"#, options: .regularExpression),
                  let offset = Int(text[range].dropFirst("character ".count)) else { return text }
            let prefix = data.prefix(offset)
            let line = prefix.filter { $0 == UInt8(ascii: "\n") }.count + 1
            let column = offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1
            return text.replacingCharacters(in: range, with: "line \(line), column \(column)")
        }
        return "the top level is not an object"
    }
}

/// A problem in a model spec, naming the file and, where it applies, the node and the field.
///
/// `description` reads `spec.json: node 'fc1' (#7), field 'in_features': linear expects 3136 input features …`.
public struct ModelSpecError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem this is, for callers that branch on it.
    public enum Kind: String, Sendable {
        case unreadableFile, invalidJSON, unknownOp, missingArgument, unexpectedArgument, wrongType, invalidValue
        case unknownInput, cycle, duplicateName, shapeMismatch
    }

    public let kind: Kind
    /// The spec file (its path, or the name given to `parse`).
    public let file: String
    /// The node, as `'name' (#index)`, or nil for a problem with the whole file.
    public let node: String?
    /// The field (argument) at fault, if one is.
    public let field: String?
    /// What is wrong, in words.
    public let message: String

    public init(_ kind: Kind, file: String, node: String? = nil, field: String? = nil, message: String) {
        (self.kind, self.file, self.node, self.field, self.message) = (kind, file, node, field, message)
    }

    public var description: String {
        var location = file
        if let node { location += ": node \(node)" }
        if let field { location += node == nil ? ": field '\(field)'" : ", field '\(field)'" }
        return "\(location): \(message)"
    }
}

/// A model built from a `ModelSpec`: a graph of layers evaluated in the spec's node order.
///
/// Its layers are child modules named by their nodes, so `stateDict()` reads `conv1.weight`, `bn1.running_mean`, …
/// as a PyTorch module with those attributes does. Graph ops (`add`, `concat`, `reshape`) hold no state.
public final class GraphModel: Layer {
    /// What a node computes.
    public enum Kind {
        /// A layer (`Linear`, `Conv2d`, `ReLU`, …) applied to the node's single input.
        case layer(any Layer)
        /// The broadcasting sum of all inputs (a residual connection).
        case add
        /// The inputs joined along `dim` (non-negative, never the batch dim).
        case concat(dim: Int)
        /// The input reshaped to `[N] + shape` (`shape` excludes the batch dim; one entry may be −1).
        case reshape([Int])
    }

    /// One node of the built graph.
    public struct Node {
        public let name: String
        /// The spec's op name.
        public let op: String
        public let kind: Kind
        /// Value slots consumed: 0 is the graph input, `k` the output of node `k − 1`.
        public let inputs: [Int]
        /// The output shape inferred for a batch of one, `[1, …]`.
        public let outputShape: [Int]
    }

    /// The nodes in evaluation order; the last one's output is the model's output.
    public let nodes: [Node]
    /// The sample shape (no batch dim) the graph was built for.
    public let inputShape: [Int]
    /// Whether the input is int64 indices (the graph starts with an embedding) rather than features.
    public let inputIsIndices: Bool
    /// For each value slot, the last node that reads it, so intermediate tensors are released early.
    private let lastUse: [Int]

    init(nodes: [Node], inputShape: [Int], inputIsIndices: Bool) {
        (self.nodes, self.inputShape, self.inputIsIndices) = (nodes, inputShape, inputIsIndices)
        var last = Array(repeating: -1, count: nodes.count + 1)
        for (index, node) in nodes.enumerated() { for slot in node.inputs { last[slot] = index } }
        lastUse = last
    }

    /// The layer nodes, by node name.
    public var entries: [(name: String, entry: ModuleEntry)] {
        nodes.compactMap { if case .layer(let layer) = $0.kind { ($0.name, .module(layer)) } else { nil } }
    }

    /// `[N] + inputShape → [N] + output shape`, evaluating every node once in order.
    public func callAsFunction(_ input: Tensor) -> Tensor {
        require(input.rank == inputShape.count + 1 && Array(input.shape.dropFirst()) == inputShape,
                     "GraphModel: input \(input.shape) must be [N] + \(inputShape)")
        var values: [Tensor?] = [input] + Array(repeating: nil, count: nodes.count)
        for (index, node) in nodes.enumerated() {
            let args = node.inputs.map { values[$0]! }
            switch node.kind {
            case .layer(let layer): values[index + 1] = layer(args[0])
            case .add: values[index + 1] = args.dropFirst().reduce(args[0], +)
            case .concat(let dim): values[index + 1] = Tensor.cat(args, dim: dim)
            case .reshape(let shape): values[index + 1] = args[0].reshaped([args[0].shape[0]] + shape)
            }
            for slot in node.inputs where lastUse[slot] == index { values[slot] = nil }
        }
        return values[nodes.count]!
    }
}

// MARK: - SpecArguments

/// A JSON value as decoded, integers kept apart from other numbers.
enum SpecValue: Decodable, Equatable, Sendable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([SpecValue]), object([String: SpecValue])

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        if let object = try? decoder.container(keyedBy: Key.self) {
            var fields: [String: SpecValue] = [:]
            for key in object.allKeys { fields[key.stringValue] = try object.decode(SpecValue.self, forKey: key) }
            self = .object(fields)
        } else if var array = try? decoder.unkeyedContainer() {
            var items: [SpecValue] = []
            while !array.isAtEnd { items.append(try array.decode(SpecValue.self)) }
            self = .array(items)
        } else {
            let single = try decoder.singleValueContainer()
            if single.decodeNil() { self = .null }
            else if let value = try? single.decode(Bool.self) { self = .bool(value) }
            else if let value = try? single.decode(Int.self) { self = .int(value) }
            else if let value = try? single.decode(Double.self) { self = .double(value) }
            else { self = .string(try single.decode(String.self)) }
        }
    }

    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .int: "an integer"
        case .double: "a number"
        case .string: "a string"
        case .array: "a list"
        case .object: "an object"
        }
    }

    /// Compact JSON-like text for messages.
    var text: String {
        switch self {
        case .null: "null"
        case .bool(let v): "\(v)"
        case .int(let v): "\(v)"
        case .double(let v): "\(v)"
        case .string(let v): "\"\(v)\""
        case .array(let items): "[" + items.map(\.text).joined(separator: ", ") + "]"
        case .object: "an object"
        }
    }
}

/// A validated argument value.
enum SpecArgValue: Equatable, Sendable {
    case int(Int), pair(Int, Int), ints([Int]), bool(Bool), number(Double), none, string(String)
}

/// The JSON types an argument accepts.
enum SpecArgType: Sendable {
    /// An integer.
    case int
    /// An integer or `[height, width]`.
    case pair
    /// An integer or a list of integers.
    case ints
    case bool
    /// Any number.
    case number
    /// A number or null.
    case optionalNumber
    /// An integer or null.
    case optionalInt
    /// One of the given strings.
    case choice([String])

    var expected: String {
        switch self {
        case .int: "an integer"
        case .pair: "an integer or a list [height, width] of two integers"
        case .ints: "an integer or a list of integers"
        case .bool: "true or false"
        case .number: "a number"
        case .optionalNumber: "a number or null"
        case .optionalInt: "an integer or null"
        case .choice(let options): "one of " + options.map { "\"\($0)\"" }.joined(separator: ", ")
        }
    }

    func convert(_ value: SpecValue) -> SpecArgValue? {
        switch (self, value) {
        case (.int, .int(let v)), (.optionalInt, .int(let v)): return .int(v)
        case (.pair, .int(let v)): return .pair(v, v)
        case (.pair, .array(let items)):
            guard items.count == 2, case .int(let a) = items[0], case .int(let b) = items[1] else { return nil }
            return .pair(a, b)
        case (.ints, .int(let v)): return .ints([v])
        case (.ints, .array(let items)):
            let ints = items.compactMap { if case .int(let v) = $0 { v } else { nil } }
            return ints.count == items.count && !ints.isEmpty ? .ints(ints) : nil
        case (.bool, .bool(let v)): return .bool(v)
        case (.number, .int(let v)), (.optionalNumber, .int(let v)): return .number(Double(v))
        case (.number, .double(let v)), (.optionalNumber, .double(let v)): return .number(v)
        case (.optionalNumber, .null), (.optionalInt, .null): return SpecArgValue.none
        case (.choice(let options), .string(let s)) where options.contains(s): return .string(s)
        default: return nil
        }
    }
}

/// An argument an op takes: its name, type and default (nil when required).
struct SpecArgument: Sendable {
    let name: String
    let type: SpecArgType
    let fallback: SpecArgValue?
}

/// An op's arguments and whether it combines several inputs.
struct SpecOpSchema: Sendable {
    let arguments: [SpecArgument]
    var multiInput = false
}

/// The validated arguments of one node, read by name (presence was checked when parsing).
struct SpecArguments: Sendable {
    let values: [String: SpecArgValue]

    func int(_ name: String) -> Int { if case .int(let v) = values[name] { v } else { fatalError("ModelSpec: \(name) is not an int") } }
    func pair(_ name: String) -> (Int, Int) { if case .pair(let a, let b) = values[name] { (a, b) } else { fatalError("ModelSpec: \(name) is not a pair") } }
    func ints(_ name: String) -> [Int] { if case .ints(let v) = values[name] { v } else { fatalError("ModelSpec: \(name) is not ints") } }
    func bool(_ name: String) -> Bool { if case .bool(let v) = values[name] { v } else { fatalError("ModelSpec: \(name) is not a bool") } }
    func number(_ name: String) -> Double { if case .number(let v) = values[name] { v } else { fatalError("ModelSpec: \(name) is not a number") } }
    func optionalNumber(_ name: String) -> Double? { if case .number(let v) = values[name] { v } else { nil } }
    func optionalInt(_ name: String) -> Int? { if case .int(let v) = values[name] { v } else { nil } }
    func string(_ name: String) -> String { if case .string(let v) = values[name] { v } else { fatalError("ModelSpec: \(name) is not a string") } }
    /// A pair argument that may be absent (`stride` of pooling, defaulting to the kernel).
    func optionalPair(_ name: String) -> (Int, Int)? { if case .pair(let a, let b) = values[name] { (a, b) } else { nil } }
}

private func required(_ name: String, _ type: SpecArgType) -> SpecArgument { SpecArgument(name: name, type: type, fallback: nil) }
private func optional(_ name: String, _ type: SpecArgType, _ fallback: SpecArgValue) -> SpecArgument { SpecArgument(name: name, type: type, fallback: fallback) }

private let convArguments = [
    required("in_channels", .int), required("out_channels", .int), required("kernel_size", .pair),
    optional("stride", .pair, .pair(1, 1)), optional("padding", .pair, .pair(0, 0)),
    optional("dilation", .pair, .pair(1, 1)), optional("groups", .int, .int(1)), optional("bias", .bool, .bool(true)),
]
private let conv1dArguments = [
    required("in_channels", .int), required("out_channels", .int), required("kernel_size", .int),
    optional("stride", .int, .int(1)), optional("padding", .int, .int(0)),
    optional("dilation", .int, .int(1)), optional("groups", .int, .int(1)), optional("bias", .bool, .bool(true)),
]
private let batchNormArguments = [
    required("num_features", .int), optional("eps", .number, .number(1e-5)), optional("momentum", .optionalNumber, .number(0.1)),
    optional("affine", .bool, .bool(true)), optional("track_running_stats", .bool, .bool(true)),
]

/// Every op the format knows, with PyTorch's argument names and defaults.
let specOpSchemas: [String: SpecOpSchema] = [
    "linear": SpecOpSchema(arguments: [required("in_features", .int), required("out_features", .int), optional("bias", .bool, .bool(true))]),
    "conv2d": SpecOpSchema(arguments: convArguments),
    "conv1d": SpecOpSchema(arguments: conv1dArguments),
    "maxpool2d": SpecOpSchema(arguments: [required("kernel_size", .pair), optional("stride", .pair, .none), optional("padding", .pair, .pair(0, 0))]),
    "avgpool2d": SpecOpSchema(arguments: [required("kernel_size", .pair), optional("stride", .pair, .none), optional("padding", .pair, .pair(0, 0)),
                                      optional("count_include_pad", .bool, .bool(true))]),
    "adaptiveavgpool2d": SpecOpSchema(arguments: [required("output_size", .pair)]),
    "batchnorm1d": SpecOpSchema(arguments: batchNormArguments),
    "batchnorm2d": SpecOpSchema(arguments: batchNormArguments),
    "layernorm": SpecOpSchema(arguments: [required("normalized_shape", .ints), optional("eps", .number, .number(1e-5)),
                                      optional("elementwise_affine", .bool, .bool(true)), optional("bias", .bool, .bool(true))]),
    "groupnorm": SpecOpSchema(arguments: [required("num_groups", .int), required("num_channels", .int), optional("eps", .number, .number(1e-5)),
                                      optional("affine", .bool, .bool(true))]),
    "dropout": SpecOpSchema(arguments: [optional("p", .number, .number(0.5))]),
    "flatten": SpecOpSchema(arguments: [optional("start_dim", .int, .int(1)), optional("end_dim", .int, .int(-1))]),
    "relu": SpecOpSchema(arguments: []),
    "leakyrelu": SpecOpSchema(arguments: [optional("negative_slope", .number, .number(0.01))]),
    "gelu": SpecOpSchema(arguments: [optional("approximate", .choice(["none", "tanh"]), .string("none"))]),
    "silu": SpecOpSchema(arguments: []),
    "tanh": SpecOpSchema(arguments: []),
    "sigmoid": SpecOpSchema(arguments: []),
    "softmax": SpecOpSchema(arguments: [required("dim", .int)]),
    "logsoftmax": SpecOpSchema(arguments: [required("dim", .int)]),
    "embedding": SpecOpSchema(arguments: [required("num_embeddings", .int), required("embedding_dim", .int),
                                      optional("padding_idx", .optionalInt, .none)]),
    "add": SpecOpSchema(arguments: [], multiInput: true),
    "concat": SpecOpSchema(arguments: [optional("dim", .int, .int(1))], multiInput: true),
    "reshape": SpecOpSchema(arguments: [required("shape", .ints)]),
]

// MARK: - Shape inference and construction

/// Infers one node's output shape from its input shapes, checks its argument values, and makes its layer.
/// Every check a layer's `init` or forward would make with a precondition is made here first, as an error.
private struct BuildContext {
    let file: String
    let node: ModelSpec.Node
    let inputShapes: [[Int]]

    var args: SpecArguments { node.arguments }
    var x: [Int] { inputShapes[0] }

    func error(_ kind: ModelSpecError.Kind, field: String?, _ message: String) -> ModelSpecError {
        ModelSpecError(kind, file: file, node: "'\(node.name)' (#\(node.index))", field: field, message: message)
    }

    /// Describes the incoming shape without the batch dim of 1, as a user thinks of it.
    private var incoming: String { "the input '\(node.inputs[0])' has shape \(x) (for a batch of 1)" }

    private func positive(_ names: String...) throws {
        for name in names {
            switch args.values[name] {
            case .int(let v)? where v <= 0, .pair(let v, _)? where v <= 0, .pair(_, let v)? where v <= 0:
                throw error(.invalidValue, field: name, "must be positive, found \(v)")
            case .ints(let v)? where v.contains(where: { $0 <= 0 }):
                throw error(.invalidValue, field: name, "sizes must be positive, found \(v)")
            default: continue
            }
        }
    }

    private func nonNegative(_ names: String...) throws {
        for name in names {
            switch args.values[name] {
            case .int(let v)? where v < 0, .pair(let v, _)? where v < 0, .pair(_, let v)? where v < 0:
                throw error(.invalidValue, field: name, "must not be negative, found \(v)")
            default: continue
            }
        }
    }

    private func rank(_ allowed: Set<Int>, _ layout: String) throws {
        guard allowed.contains(x.count) else {
            throw error(.shapeMismatch, field: "inputs", "\(node.op) needs input \(layout), but \(incoming)")
        }
    }

    private func channels(_ field: String, dim: Int) throws {
        let expected = args.int(field)
        guard x[dim] == expected else {
            throw error(.shapeMismatch, field: field, "\(node.op) expects \(expected) but \(incoming), so \(field) must be \(x[dim])")
        }
    }

    /// A dim argument in `-rank..<rank`, normalised to non-negative.
    private func dimension(_ field: String, rank: Int) throws -> Int {
        let dim = args.int(field)
        guard (-rank..<rank).contains(dim) else {
            throw error(.invalidValue, field: field, "dim \(dim) is out of range for rank-\(rank) \(incoming)")
        }
        return dim < 0 ? dim + rank : dim
    }

    private func eps() throws {
        guard args.number("eps") > 0 else { throw error(.invalidValue, field: "eps", "must be positive, found \(args.number("eps"))") }
    }

    /// `⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1`, which must be at least 1.
    private func windowOutput(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1, axis: String) throws -> Int {
        let out = (size + 2 * padding - dilation * (kernel - 1) - 1) / stride + 1
        guard size + 2 * padding - dilation * (kernel - 1) - 1 >= 0, out >= 1 else {
            throw error(.shapeMismatch, field: "kernel_size",
                        "the \(axis) window (kernel \(kernel), dilation \(dilation), padding \(padding)) does not fit: \(incoming)")
        }
        return out
    }

    func infer() throws -> (GraphModel.Kind, [Int]) {
        switch node.op {
        case "linear":
            try positive("in_features", "out_features")
            try rank(Set(2...8), "[N, …, in_features]")
            try channels("in_features", dim: x.count - 1)
            return (.layer(Linear(args.int("in_features"), args.int("out_features"), bias: args.bool("bias"))),
                    x.dropLast() + [args.int("out_features")])

        case "conv2d", "conv1d":
            let is2d = node.op == "conv2d"
            try positive("in_channels", "out_channels", "kernel_size", "stride", "dilation", "groups")
            try nonNegative("padding")
            let (cin, cout, groups) = (args.int("in_channels"), args.int("out_channels"), args.int("groups"))
            guard cin % groups == 0 && cout % groups == 0 else {
                throw error(.invalidValue, field: "groups", "in_channels \(cin) and out_channels \(cout) must both be divisible by groups = \(groups)")
            }
            try rank([is2d ? 4 : 3], is2d ? "[N, C, H, W]" : "[N, C, L]")
            try channels("in_channels", dim: 1)
            if is2d {
                let (k, s, p, d) = (args.pair("kernel_size"), args.pair("stride"), args.pair("padding"), args.pair("dilation"))
                let ho = try windowOutput(x[2], kernel: k.0, stride: s.0, padding: p.0, dilation: d.0, axis: "height")
                let wo = try windowOutput(x[3], kernel: k.1, stride: s.1, padding: p.1, dilation: d.1, axis: "width")
                let layer = Conv2d(cin, cout, kernelSize: k, stride: s, padding: p, dilation: d, groups: groups, bias: args.bool("bias"))
                return (.layer(layer), [x[0], cout, ho, wo])
            }
            let (k, s, p, d) = (args.int("kernel_size"), args.int("stride"), args.int("padding"), args.int("dilation"))
            let lo = try windowOutput(x[2], kernel: k, stride: s, padding: p, dilation: d, axis: "length")
            let layer = Conv1d(cin, cout, kernelSize: k, stride: s, padding: p, dilation: d, groups: groups, bias: args.bool("bias"))
            return (.layer(layer), [x[0], cout, lo])

        case "maxpool2d", "avgpool2d":
            try positive("kernel_size", "stride")
            try nonNegative("padding")
            let k = args.pair("kernel_size"), p = args.pair("padding")
            let s = args.optionalPair("stride") ?? k
            guard p.0 <= k.0 / 2 && p.1 <= k.1 / 2 else {
                throw error(.invalidValue, field: "padding", "padding \(p) must be at most half the kernel \(k), as in PyTorch")
            }
            try rank([4], "[N, C, H, W]")
            let ho = try windowOutput(x[2], kernel: k.0, stride: s.0, padding: p.0, axis: "height")
            let wo = try windowOutput(x[3], kernel: k.1, stride: s.1, padding: p.1, axis: "width")
            let layer: any Layer = node.op == "maxpool2d"
                ? MaxPool2d(k, stride: s, padding: p)
                : AvgPool2d(k, stride: s, padding: p, countIncludePad: args.bool("count_include_pad"))
            return (.layer(layer), [x[0], x[1], ho, wo])

        case "adaptiveavgpool2d":
            try positive("output_size")
            try rank([4], "[N, C, H, W]")
            let size = args.pair("output_size")
            return (.layer(AdaptiveAvgPool2d(size)), [x[0], x[1], size.0, size.1])

        case "batchnorm1d", "batchnorm2d":
            try positive("num_features")
            try eps()
            if let m = args.optionalNumber("momentum"), !(0...1).contains(m) {
                throw error(.invalidValue, field: "momentum", "must be in [0, 1] or null, found \(m)")
            }
            let is2d = node.op == "batchnorm2d"
            try rank(is2d ? [4] : [2, 3], is2d ? "[N, C, H, W]" : "[N, C] or [N, C, L]")
            try channels("num_features", dim: 1)
            let (n, e, m) = (args.int("num_features"), args.number("eps"), args.optionalNumber("momentum"))
            let (affine, track) = (args.bool("affine"), args.bool("track_running_stats"))
            let layer: any Layer = is2d
                ? BatchNorm2d(n, eps: e, momentum: m, affine: affine, trackRunningStats: track)
                : BatchNorm1d(n, eps: e, momentum: m, affine: affine, trackRunningStats: track)
            return (.layer(layer), x)

        case "layernorm":
            try positive("normalized_shape")
            try eps()
            let normalized = args.ints("normalized_shape")
            guard x.count > normalized.count, Array(x.suffix(normalized.count)) == normalized else {
                throw error(.shapeMismatch, field: "normalized_shape",
                            "\(normalized) must equal the trailing dims of the input, but \(incoming)")
            }
            let layer = LayerNorm(normalized, eps: args.number("eps"), elementwiseAffine: args.bool("elementwise_affine"), bias: args.bool("bias"))
            return (.layer(layer), x)

        case "groupnorm":
            try positive("num_groups", "num_channels")
            try eps()
            let (groups, channelCount) = (args.int("num_groups"), args.int("num_channels"))
            guard channelCount % groups == 0 else {
                throw error(.invalidValue, field: "num_groups", "\(channelCount) channels do not split into \(groups) groups")
            }
            try rank(Set(2...8), "[N, C, …]")
            try channels("num_channels", dim: 1)
            return (.layer(GroupNorm(groups, channelCount, eps: args.number("eps"), affine: args.bool("affine"))), x)

        case "dropout":
            let p = args.number("p")
            guard (0...1).contains(p) else { throw error(.invalidValue, field: "p", "a probability must be in [0, 1], found \(p)") }
            return (.layer(Dropout(p: p)), x)

        case "flatten":
            let start = try dimension("start_dim", rank: x.count), end = try dimension("end_dim", rank: x.count)
            guard start <= end else {
                throw error(.invalidValue, field: "start_dim", "start_dim \(args.int("start_dim")) comes after end_dim \(args.int("end_dim")) for \(incoming)")
            }
            let merged = x[start...end].reduce(1, *)
            return (.layer(Flatten(startDim: args.int("start_dim"), endDim: args.int("end_dim"))),
                    Array(x[..<start]) + [merged] + Array(x[(end + 1)...]))

        case "relu": return (.layer(ReLU()), x)
        case "silu": return (.layer(SiLU()), x)
        case "tanh": return (.layer(Tanh()), x)
        case "sigmoid": return (.layer(Sigmoid()), x)
        case "leakyrelu": return (.layer(LeakyReLU(negativeSlope: args.number("negative_slope"))), x)
        case "gelu": return (.layer(GELU(approximate: args.string("approximate") == "tanh" ? .tanh : .none)), x)
        case "softmax", "logsoftmax":
            let dim = try dimension("dim", rank: x.count)
            guard dim != 0 else {
                throw error(.invalidValue, field: "dim", "normalising over the batch dim mixes samples; use dim 1 or -1")
            }
            return (.layer(node.op == "softmax" ? Softmax(dim: args.int("dim")) : LogSoftmax(dim: args.int("dim"))), x)

        case "embedding":
            try positive("num_embeddings", "embedding_dim")
            let vocabulary = args.int("num_embeddings")
            if let padding = args.optionalInt("padding_idx"), !(-vocabulary..<vocabulary).contains(padding) {
                throw error(.invalidValue, field: "padding_idx", "\(padding) is out of range for \(vocabulary) embeddings")
            }
            let layer = Embedding(vocabulary, args.int("embedding_dim"), paddingIdx: args.optionalInt("padding_idx"))
            return (.layer(layer), x + [args.int("embedding_dim")])

        case "add":
            var shape = x
            for (name, other) in zip(node.inputs, inputShapes).dropFirst() {
                guard let combined = specBroadcastShapes(shape, other) else {
                    throw error(.shapeMismatch, field: "inputs",
                                "cannot add '\(name)' of shape \(other) to \(shape) (from '\(node.inputs[0])'); shapes must match or broadcast")
                }
                shape = combined
            }
            return (.add, shape)

        case "concat":
            let dim = try dimension("dim", rank: x.count)
            guard dim != 0 else { throw error(.invalidValue, field: "dim", "concatenating along the batch dim (0) would change the batch size") }
            var shape = x
            for (name, other) in zip(node.inputs, inputShapes).dropFirst() {
                var a = shape, b = other
                guard a.count == b.count else {
                    throw error(.shapeMismatch, field: "inputs", "'\(name)' has shape \(other), rank \(other.count), but '\(node.inputs[0])' has rank \(x.count)")
                }
                a[dim] = 0
                b[dim] = 0
                guard a == b else {
                    throw error(.shapeMismatch, field: "inputs",
                                "'\(name)' has shape \(other), which differs from \(x) (from '\(node.inputs[0])') outside dim \(dim)")
                }
                shape[dim] += other[dim]
            }
            return (.concat(dim: dim), shape)

        case "reshape":
            let target = args.ints("shape")
            guard target.allSatisfy({ $0 > 0 || $0 == -1 }), target.filter({ $0 == -1 }).count <= 1 else {
                throw error(.invalidValue, field: "shape", "sizes must be positive with at most one -1, found \(target)")
            }
            let count = x.dropFirst().reduce(1, *), known = target.filter { $0 > 0 }.reduce(1, *)
            let resolved = target.map { $0 == -1 ? count / known : $0 }
            guard (target.contains(-1) && count % known == 0) || (!target.contains(-1) && count == known) else {
                throw error(.shapeMismatch, field: "shape",
                            "cannot reshape \(Array(x.dropFirst())) (\(count) values per sample) to \(target); the shape excludes the batch dim")
            }
            return (.reshape(resolved), [x[0]] + resolved)

        default:
            fatalError("ModelSpec: op '\(node.op)' has a schema but no builder")
        }
    }
}

/// `"; did you mean `kernel_size`?"` when one of `candidates` is within a small edit distance of `word`, else `""`.
func specSuggestion(_ word: String, among candidates: [String]) -> String {
    func distance(_ a: [Character], _ b: [Character]) -> Int {
        var row = Array(0...b.count)
        for i in 1...Swift.max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let substitution = previous + (a[i - 1] == b[j - 1] ? 0 : 1)
                previous = row[j]
                row[j] = Swift.min(substitution, row[j] + 1, row[j - 1] + 1)
            }
        }
        return a.isEmpty ? b.count : row[b.count]
    }
    let scored = candidates.map { ($0, distance(Array(word.lowercased()), Array($0))) }
    guard let best = scored.min(by: { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }) else { return "" }
    let isPrefix = best.0.hasPrefix(word) || word.hasPrefix(best.0)
    return best.1 <= Swift.max(2, word.count / 3) || (isPrefix && word.count >= 3) ? "; did you mean `\(best.0)`?" : ""
}

/// NumPy broadcasting of two shapes, or nil when they are incompatible.
func specBroadcastShapes(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a, pb = Array(repeating: 1, count: rank - b.count) + b
    var out: [Int] = []
    for (x, y) in zip(pa, pb) {
        guard x == y || x == 1 || y == 1 else { return nil }
        out.append(x == 1 ? y : x)
    }
    return out
}
