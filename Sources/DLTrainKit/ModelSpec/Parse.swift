import Foundation
import Strata

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
public struct ModelSpec: Sendable {
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
        let bytes = [UInt8](data)
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            let (line, column) = error.position(in: bytes)
            throw ModelSpecError(.invalidJSON, file: file, message: "not valid JSON: \(error.reason) at line \(line), column \(column)")
        }
        return try ModelSpec(json: SpecValue(json, file: file), file: file)
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
}

/// A problem in a model spec, naming the file and, where it applies, the node and the field.
///
/// `description` reads `spec.json: node 'fc1' (#7), field 'in_features': linear expects 3136 input features …`.
public struct ModelSpecError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem this is, for callers that branch on it.
    public enum Kind: String, Sendable {
        case unreadableFile, invalidJSON, unknownOp, missingArgument, unexpectedArgument, wrongType, invalidValue
        case unknownInput, cycle, duplicateName, shapeMismatch
        /// A node's input holds a dtype its op cannot take (an embedding on float pixels, a linear on token ids).
        case dtypeMismatch
        /// A size overflows, or the model's state or a node's output for one sample exceeds `MemoryBudget`.
        case tooLarge
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

/// A JSON value as the spec reads it: integers apart from other numbers, objects by key.
enum SpecValue: Equatable, Sendable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([SpecValue]), object([String: SpecValue])

    /// The spec's view of `json`.
    /// - Throws: `ModelSpecError` naming a key that appears twice in one object.
    init(_ json: JSONValue, file: String) throws {
        switch json {
        case .null: self = .null
        case .bool(let value): self = .bool(value)
        case .string(let value): self = .string(value)
        case .number: self = json.intValue.map(SpecValue.int) ?? .double(json.doubleValue ?? .nan)
        case .array(let items): self = .array(try items.map { try SpecValue($0, file: file) })
        case .object:
            let (members, repeated) = json.membersByKey!
            if let repeated {
                throw ModelSpecError(.invalidJSON, file: file, field: repeated, message: "the key appears twice in one object")
            }
            self = .object(try members.mapValues { try SpecValue($0, file: file) })
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
