import Foundation

// The safetensors format (reference: huggingface/safetensors, safetensors/src/tensor.rs):
//
//   [0, 8)          N, the header length: UInt64, little-endian
//   [8, 8 + N)      the header: UTF-8 JSON object, right-padded with spaces
//                   {"__metadata__": {"k": "v", …}, "name": {"dtype": "F32", "shape": [2, 3],
//                    "data_offsets": [begin, end]}, …}
//   [8 + N, EOF)    the data buffer; each tensor's bytes are data[begin..<end], little-endian, row-major
//
// A valid file's tensor ranges, sorted by begin, tile the data buffer exactly: the first begins at 0,
// each begins where the previous ended, the last ends at EOF, and each spans count × element size bytes.

/// A safetensors checkpoint: named tensors plus free-form string metadata, as PyTorch's
/// `safetensors.torch.save_file` / `load_file` read and write them.
///
/// Supported dtypes: `F32`, `F64`, `I64` and `BOOL` (Strata's `.float32`, `.float64`, `.int64`, `.bool`).
public struct SafetensorsFile {
    /// The tensors by name. Read tensors are contiguous leaves that do not require gradients.
    public var tensors: [String: Tensor]
    /// The header's `__metadata__` map (empty when the file has none).
    public var metadata: [String: String]

    /// A checkpoint holding `tensors` (any shapes and strides; views are written by value) and `metadata`.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Headers larger than this are refused before being read, as the reference implementation does.
    public static let maxHeaderLength = 100_000_000

    /// Reads and validates the file at `url`.
    ///
    /// Throws `SafetensorsError` (naming the file and, where there is one, the tensor) when the contents
    /// break the format, `SizeLimitError` when the tensors' data exceeds `MemoryBudget`, or `IOError` when
    /// the file cannot be read.
    public static func read(from url: URL) throws -> SafetensorsFile {
        require(1.littleEndian == 1, "Safetensors: big-endian hosts are not supported")
        let path = url.path
        let fd = try POSIXFile.open(path, flags: O_RDONLY | O_CLOEXEC)
        defer { close(fd) }
        let fileSize = try POSIXFile.size(fd, path: path)

        guard fileSize >= 8 else { throw SafetensorsError.fileTooSmall(file: path, byteCount: fileSize) }
        var lengthField: UInt64 = 0
        try POSIXFile.read(fd, into: &lengthField, count: 8, at: 0, path: path)
        let headerLength = UInt64(littleEndian: lengthField)
        guard headerLength <= UInt64(maxHeaderLength) else {
            throw SafetensorsError.headerTooLarge(file: path, headerLength: headerLength)
        }
        guard headerLength <= UInt64(fileSize - 8) else {
            throw SafetensorsError.headerExceedsFile(file: path, headerLength: headerLength, fileSize: fileSize)
        }
        var header = [UInt8](repeating: 0, count: Int(headerLength))
        try header.withUnsafeMutableBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            try POSIXFile.read(fd, into: base, count: buffer.count, at: 8, path: path)
        }

        let dataStart = 8 + Int(headerLength)
        let (entries, metadata) = try parseHeader(header, file: path)
        try validateLayout(entries, dataSize: fileSize - dataStart, file: path)
        try CheckedSize.allocation(bytes: fileSize - dataStart, "\(path): the tensors' data")

        var tensors: [String: Tensor] = [:]
        for entry in entries {
            let tensor = Tensor(uninitialized: entry.shape, dtype: entry.dtype)
            let byteCount = entry.end - entry.begin
            if byteCount > 0 {
                try POSIXFile.read(fd, into: tensor.storage.base, count: byteCount,
                                   at: dataStart + entry.begin, path: path)
            }
            if entry.dtype == .bool {
                // Swift's Bool must be 0 or 1; any other byte is read as true, as NumPy does.
                let bytes = tensor.storage.base.assumingMemoryBound(to: UInt8.self)
                for i in 0..<byteCount where bytes[i] > 1 { bytes[i] = 1 }
            }
            tensors[entry.name] = tensor
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Writes the file atomically (see `AtomicFile`): the tensors' values, never their gradients.
    ///
    /// Layout matches the reference writer byte for byte (checked against safetensors 0.8.0's `save_file`
    /// on F32/F64/I64/BOOL, 0-d and zero-size tensors with metadata): tensors ordered by dtype (I64, F64, F32, BOOL —
    /// the reference's descending-alignment order) and then by name, so every tensor's data stays aligned
    /// to its element size; `__metadata__` first with keys sorted; compact JSON padded with spaces to a
    /// multiple of 8 bytes. Non-contiguous tensors are written in row-major order.
    /// Throws `SafetensorsError.reservedName` for a tensor named `__metadata__`, or `IOError`.
    public func write(to url: URL) throws {
        require(1.littleEndian == 1, "Safetensors: big-endian hosts are not supported")
        let path = url.path
        if tensors["__metadata__"] != nil { throw SafetensorsError.reservedName(file: path, tensor: "__metadata__") }
        let (header, ordered) = encodeHeader()
        try AtomicFile.write(to: url) { output in
            let length = UInt64(header.count).littleEndian
            try withUnsafeBytes(of: length) { try output.write($0) }
            try output.write(header)
            for (_, tensor) in ordered {
                let dense = tensor.contiguousData()
                defer { withExtendedLifetime(dense) {} }   // a fresh copy for a strided tensor, read only through the raw buffer
                let size = dense.dtype.size
                try output.write(UnsafeRawBufferPointer(start: dense.storage.base + dense.offset * size,
                                                        count: dense.count * size))
            }
        }
    }

    /// The padded header bytes and the tensors in the order their data follows it.
    func encodeHeader() -> (header: [UInt8], ordered: [(name: String, tensor: Tensor)]) {
        let ordered = tensors.map { (name: $0.key, tensor: $0.value) }.sorted { a, b in
            let (ra, rb) = (a.tensor.dtype.safetensorsOrder, b.tensor.dtype.safetensorsOrder)
            // Byte-wise name order, as Rust's `str` comparison (Swift's `<` compares Unicode-canonically).
            return ra != rb ? ra > rb : a.name.utf8.lexicographicallyPrecedes(b.name.utf8)
        }
        var fields: [(key: String, value: JSONValue)] = []
        if !metadata.isEmpty {
            let pairs = metadata.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            fields.append(("__metadata__", .object(pairs.map { ($0.key, .string($0.value)) })))
        }
        var offset = 0
        for (name, tensor) in ordered {
            let end = offset + tensor.count * tensor.dtype.size
            fields.append((name, .object([("dtype", .string(tensor.dtype.safetensorsName)),
                                          ("shape", .array(tensor.shape.map(JSONValue.int))),
                                          ("data_offsets", .array([.int(offset), .int(end)]))])))
            offset = end
        }
        var header = Array(JSONValue.object(fields).serialized().utf8)
        header += repeatElement(UInt8(ascii: " "), count: (8 - header.count % 8) % 8)
        return (header, ordered)
    }
}

/// One-call helpers over `SafetensorsFile`.
public enum Safetensors {
    /// The tensors stored in the safetensors file at `url` (its metadata is dropped; see `SafetensorsFile`).
    public static func load(_ url: URL) throws -> [String: Tensor] {
        try SafetensorsFile.read(from: url).tensors
    }

    /// Writes `tensors` and `metadata` to `url` as a safetensors file, atomically.
    public static func save(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: url)
    }
}

// MARK: - Errors

/// Why a safetensors file was refused. Every case names the file, and the tensor where one is at fault.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The file is shorter than the 8-byte header length field.
    case fileTooSmall(file: String, byteCount: Int)
    /// The header length field exceeds `SafetensorsFile.maxHeaderLength` (100 MB).
    case headerTooLarge(file: String, headerLength: UInt64)
    /// The header length field points past the end of the file.
    case headerExceedsFile(file: String, headerLength: UInt64, fileSize: Int)
    /// The header is not valid UTF-8.
    case headerNotUTF8(file: String)
    /// The header is not well-formed JSON; `offset` is the byte within the header where parsing failed.
    case invalidJSON(file: String, offset: Int, reason: String)
    /// The header is JSON but not an object (`{…}`).
    case headerNotObject(file: String)
    /// A key appears twice in the header (Swift strings that are canonically equivalent count as the same).
    case duplicateKey(file: String, key: String)
    /// `__metadata__` is not an object of strings; `key` names the offending entry when there is one.
    case invalidMetadata(file: String, key: String?, reason: String)
    /// A tensor's entry lacks `dtype`, `shape` or `data_offsets`, or one has the wrong JSON type or value.
    case malformedEntry(file: String, tensor: String, reason: String)
    /// A tensor's dtype is not one Strata reads (F32, F64, I64, BOOL).
    case unsupportedDType(file: String, tensor: String, dtype: String)
    /// The product of a tensor's shape, or its byte count, does not fit in `Int`.
    case shapeOverflow(file: String, tensor: String, shape: [Int])
    /// A tensor's `data_offsets` span differs from count × element size.
    case byteCountMismatch(file: String, tensor: String, dtype: DType, shape: [Int], begin: Int, end: Int)
    /// A tensor's `data_offsets` end before they begin.
    case offsetsReversed(file: String, tensor: String, begin: Int, end: Int)
    /// A tensor's data starts inside the previous tensor's (ranges sorted by begin).
    case overlappingData(file: String, tensor: String, begin: Int, previous: String, previousEnd: Int)
    /// Bytes between the previous tensor's end (or 0) and this tensor's begin belong to no tensor.
    case gapBeforeData(file: String, tensor: String, begin: Int, previousEnd: Int)
    /// A tensor's data runs past the end of the file.
    case dataPastEnd(file: String, tensor: String, end: Int, dataSize: Int)
    /// The data buffer continues after the last tensor's bytes.
    case trailingBytes(file: String, used: Int, dataSize: Int)
    /// Writing: a tensor has the name the format reserves for metadata.
    case reservedName(file: String, tensor: String)

    /// The file the error is about.
    public var file: String {
        switch self {
        case let .fileTooSmall(file, _), let .headerTooLarge(file, _), let .headerExceedsFile(file, _, _),
             let .headerNotUTF8(file), let .invalidJSON(file, _, _), let .headerNotObject(file),
             let .duplicateKey(file, _), let .invalidMetadata(file, _, _), let .malformedEntry(file, _, _),
             let .unsupportedDType(file, _, _), let .shapeOverflow(file, _, _),
             let .byteCountMismatch(file, _, _, _, _, _), let .offsetsReversed(file, _, _, _),
             let .overlappingData(file, _, _, _, _), let .gapBeforeData(file, _, _, _),
             let .dataPastEnd(file, _, _, _), let .trailingBytes(file, _, _), let .reservedName(file, _):
            file
        }
    }

    /// The error, naming the file and the bad field or value.
    public var description: String {
        "safetensors file '\(file)': " + detail
    }

    private var detail: String {
        switch self {
        case let .fileTooSmall(_, byteCount):
            return "only \(byteCount) bytes, shorter than the 8-byte header length"
        case let .headerTooLarge(_, length):
            return "header length \(length) exceeds the \(SafetensorsFile.maxHeaderLength)-byte limit"
        case let .headerExceedsFile(_, length, fileSize):
            return "header length \(length) runs past the end of the \(fileSize)-byte file"
        case .headerNotUTF8:
            return "header is not valid UTF-8"
        case let .invalidJSON(_, offset, reason):
            return "header is not valid JSON at byte \(offset): \(reason)"
        case .headerNotObject:
            return "header is not a JSON object"
        case let .duplicateKey(_, key):
            return "key '\(key)' appears more than once in the header"
        case let .invalidMetadata(_, key, reason):
            return "__metadata__" + (key.map { " entry '\($0)'" } ?? "") + " \(reason)"
        case let .malformedEntry(_, tensor, reason):
            return "tensor '\(tensor)': \(reason)"
        case let .unsupportedDType(_, tensor, dtype):
            let known = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "U64"]
            return "tensor '\(tensor)': dtype '\(dtype)' is "
                + (known.contains(dtype) ? "a safetensors dtype Strata does not support" : "not a safetensors dtype")
                + " (supported: F32, F64, I64, BOOL)"
        case let .shapeOverflow(_, tensor, shape):
            return "tensor '\(tensor)': shape \(shape) has more bytes than fit in Int"
        case let .byteCountMismatch(_, tensor, dtype, shape, begin, end):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] span \(end - begin) bytes but \(dtype) "
                + "shape \(shape) needs \(shape.reduce(1, *) * dtype.size)"
        case let .offsetsReversed(_, tensor, begin, end):
            return "tensor '\(tensor)': data_offsets [\(begin), \(end)] end before they begin"
        case let .overlappingData(_, tensor, begin, previous, previousEnd):
            return "tensor '\(tensor)': data begins at \(begin), inside tensor '\(previous)' which ends at \(previousEnd)"
        case let .gapBeforeData(_, tensor, begin, previousEnd):
            return "tensor '\(tensor)': data begins at \(begin), leaving bytes \(previousEnd)..<\(begin) unused"
        case let .dataPastEnd(_, tensor, end, dataSize):
            return "tensor '\(tensor)': data ends at \(end), past the \(dataSize)-byte data buffer"
        case let .trailingBytes(_, used, dataSize):
            return "tensors cover \(used) bytes but the data buffer has \(dataSize); the rest belongs to no tensor"
        case let .reservedName(_, tensor):
            return "tensor name '\(tensor)' is reserved for the metadata map"
        }
    }
}

// MARK: - Header parsing and validation

/// A tensor's header entry after type checking: where its bytes are and what they hold.
struct SafetensorsEntry {
    var name: String
    var dtype: DType
    var shape: [Int]
    var begin: Int
    var end: Int
}

extension DType {
    /// The dtype's name in a safetensors header.
    var safetensorsName: String {
        switch self {
        case .float32: "F32"
        case .float64: "F64"
        case .int64: "I64"
        case .bool: "BOOL"
        }
    }

    init?(safetensorsName name: String) {
        guard let match = DType.allCases.first(where: { $0.safetensorsName == name }) else { return nil }
        self = match
    }

    /// Position in the reference's `Dtype` enum (declared in increasing alignment); its writer puts
    /// higher positions first.
    var safetensorsOrder: Int {
        switch self {
        case .bool: 0
        case .float32: 1
        case .float64: 2
        case .int64: 3
        }
    }
}

extension SafetensorsFile {
    /// Checks the header's UTF-8, JSON and per-entry types; returns the entries and the metadata.
    static func parseHeader(_ header: [UInt8], file: String) throws(SafetensorsError)
        -> (entries: [SafetensorsEntry], metadata: [String: String]) {
        guard String(validating: header, as: UTF8.self) != nil else { throw .headerNotUTF8(file: file) }
        let root: JSONValue
        do {
            root = try JSONValue.parse(header)
        } catch {
            throw .invalidJSON(file: file, offset: error.offset, reason: error.reason)
        }
        guard case .object(let members) = root else { throw .headerNotObject(file: file) }
        // The reference refuses headers that do not start with '{' (no leading whitespace).
        guard header.first == UInt8(ascii: "{") else {
            throw .invalidJSON(file: file, offset: 0, reason: "the header must start with '{'")
        }

        var seen = Set<String>()
        var entries: [SafetensorsEntry] = []
        var metadata: [String: String] = [:]
        for (key, value) in members {
            guard seen.insert(key).inserted else { throw .duplicateKey(file: file, key: key) }
            if key == "__metadata__" {
                metadata = try parseMetadata(value, file: file)
            } else {
                entries.append(try parseEntry(name: key, value, file: file))
            }
        }
        return (entries, metadata)
    }

    private static func parseMetadata(_ value: JSONValue, file: String) throws(SafetensorsError) -> [String: String] {
        switch value {
        case .null:
            return [:]
        case .object(let members):
            var metadata: [String: String] = [:]
            for (key, value) in members {
                guard case .string(let text) = value else {
                    throw .invalidMetadata(file: file, key: key, reason: "is \(value.kind), not a string")
                }
                guard metadata.updateValue(text, forKey: key) == nil else {
                    throw .duplicateKey(file: file, key: "__metadata__.\(key)")
                }
            }
            return metadata
        default:
            throw .invalidMetadata(file: file, key: nil, reason: "is \(value.kind), not an object of strings")
        }
    }

    private static func parseEntry(name: String, _ value: JSONValue, file: String) throws(SafetensorsError)
        -> SafetensorsEntry {
        func malformed(_ reason: String) -> SafetensorsError { .malformedEntry(file: file, tensor: name, reason: reason) }
        guard case .object(let members) = value else { throw malformed("entry is \(value.kind), not an object") }
        var fields: [String: JSONValue] = [:]
        for (key, value) in members {
            guard fields.updateValue(value, forKey: key) == nil else {
                throw malformed("field '\(key)' appears more than once")
            }
        }
        guard let dtypeValue = fields["dtype"] else { throw malformed("missing 'dtype'") }
        guard let shapeValue = fields["shape"] else { throw malformed("missing 'shape'") }
        guard let offsetsValue = fields["data_offsets"] else { throw malformed("missing 'data_offsets'") }

        guard case .string(let dtypeName) = dtypeValue else { throw malformed("'dtype' is \(dtypeValue.kind), not a string") }
        guard let dtype = DType(safetensorsName: dtypeName) else {
            throw .unsupportedDType(file: file, tensor: name, dtype: dtypeName)
        }

        func integers(_ value: JSONValue, field: String) throws(SafetensorsError) -> [Int] {
            guard case .array(let items) = value else { throw malformed("'\(field)' is \(value.kind), not an array") }
            var result: [Int] = []
            for (i, item) in items.enumerated() {
                guard case .number(let literal) = item else {
                    throw malformed("'\(field)'[\(i)] is \(item.kind), not a non-negative integer")
                }
                // serde's usize accepts only plain digit literals: no sign, fraction or exponent.
                guard literal.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                    throw malformed("'\(field)'[\(i)] = \(literal) is not a non-negative integer")
                }
                guard let integer = Int(literal) else {
                    throw malformed("'\(field)'[\(i)] = \(literal) does not fit in a 64-bit integer")
                }
                result.append(integer)
            }
            return result
        }
        let shape = try integers(shapeValue, field: "shape")
        let offsets = try integers(offsetsValue, field: "data_offsets")
        guard offsets.count == 2 else {
            throw malformed("'data_offsets' has \(offsets.count) elements, not 2 ([begin, end])")
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }

    /// Checks that the entries' byte ranges match their shapes and tile `[0, dataSize)` exactly.
    static func validateLayout(_ entries: [SafetensorsEntry], dataSize: Int, file: String) throws(SafetensorsError) {
        // Ties on begin (zero-size tensors) sort by end, so an empty range comes before the one it starts.
        let sorted = entries.sorted { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var cursor = 0
        var previous = ""
        for entry in sorted {
            let byteCount: Int
            do throws(SizeLimitError) {
                byteCount = try CheckedSize.multiply(CheckedSize.product(entry.shape, entry.name), entry.dtype.size, entry.name)
            } catch {
                throw .shapeOverflow(file: file, tensor: entry.name, shape: entry.shape)
            }

            guard entry.end >= entry.begin else {
                throw .offsetsReversed(file: file, tensor: entry.name, begin: entry.begin, end: entry.end)
            }
            guard entry.begin >= cursor else {
                throw .overlappingData(file: file, tensor: entry.name, begin: entry.begin,
                                       previous: previous, previousEnd: cursor)
            }
            guard entry.begin == cursor else {
                throw .gapBeforeData(file: file, tensor: entry.name, begin: entry.begin, previousEnd: cursor)
            }
            guard entry.end - entry.begin == byteCount else {
                throw .byteCountMismatch(file: file, tensor: entry.name, dtype: entry.dtype, shape: entry.shape,
                                         begin: entry.begin, end: entry.end)
            }
            guard entry.end <= dataSize else {
                throw .dataPastEnd(file: file, tensor: entry.name, end: entry.end, dataSize: dataSize)
            }
            cursor = entry.end
            previous = entry.name
        }
        guard cursor == dataSize else { throw .trailingBytes(file: file, used: cursor, dataSize: dataSize) }
    }
}
