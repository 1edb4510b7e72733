import Foundation

// The oracles judge files by the formats' rules without calling the code under test, so they carry their own
// small readers. This is the JSON one: RFC 8259's grammar with the strictness the safetensors reference
// (serde_json) has and Strata documents for its reader — valid UTF-8, no lone surrogates, nesting at most 128
// deep — keeping number literals as written and object members in order.

indirect enum RefJSON {
    case object([(key: String, value: RefJSON)])
    case array([RefJSON])
    case string(String)
    case number(String)
    case bool(Bool)
    case null

    /// The members of an object, nil for anything else.
    var members: [(key: String, value: RefJSON)]? { if case .object(let m) = self { m } else { nil } }

    /// The value, or nil when `bytes` is not one JSON text by those rules.
    static func parse(_ bytes: [UInt8]) -> RefJSON? {
        guard String(validating: bytes, as: UTF8.self) != nil else { return nil }
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.at == bytes.count ? value : nil
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0

        var byte: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func skipSpace() {
            while let b = byte, b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { at += 1 }
        }

        mutating func value(depth: Int) -> RefJSON? {
            guard depth < 128, let b = byte else { return nil }
            switch b {
            case UInt8(ascii: "{"):
                at += 1
                var members: [(key: String, value: RefJSON)] = []
                skipSpace()
                if byte == UInt8(ascii: "}") { at += 1; return .object(members) }
                while true {
                    skipSpace()
                    guard byte == UInt8(ascii: "\""), let key = string() else { return nil }
                    skipSpace()
                    guard byte == UInt8(ascii: ":") else { return nil }
                    at += 1
                    skipSpace()
                    guard let item = value(depth: depth + 1) else { return nil }
                    members.append((key, item))
                    skipSpace()
                    if byte == UInt8(ascii: ",") { at += 1; continue }
                    guard byte == UInt8(ascii: "}") else { return nil }
                    at += 1
                    return .object(members)
                }
            case UInt8(ascii: "["):
                at += 1
                var items: [RefJSON] = []
                skipSpace()
                if byte == UInt8(ascii: "]") { at += 1; return .array(items) }
                while true {
                    skipSpace()
                    guard let item = value(depth: depth + 1) else { return nil }
                    items.append(item)
                    skipSpace()
                    if byte == UInt8(ascii: ",") { at += 1; continue }
                    guard byte == UInt8(ascii: "]") else { return nil }
                    at += 1
                    return .array(items)
                }
            case UInt8(ascii: "\""):
                return string().map(RefJSON.string)
            case UInt8(ascii: "t"): return word("true") ? .bool(true) : nil
            case UInt8(ascii: "f"): return word("false") ? .bool(false) : nil
            case UInt8(ascii: "n"): return word("null") ? .null : nil
            default:
                return number().map(RefJSON.number)
            }
        }

        mutating func word(_ text: String) -> Bool {
            let w = Array(text.utf8)
            guard at + w.count <= bytes.count, Array(bytes[at..<at + w.count]) == w else { return false }
            at += w.count
            return true
        }

        /// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func number() -> String? {
            let start = at
            func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
            func digits() -> Int {
                var n = 0
                while isDigit(byte) { at += 1; n += 1 }
                return n
            }
            if byte == UInt8(ascii: "-") { at += 1 }
            if byte == UInt8(ascii: "0") { at += 1 } else if digits() == 0 { return nil }
            if byte == UInt8(ascii: ".") {
                at += 1
                if digits() == 0 { return nil }
            }
            if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                at += 1
                if byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-") { at += 1 }
                if digits() == 0 { return nil }
            }
            return String(decoding: bytes[start..<at], as: UTF8.self)
        }

        mutating func hex4() -> UInt32? {
            guard at + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[at..<at + 4], as: UTF8.self), radix: 16),
                  bytes[at..<at + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") }) else { return nil }
            at += 4
            return value
        }

        mutating func string() -> String? {
            at += 1
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() -> Bool {
                guard !raw.isEmpty else { return true }
                guard let text = String(validating: raw, as: UTF8.self) else { return false }
                scalars.append(contentsOf: text.unicodeScalars)
                raw = []
                return true
            }
            while let b = byte {
                at += 1
                switch b {
                case UInt8(ascii: "\""):
                    return flush() ? String(scalars) : nil
                case UInt8(ascii: "\\"):
                    guard flush(), let e = byte else { return nil }
                    at += 1
                    switch e {
                    case UInt8(ascii: "\""): scalars.append("\"")
                    case UInt8(ascii: "\\"): scalars.append("\\")
                    case UInt8(ascii: "/"): scalars.append("/")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "u"):
                        guard var code = hex4() else { return nil }
                        if (0xD800...0xDBFF).contains(code) {
                            guard word("\\u"), let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let scalar = Unicode.Scalar(code) else { return nil }
                        scalars.append(scalar)
                    default:
                        return nil
                    }
                case 0x00..<0x20:
                    return nil
                default:
                    raw.append(b)
                }
            }
            return nil
        }
    }
}
