import Foundation

// The safetensors rules, read from the format (huggingface/safetensors, safetensors/src/tensor.rs) and
// Docs: an 8-byte little-endian header length N ≤ 100,000,000 within the file; a header of N bytes of UTF-8
// JSON starting with '{', an object whose keys are unique; `__metadata__` null or an object of strings; every
// other member an object with `dtype` (F32, F64, I64, BOOL: what Strata reads), `shape` and `data_offsets`
// (two), both arrays of unsigned integer literals that fit in 64 bits; each tensor's byte span equals
// count × element size without overflow; and the spans, sorted, tile the data after the header exactly.

/// One tensor of a file the reference read.
struct RefTensor {
    var name: String
    var dtype: String
    var shape: [Int]
    /// Its bytes, as the format says they are read (a BOOL byte other than 0 reads as 1).
    var bytes: [UInt8]

    var elementSize: Int { Self.elementSizes[dtype]! }
    static let elementSizes = ["F32": 4, "F64": 8, "I64": 8, "BOOL": 1]

    /// The values as Doubles (little-endian), as a reader converts them.
    var values: [Double] {
        switch dtype {
        case "F32": stride(from: 0, to: bytes.count, by: 4).map { Double(Float(bitPattern: Self.word(bytes, $0, 4).low32)) }
        case "F64": stride(from: 0, to: bytes.count, by: 8).map { Double(bitPattern: Self.word(bytes, $0, 8)) }
        case "I64": stride(from: 0, to: bytes.count, by: 8).map { Double(Int64(bitPattern: Self.word(bytes, $0, 8))) }
        default: bytes.map { Double($0) }
        }
    }

    /// The I64 values exactly (for integer checks).
    var integers: [Int64] { stride(from: 0, to: bytes.count, by: 8).map { Int64(bitPattern: Self.word(bytes, $0, 8)) } }

    private static func word(_ bytes: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
        (0..<width).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << UInt64(8 * $1) }
    }
}

private extension UInt64 {
    var low32: UInt32 { UInt32(truncatingIfNeeded: self) }
}

/// A safetensors file as the reference reads it.
struct RefSafetensors {
    var tensors: [String: RefTensor]
    var metadata: [String: String]
    /// The header length N (where the data starts: 8 + N).
    var headerLength: Int

    /// `name:dtype:shape:hash` for every tensor in byte order of names, then the metadata's keys and values.
    var summary: String {
        let names = tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let parts = names.map { name in
            let t = tensors[name]!
            return "\(name):\(t.dtype):\(t.shape):\(fnv1a(t.bytes))"
        }
        let meta = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "\($0)=\(fnv1a(Array(metadata[$0]!.utf8)))" }
        return (parts + meta).joined(separator: ";")
    }

    /// Reads `bytes`, or says which rule they break.
    static func read(_ bytes: [UInt8]) -> Result<RefSafetensors, RefError> {
        func fail(_ reason: String) -> Result<RefSafetensors, RefError> { .failure(RefError(reason)) }
        guard bytes.count >= 8 else { return fail("the file is shorter than its 8-byte header length") }
        let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << UInt64(8 * $1) }
        guard length <= 100_000_000 else { return fail("the header length \(length) exceeds 100,000,000") }
        guard length <= UInt64(bytes.count - 8) else { return fail("the header length \(length) runs past the file") }
        let n = Int(length)
        let header = Array(bytes[8..<8 + n])
        guard header.first == UInt8(ascii: "{"), let root = RefJSON.parse(header), let members = root.members else {
            return fail("the header is not a JSON object starting with '{'")
        }
        var keys = Set<String>(), metadata: [String: String] = [:]
        var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
        for (key, value) in members {
            guard keys.insert(key).inserted else { return fail("the key '\(key)' is repeated") }
            if key == "__metadata__" {
                switch value {
                case .null: continue
                case .object(let items):
                    for (k, v) in items {
                        guard case .string(let text) = v else { return fail("__metadata__ entry '\(k)' is not a string") }
                        guard metadata.updateValue(text, forKey: k) == nil else { return fail("__metadata__ key '\(k)' is repeated") }
                    }
                default: return fail("__metadata__ is not an object")
                }
                continue
            }
            guard let fields = value.members else { return fail("the entry '\(key)' is not an object") }
            var byName: [String: RefJSON] = [:]
            for (k, v) in fields {
                guard byName.updateValue(v, forKey: k) == nil else { return fail("the entry '\(key)' repeats '\(k)'") }
            }
            guard case .string(let dtype)? = byName["dtype"], RefTensor.elementSizes[dtype] != nil else {
                return fail("the entry '\(key)' has no supported dtype")
            }
            func unsigned(_ field: String) -> [Int]? {
                guard case .array(let items)? = byName[field] else { return nil }
                var out: [Int] = []
                for item in items {
                    guard case .number(let literal) = item, literal.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                          let value = Int(literal) else { return nil }
                    out.append(value)
                }
                return out
            }
            guard let shape = unsigned("shape") else { return fail("the entry '\(key)' has no valid shape") }
            guard let offsets = unsigned("data_offsets"), offsets.count == 2 else {
                return fail("the entry '\(key)' has no valid data_offsets")
            }
            entries.append((key, dtype, shape, offsets[0], offsets[1]))
        }
        let dataSize = bytes.count - 8 - n
        var cursor = 0
        var tensors: [String: RefTensor] = [:]
        for entry in entries.sorted(by: { ($0.begin, $0.end) < ($1.begin, $1.end) }) {
            var count = 1
            for dim in entry.shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dim)
                if overflow { return fail("the shape of '\(entry.name)' overflows") }
                count = product
            }
            let size = RefTensor.elementSizes[entry.dtype]!
            let (byteCount, overflow) = count.multipliedReportingOverflow(by: size)
            if overflow { return fail("the byte count of '\(entry.name)' overflows") }
            guard entry.begin == cursor, entry.end >= entry.begin, entry.end - entry.begin == byteCount, entry.end <= dataSize else {
                return fail("the data of '\(entry.name)' ([\(entry.begin), \(entry.end)]) does not follow on at \(cursor) with \(byteCount) bytes within \(dataSize)")
            }
            var data = Array(bytes[8 + n + entry.begin..<8 + n + entry.end])
            if entry.dtype == "BOOL" { data = data.map { $0 > 1 ? 1 : $0 } }
            tensors[entry.name] = RefTensor(name: entry.name, dtype: entry.dtype, shape: entry.shape, bytes: data)
            cursor = entry.end
        }
        guard cursor == dataSize else { return fail("\(dataSize - cursor) bytes after the last tensor belong to none") }
        return .success(RefSafetensors(tensors: tensors, metadata: metadata, headerLength: n))
    }
}

/// Why a reference reader refused a file.
struct RefError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// FNV-1a, 64-bit: a digest for summaries.
func fnv1a(_ bytes: some Sequence<UInt8>) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return String(hash, radix: 16)
}
