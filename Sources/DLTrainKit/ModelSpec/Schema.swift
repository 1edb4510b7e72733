import Foundation
import Strata

// The ops a model spec knows: each one's arguments, their JSON types and PyTorch's defaults.

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
