// JSON (RFC 8259): Strata's one reader and writer, for safetensors headers, dltrain's model specs and
// configurations, metrics lines and dlbench's report lines.
//
// The reader is strict, as the safetensors reference (serde_json) is: valid UTF-8, the exact grammar (no
// trailing commas, leading zeros, single quotes, lone surrogates or invalid escapes), nesting at most 128 deep
// and inputs at most `JSONValue.maxInputBytes`. Objects keep their members in order, repeated keys included, so
// the reader of each format decides what a repeated key is and names it in its own error.

/// A JSON value. Numbers keep their literal text, so an integer is told from a float exactly (`2` is not `2.0`)
/// and written back as it was read.
public indirect enum JSONValue: Sendable, Equatable, CustomStringConvertible {
    /// An object's members, in file order, repeated keys kept.
    case object([(key: String, value: JSONValue)])
    /// An array.
    case array([JSONValue])
    /// A string, unescaped.
    case string(String)
    /// A number, as its literal text.
    case number(String)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null

    /// Inputs longer than this are refused before they are parsed.
    public static let maxInputBytes = 100_000_000
    /// Arrays and objects nested deeper than this are refused (serde_json's limit).
    public static let maxDepth = 128

    /// An integer.
    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A double in its shortest round-trip form (`0.1`, `1e-05`, `100.0`, as Python's `json.dumps` writes it);
    /// `null` when it is NaN or infinite, which JSON cannot hold.
    public static func double(_ value: Double) -> JSONValue { value.isFinite ? .number(String(describing: value)) : .null }

    /// Whether both are the same value: numbers compare by their literal text, objects by their members in order.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)): x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(x), .array(y)): x == y
        case let (.string(x), .string(y)), let (.number(x), .number(y)): x == y
        case let (.bool(x), .bool(y)): x == y
        case (.null, .null): true
        default: false
        }
    }

    // MARK: Reading values

    /// The integer a number literal without fraction or exponent holds, when it fits in `Int`.
    public var intValue: Int? {
        guard case .number(let literal) = self, !literal.contains(where: { ".eE".contains($0) }) else { return nil }
        return Int(literal)
    }

    /// The value of a number.
    public var doubleValue: Double? {
        guard case .number(let literal) = self else { return nil }
        return Double(literal)
    }

    /// The value of a string.
    public var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    /// The value of a boolean.
    public var boolValue: Bool? { if case .bool(let b) = self { b } else { nil } }
    /// The elements of an array.
    public var arrayValue: [JSONValue]? { if case .array(let items) = self { items } else { nil } }
    /// Whether the value is `null`.
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The first member named `key` of an object (nil for other values).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    /// The JSON type's name, for error messages: `an object`, `an array`, `a string`, `the number 3`, `true`, `null`.
    public var kind: String {
        switch self {
        case .object: "an object"
        case .array: "an array"
        case .string: "a string"
        case .number(let literal): "the number \(literal)"
        case .bool(let value): "\(value)"
        case .null: "null"
        }
    }

    // MARK: Writing

    /// The value as compact JSON text, members in their order, strings escaped as serde_json does (`"` and `\`
    /// backslashed, control characters as `\b \t \n \f \r` or `\u00XX`, everything else raw UTF-8).
    /// `itemSeparator` and `keySeparator` give Python's `json.dumps` layout with `", "` and `": "`.
    public func serialized(itemSeparator: String = ",", keySeparator: String = ":") -> String {
        var out = ""
        write(to: &out, itemSeparator, keySeparator)
        return out
    }

    /// The value as compact JSON text.
    public var description: String { serialized() }

    private func write(to out: inout String, _ item: String, _ key: String) {
        switch self {
        case .object(let members):
            out += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { out += item }
                JSONValue.escape(member.key, into: &out)
                out += key
                member.value.write(to: &out, item, key)
            }
            out += "}"
        case .array(let items):
            out += "["
            for (i, value) in items.enumerated() {
                if i > 0 { out += item }
                value.write(to: &out, item, key)
            }
            out += "]"
        case .string(let text): JSONValue.escape(text, into: &out)
        case .number(let literal): out += literal
        case .bool(let value): out += value ? "true" : "false"
        case .null: out += "null"
        }
    }

    private static func escape(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{00}"..."\u{1F}":
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    // MARK: Parsing

    /// Parses one JSON value surrounded by optional whitespace.
    /// - Throws: `JSONError` with the byte offset where the input stops being valid JSON.
    public static func parse(_ bytes: [UInt8]) throws(JSONError) -> JSONValue {
        guard bytes.count <= maxInputBytes else {
            throw JSONError(offset: 0, reason: "the input's \(bytes.count) bytes exceed the \(maxInputBytes)-byte limit")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else { throw JSONError(offset: 0, reason: "the input is not valid UTF-8") }
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("unexpected text after the JSON value") }
        return value
    }
}

/// Where and why a text is not valid JSON.
public struct JSONError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The byte offset at which parsing failed.
    public let offset: Int
    /// What was wrong there.
    public let reason: String

    /// The 1-based line and column of `offset` in `bytes` (the input that failed).
    public func position(in bytes: [UInt8]) -> (line: Int, column: Int) {
        let prefix = bytes.prefix(offset)
        let line = prefix.filter { $0 == UInt8(ascii: "\n") }.count + 1
        return (line, offset - (prefix.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0) + 1)
    }

    /// The reason and the byte offset.
    public var description: String { "\(reason) at byte \(offset)" }
}

/// A recursive-descent parser over UTF-8 bytes (already validated).
private struct JSONParser {
    let bytes: [UInt8]
    var index = 0

    init(bytes: [UInt8]) { self.bytes = bytes }

    func failure(_ reason: String) -> JSONError { JSONError(offset: index, reason: reason) }

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    private mutating func expect(_ byte: UInt8) throws(JSONError) {
        guard current == byte else {
            throw failure(current == nil ? "unexpected end, expected '\(Character(Unicode.Scalar(byte)))'"
                                         : "expected '\(Character(Unicode.Scalar(byte)))'")
        }
        index += 1
    }

    mutating func parseValue(depth: Int) throws(JSONError) -> JSONValue {
        guard depth < JSONValue.maxDepth else { throw failure("nested more than \(JSONValue.maxDepth) levels deep") }
        guard let byte = current else { throw failure("unexpected end, expected a value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try parseLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try parseLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try parseLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw failure("unexpected character, expected a value")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONError) -> JSONValue {
        index += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if current == UInt8(ascii: "}") { index += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard current == UInt8(ascii: "\"") else { throw failure("expected a string key") }
            let key = try parseString()
            skipWhitespace()
            try expect(UInt8(ascii: ":"))
            skipWhitespace()
            members.append((key, try parseValue(depth: depth + 1)))
            skipWhitespace()
            if current == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "}"))
            return .object(members)
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONError) -> JSONValue {
        index += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if current == UInt8(ascii: "]") { index += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth + 1))
            skipWhitespace()
            if current == UInt8(ascii: ",") { index += 1; continue }
            try expect(UInt8(ascii: "]"))
            return .array(items)
        }
    }

    private mutating func parseLiteral(_ word: StaticString) throws(JSONError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count,
              bytes[index..<index + count].elementsEqual(UnsafeBufferPointer(start: word.utf8Start, count: count))
        else { throw failure("invalid literal, expected '\(word)'") }
        index += count
    }

    private mutating func parseNumber() throws(JSONError) -> String {
        let start = index
        func digits(_ parser: inout JSONParser) -> Int {
            let first = parser.index
            while let b = parser.current, b >= UInt8(ascii: "0"), b <= UInt8(ascii: "9") { parser.index += 1 }
            return parser.index - first
        }
        if current == UInt8(ascii: "-") { index += 1 }
        if current == UInt8(ascii: "0") {
            index += 1
        } else if digits(&self) == 0 {
            throw failure("invalid number")
        }
        if current == UInt8(ascii: ".") {
            index += 1
            guard digits(&self) > 0 else { throw failure("invalid number: no digits after '.'") }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            index += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
            guard digits(&self) > 0 else { throw failure("invalid number: no digits in the exponent") }
        }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    private mutating func parseString() throws(JSONError) -> String {
        index += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                index += 1
                guard let escape = current else { throw failure("unterminated escape") }
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    var value = try parseHex4()
                    if (0xD800...0xDBFF).contains(value) {
                        guard current == UInt8(ascii: "\\"), index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "u")
                        else { throw failure("lone leading surrogate in \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw failure("invalid trailing surrogate in \\u escape") }
                        value = 0x10000 + ((value - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(value) else { throw failure("lone trailing surrogate in \\u escape") }
                    out += Array(String(Character(scalar)).utf8)
                default:
                    index -= 1
                    throw failure("invalid escape")
                }
            case 0x00..<0x20:
                throw failure("control character in string")
            default:
                out.append(byte)
                index += 1
            }
        }
    }

    private mutating func parseHex4() throws(JSONError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw failure("unterminated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt32
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
            default: throw failure("invalid hex digit in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}

extension JSONValue {
    /// An object's members by key, and the first key that appears more than once (nil when none does); nil for
    /// a value that is not an object. A format that refuses repeated keys names `repeatedKey` in its error.
    public var membersByKey: (members: [String: JSONValue], repeatedKey: String?)? {
        guard case .object(let list) = self else { return nil }
        var members: [String: JSONValue] = [:], repeated: String?
        for (key, value) in list {
            if members.updateValue(value, forKey: key) != nil, repeated == nil { repeated = key }
        }
        return (members, repeated)
    }
}
