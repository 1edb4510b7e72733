import Foundation
import Strata
import Testing

// MARK: - Helpers

/// Runs `body` with a fresh directory under the system temporary directory, removed afterwards.
private func withTemporaryDirectory(_ body: (URL) throws -> Void) throws {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("strata-safetensors-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(at: directory) }
    try body(directory)
}

/// The bytes of a safetensors file: `length` (default: the header's UTF-8 length) as a little-endian
/// UInt64, the header, then `data`.
private func fileBytes(_ header: String, data: [UInt8] = [], length: UInt64? = nil) -> [UInt8] {
    let headerBytes = Array(header.utf8)
    return withUnsafeBytes(of: (length ?? UInt64(headerBytes.count)).littleEndian, Array.init) + headerBytes + data
}

private func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    withUnsafeBytes(of: value.littleEndian, Array.init)
}

private func floatBytes(_ values: [Float]) -> [UInt8] { values.flatMap { littleEndianBytes($0.bitPattern) } }

/// Writes `bytes` to a file, reads it back, and expects a `SafetensorsError` for which `matches` holds,
/// whose description names the file and, when given, `tensor`.
private func expectReadError(_ bytes: [UInt8], tensor: String? = nil,
                             sourceLocation: SourceLocation = #_sourceLocation,
                             _ matches: (SafetensorsError) -> Bool) throws {
    try withTemporaryDirectory { directory in
        let url = directory.appendingPathComponent("bad.safetensors")
        try Data(bytes).write(to: url)
        let error = #expect(throws: SafetensorsError.self, sourceLocation: sourceLocation) {
            try SafetensorsFile.read(from: url)
        }
        guard let error else { return }
        #expect(matches(error), "unexpected error: \(error)", sourceLocation: sourceLocation)
        #expect(error.file == url.path, sourceLocation: sourceLocation)
        #expect(error.description.contains(url.path), "\(error)", sourceLocation: sourceLocation)
        if let tensor {
            #expect(error.description.contains("'\(tensor)'"), "\(error)", sourceLocation: sourceLocation)
        }
    }
}

/// Expects `a` and `b` to hold the same dtype, shape and bytes (NaN payloads and -0 included).
private func expectIdentical(_ a: Tensor?, _ b: Tensor, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let a else {
        Issue.record("missing tensor", sourceLocation: sourceLocation)
        return
    }
    #expect(a.dtype == b.dtype && a.shape == b.shape, "\(a.dtype)\(a.shape) vs \(b.dtype)\(b.shape)",
            sourceLocation: sourceLocation)
    guard a.dtype == b.dtype else { return }
    let equal = switch a.dtype {
    case .float32: a.scalars(as: Float.self).map(\.bitPattern) == b.scalars(as: Float.self).map(\.bitPattern)
    case .float64: a.scalars(as: Double.self).map(\.bitPattern) == b.scalars(as: Double.self).map(\.bitPattern)
    case .int64: a.scalars(as: Int64.self) == b.scalars(as: Int64.self)
    case .bool: a.scalars(as: Bool.self) == b.scalars(as: Bool.self)
    }
    #expect(equal, "values differ: \(a) vs \(b)", sourceLocation: sourceLocation)
}

private func temporaryFiles(in directory: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.contains(".tmp-") }
}

// MARK: - Round trips

@Suite struct SafetensorsTests {
    @Test(arguments: [[2, 3], [], [0], [3, 0, 2], [1, 4]] as [[Int]])
    func everyDTypeRoundTrips(shape: [Int]) throws {
        let n = shape.reduce(1, *)
        let tensors: [String: Tensor] = [
            "f32": Tensor((0..<n).map { Float($0) * 0.5 - 1.25 }, shape: shape),
            "f64": Tensor((0..<n).map { Double($0) * .pi - 3 }, shape: shape),
            "i64": Tensor((0..<n).map { Int64($0) * 1_000_000_007 - 5 }, shape: shape),
            "mask": Tensor((0..<n).map { $0 % 3 == 0 }, shape: shape),
        ]
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try SafetensorsFile(tensors: tensors, metadata: ["format": "pt"]).write(to: url)
            let read = try SafetensorsFile.read(from: url)
            #expect(Set(read.tensors.keys) == Set(tensors.keys))
            #expect(read.metadata == ["format": "pt"])
            for (name, tensor) in tensors { expectIdentical(read.tensors[name], tensor) }
            #expect(read.tensors.values.allSatisfy { $0.isContiguous && !$0.requiresGrad })
        }
    }

    @Test func extremeValuesRoundTripBitExactly() throws {
        let nanWithPayload = Float(bitPattern: 0x7FC0_1234)
        let tensors: [String: Tensor] = [
            "f32": Tensor([nanWithPayload, -0.0, .infinity, -.infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude]),
            "f64": Tensor([Double.nan, -0.0, .leastNonzeroMagnitude, -.greatestFiniteMagnitude], shape: [2, 2]),
            "i64": Tensor([Int64.min, Int64.max, 0, -1]),
        ]
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("extremes.safetensors")
            try Safetensors.save(tensors, to: url)
            let read = try Safetensors.load(url)
            for (name, tensor) in tensors { expectIdentical(read[name], tensor) }
        }
    }

    @Test func metadataAndUnusualNamesRoundTrip() throws {
        let metadata = [
            "format": "pt", "empty": "", "quote\"and\\backslash": "line\nbreak\ttab\u{01}",
            "unicode ключ": "значение 🚀", "slash/": "a/b",
        ]
        let tensors = ["layers.0.weight": Tensor([1.0, 2.0] as [Float]), "名前 \"q\"": Tensor([true])]
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("meta.safetensors")
            try SafetensorsFile(tensors: tensors, metadata: metadata).write(to: url)
            let read = try SafetensorsFile.read(from: url)
            #expect(read.metadata == metadata)
            for (name, tensor) in tensors { expectIdentical(read.tensors[name], tensor) }

            // No tensors and no metadata: the smallest valid file.
            try SafetensorsFile().write(to: url)
            let empty = try SafetensorsFile.read(from: url)
            #expect(empty.tensors.isEmpty && empty.metadata.isEmpty)
        }
    }

    @Test func nonContiguousTensorsAreWrittenByValue() throws {
        let base = Tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0] as [Float], shape: [2, 3])
        let transposed = base.transposed()                                   // [3, 2]: [[1, 4], [2, 5], [3, 6]]
        let column = Tensor((0..<12).map(Double.init), shape: [3, 4]).slice(1, 2..<3)  // [3, 1]: [2, 6, 10], offset 2
        let expanded = Tensor([7, 8] as [Int64], shape: [2, 1]).expanded(to: [2, 3])  // stride 0 along dim 1
        #expect(!transposed.isContiguous && !expanded.isContiguous)
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("views.safetensors")
            try Safetensors.save(["t": transposed, "c": column, "e": expanded], to: url)
            let read = try Safetensors.load(url)
            #expect(read["t"]?.shape == [3, 2])
            #expect(read["t"]?.scalars(as: Float.self) == [1, 4, 2, 5, 3, 6])
            #expect(read["c"]?.shape == [3, 1])
            #expect(read["c"]?.scalars(as: Double.self) == [2, 6, 10])
            #expect(read["e"]?.scalars(as: Int64.self) == [7, 7, 7, 8, 8, 8])
        }
    }

    // MARK: Golden bytes

    @Test func writerMatchesHandBuiltBytes() throws {
        // Built from the format rules, not from the writer:
        // - order: the reference writer sorts by dtype, I64 > F64 > F32 > BOOL, then by name, so n, w, b;
        // - offsets: n is 8 bytes [0, 8), w is 2 × 4 bytes [8, 16), b is 3 × 1 byte [16, 19);
        // - JSON: compact, __metadata__ first; it is 194 bytes, so 6 spaces pad it to 200 = 8 × 25.
        let json = #"{"__metadata__":{"format":"pt"},"#
            + #""n":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"#
            + #""w":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"#
            + #""b":{"dtype":"BOOL","shape":[3],"data_offsets":[16,19]}}"#
        #expect(json.utf8.count == 194)
        let expected: [UInt8] = [200, 0, 0, 0, 0, 0, 0, 0]                // N = 200, little-endian UInt64
            + Array(json.utf8) + Array(repeating: 0x20, count: 6)       // header + padding
            + [7, 0, 0, 0, 0, 0, 0, 0]                                  // n = 7 as Int64
            + [0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0]          // w = [1.0, -2.0] as IEEE 754 binary32
            + [1, 0, 1]                                                 // b = [true, false, true]
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("golden.safetensors")
            try Safetensors.save(["w": Tensor([1.0, -2.0] as [Float]), "b": Tensor([true, false, true]),
                                  "n": Tensor([7] as [Int64], shape: [])],
                                 metadata: ["format": "pt"], to: url)
            #expect(try [UInt8](Data(contentsOf: url)) == expected)
            let read = try SafetensorsFile.read(from: url)
            #expect(read.tensors["n"]?.shape == [] && read.tensors["n"]?.item() == 7)
        }
    }

    @Test func writerMatchesTheReferenceImplementationsTestVectors() throws {
        // The byte strings asserted by huggingface/safetensors' own tests (tensor.rs, `test_serialization`
        // and `test_empty`), spelled out here as header text plus data.
        let attention = #"{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}"#  // 64 bytes, no padding
        let withMetadata = #"{"__metadata__":{"framework":"pt"}}"# + "     "             // 35 + 5 = 40 bytes
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("reference.safetensors")
            try Safetensors.save(["attn.0": Tensor([0, 1, 2, 3, 4, 5] as [Float], shape: [1, 2, 3])], to: url)
            #expect(try [UInt8](Data(contentsOf: url)) == fileBytes(attention, data: floatBytes([0, 1, 2, 3, 4, 5])))

            try Safetensors.save([:], to: url)
            #expect(try [UInt8](Data(contentsOf: url)) == fileBytes("{}      "))

            try Safetensors.save([:], metadata: ["framework": "pt"], to: url)
            #expect(try [UInt8](Data(contentsOf: url)) == fileBytes(withMetadata))
        }
    }

    @Test func readerAcceptsAnyKeyOrderUnknownFieldsAndPadding() throws {
        // Keys not in offset order, an extra field the reference ignores, whitespace inside the JSON and
        // trailing padding, and a zero-size tensor sharing its offset with the next one.
        let header = #"{ "b": {"data_offsets": [8, 12], "shape": [1], "dtype": "F32", "note": [1, {"x": null}]},"#
            + #" "z": {"dtype": "F64", "shape": [0, 4], "data_offsets": [8, 8]},"#
            + #" "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "__metadata__": null }   "#
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("order.safetensors")
            try Data(fileBytes(header, data: floatBytes([1.5, 2.5, -3]))).write(to: url)
            let read = try SafetensorsFile.read(from: url)
            #expect(read.tensors["a"]?.scalars(as: Float.self) == [1.5, 2.5])
            #expect(read.tensors["b"]?.scalars(as: Float.self) == [-3])
            #expect(read.tensors["z"]?.shape == [0, 4] && read.tensors["z"]?.dtype == .float64)
            #expect(read.metadata.isEmpty)
        }
    }

    @Test func boolBytesOtherThanZeroAndOneReadAsTrue() throws {
        let header = #"{"m":{"dtype":"BOOL","shape":[3],"data_offsets":[0,3]}}"#
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("mask.safetensors")
            try Data(fileBytes(header, data: [0, 2, 255])).write(to: url)
            #expect(try Safetensors.load(url)["m"]?.scalars(as: Bool.self) == [false, true, true])
        }
    }

    // MARK: Malformed files

    @Test func fileShorterThanTheLengthField() throws {
        try expectReadError([]) { if case .fileTooSmall(_, 0) = $0 { true } else { false } }
        try expectReadError([8, 0, 0, 0, 0]) { if case .fileTooSmall(_, 5) = $0 { true } else { false } }
    }

    @Test func headerLengthOverTheLimit() throws {
        try expectReadError(fileBytes("{}", length: 100_000_001)) {
            if case .headerTooLarge(_, 100_000_001) = $0 { true } else { false }
        }
        try expectReadError(fileBytes("{}", length: .max)) { if case .headerTooLarge = $0 { true } else { false } }
    }

    @Test func headerLengthPastTheEndOfTheFile() throws {
        try expectReadError(fileBytes("{}", length: 3)) {
            if case .headerExceedsFile(_, 3, 10) = $0 { true } else { false }
        }
    }

    @Test func headerNotUTF8() throws {
        let bytes = withUnsafeBytes(of: UInt64(4).littleEndian, Array.init) + [0x7B, 0xFF, 0xFE, 0x7D]  // {\xFF\xFE}
        try expectReadError(bytes) { if case .headerNotUTF8 = $0 { true } else { false } }
    }

    @Test(arguments: [
        #"{"a": {"dtype": "F32""#,          // truncated
        #"{"a": 1,}"#,                     // trailing comma
        #"{} x"#,                          // text after the object
        #" {}"#,                           // leading whitespace (the reference requires '{' first)
        #"{'a': 1}"#,                      // single quotes
        #"{"a": "\q"}"#,                   // invalid escape
        #"{"a": "\ud800"}"#,               // lone surrogate
        #"{"a": 01}"#,                     // leading zero
        "",                                // empty header
    ])
    func headerNotJSON(header: String) throws {
        try expectReadError(fileBytes(header)) { if case .invalidJSON = $0 { true } else { false } }
    }

    @Test func headerNotAnObject() throws {
        try expectReadError(fileBytes("[1, 2]")) { if case .headerNotObject = $0 { true } else { false } }
        try expectReadError(fileBytes(#""text""#)) { if case .headerNotObject = $0 { true } else { false } }
    }

    @Test func headerNestedTooDeeply() throws {
        let header = #"{"a": "# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"
        try expectReadError(fileBytes(header)) { if case .invalidJSON = $0 { true } else { false } }
    }

    @Test func duplicateKeys() throws {
        let entry = #"{"dtype":"F32","shape":[1],"data_offsets":[0,4]}"#
        try expectReadError(fileBytes(#"{"w":\#(entry),"w":\#(entry)}"#, data: floatBytes([1]))) {
            if case .duplicateKey(_, "w") = $0 { true } else { false }
        }
    }

    @Test(arguments: [
        (#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, "missing 'dtype'"),
        (#"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, "missing 'shape'"),
        (#"{"w":{"dtype":"F32","shape":[1]}}"#, "missing 'data_offsets'"),
        (#"{"w":[0,4]}"#, "not an object"),
        (#"{"w":{"dtype":32,"shape":[1],"data_offsets":[0,4]}}"#, "'dtype' is the number 32"),
        (#"{"w":{"dtype":"F32","shape":"1","data_offsets":[0,4]}}"#, "'shape' is a string"),
        (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":{"begin":0}}}"#, "'data_offsets' is an object"),
        (#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, "3 elements"),
        (#"{"w":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, "more than once"),
    ])
    func malformedEntries(header: String, reason: String) throws {
        try expectReadError(fileBytes(header, data: floatBytes([1])), tensor: "w") {
            if case .malformedEntry(_, "w", let r) = $0 { r.contains(reason) } else { false }
        }
    }

    @Test(arguments: ["-1", "2.5", "1.0", "1e0", "true", "null", #""1""#, "99999999999999999999"])
    func shapeAndOffsetsMustBeNonNegativeIntegers(literal: String) throws {
        let inShape = #"{"w":{"dtype":"F32","shape":[\#(literal)],"data_offsets":[0,4]}}"#
        try expectReadError(fileBytes(inShape, data: floatBytes([1])), tensor: "w") {
            if case .malformedEntry(_, "w", let reason) = $0 { reason.contains("'shape'[0]") } else { false }
        }
        let inOffsets = #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,\#(literal)]}}"#
        try expectReadError(fileBytes(inOffsets, data: floatBytes([1])), tensor: "w") {
            if case .malformedEntry(_, "w", let reason) = $0 { reason.contains("'data_offsets'[1]") } else { false }
        }
    }

    @Test func metadataValuesMustBeStrings() throws {
        try expectReadError(fileBytes(#"{"__metadata__":{"epoch":3}}"#)) {
            if case .invalidMetadata(_, "epoch", _) = $0 { true } else { false }
        }
        try expectReadError(fileBytes(#"{"__metadata__":["a"]}"#)) {
            if case .invalidMetadata(_, nil, _) = $0 { true } else { false }
        }
    }

    @Test func unsupportedDTypesAreNamed() throws {
        for dtype in ["F16", "Q7", "f32"] {
            let header = #"{"w":{"dtype":"\#(dtype)","shape":[2],"data_offsets":[0,4]}}"#
            try expectReadError(fileBytes(header, data: [0, 0, 0, 0]), tensor: "w") { error in
                guard case .unsupportedDType(_, "w", dtype) = error else { return false }
                return error.description.contains("'\(dtype)'")
            }
        }
    }

    @Test func shapeProductOverflow() throws {
        // 2^32 · 2^32 = 2^64 elements: the element count itself overflows Int.
        let header = #"{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}"#
        try expectReadError(fileBytes(header, data: floatBytes([1])), tensor: "w") {
            if case .shapeOverflow(_, "w", [4_294_967_296, 4_294_967_296]) = $0 { true } else { false }
        }
        // 2^62 elements fit, but 2^62 · 4 bytes does not.
        let bytes = #"{"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}}"#
        try expectReadError(fileBytes(bytes, data: floatBytes([1])), tensor: "w") {
            if case .shapeOverflow = $0 { true } else { false }
        }
    }

    @Test func byteCountDisagreesWithOffsets() throws {
        // F32 [2] needs 8 bytes; the offsets span 12.
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,12]}}"#
        try expectReadError(fileBytes(header, data: floatBytes([1, 2, 3])), tensor: "w") {
            if case .byteCountMismatch(_, "w", .float32, [2], 0, 12) = $0 { true } else { false }
        }
    }

    @Test func overlappingOffsets() throws {
        let header = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        try expectReadError(fileBytes(header, data: floatBytes([1, 2, 3])), tensor: "b") {
            if case .overlappingData(_, "b", 4, "a", 8) = $0 { true } else { false }
        }
    }

    @Test func holesInTheDataBuffer() throws {
        let between = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"#
            + #""b":{"dtype":"F32","shape":[1],"data_offsets":[12,16]}}"#
        try expectReadError(fileBytes(between, data: floatBytes([1, 2, 3, 4])), tensor: "b") {
            if case .gapBeforeData(_, "b", 12, 8) = $0 { true } else { false }
        }
        let atStart = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#
        try expectReadError(fileBytes(atStart, data: floatBytes([1, 2])), tensor: "a") {
            if case .gapBeforeData(_, "a", 4, 0) = $0 { true } else { false }
        }
    }

    @Test func offsetsThatEndBeforeTheyBegin() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#
        try expectReadError(fileBytes(header, data: floatBytes([1, 2])), tensor: "w") {
            if case .offsetsReversed(_, "w", 8, 0) = $0 { true } else { false }
        }
    }

    @Test func dataPastTheEndOfTheFile() throws {
        let header = #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#
        try expectReadError(fileBytes(header, data: floatBytes([1, 2])), tensor: "w") {
            if case .dataPastEnd(_, "w", 16, 8) = $0 { true } else { false }
        }
    }

    @Test func trailingBytesAfterTheLastTensor() throws {
        let header = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        try expectReadError(fileBytes(header, data: floatBytes([1, 2, 3]))) {
            if case .trailingBytes(_, 8, 12) = $0 { true } else { false }
        }
        try expectReadError(fileBytes("{}", data: [0])) {
            if case .trailingBytes(_, 0, 1) = $0 { true } else { false }
        }
    }

    @Test func missingFileThrowsAnIOErrorNamingIt() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("absent.safetensors")
            let error = #expect(throws: IOError.self) { try SafetensorsFile.read(from: url) }
            #expect(error?.path == url.path)
            #expect(error?.description.contains(url.path) == true)
        }
    }

    @Test func reservedTensorNameIsRefusedBeforeWriting() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("reserved.safetensors")
            let error = #expect(throws: SafetensorsError.self) {
                try Safetensors.save(["__metadata__": Tensor([1] as [Float])], to: url)
            }
            #expect(error == .reservedName(file: url.path, tensor: "__metadata__"))
            let contents = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(contents.isEmpty)
        }
    }
}

// MARK: - Atomic writes

@Suite struct AtomicFileTests {
    @Test func replacesAnExistingFileAndLeavesNoTemporaryFiles() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("model.safetensors")
            try Safetensors.save(["w": Tensor([1, 2, 3] as [Float])], to: url)
            try Safetensors.save(["w": Tensor([4] as [Float]), "v": Tensor([true])], to: url)
            let read = try Safetensors.load(url)
            #expect(read["w"]?.scalars(as: Float.self) == [4] && read["v"]?.scalars(as: Bool.self) == [true])
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["model.safetensors"])
        }
    }

    @Test func writingIntoAMissingDirectoryThrowsAndCreatesNothing() throws {
        try withTemporaryDirectory { directory in
            let missing = directory.appendingPathComponent("no-such-dir")
            let url = missing.appendingPathComponent("model.safetensors")
            let error = #expect(throws: IOError.self) { try Safetensors.save(["w": Tensor([1] as [Float])], to: url) }
            #expect(error?.description.contains(missing.path) == true)
            #expect(!FileManager.default.fileExists(atPath: missing.path))
            let contents = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            #expect(contents.isEmpty)
        }
    }

    @Test func aFailureMidWriteLeavesTheOldFileIntact() throws {
        struct Interrupted: Error {}
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("state.bin")
            try AtomicFile.write([1, 2, 3], to: url)
            #expect(throws: Interrupted.self) {
                try AtomicFile.write(to: url) { output in
                    try output.write([9, 9, 9, 9])
                    throw Interrupted()
                }
            }
            #expect(try [UInt8](Data(contentsOf: url)) == [1, 2, 3])
            #expect(try temporaryFiles(in: directory).isEmpty)
        }
    }

    @Test func keepsThePermissionsOfTheFileItReplaces() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("private.bin")
            try AtomicFile.write([1], to: url)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: url.path)
            try AtomicFile.write([2, 3], to: url)
            let permissions = try FileManager.default.attributesOfItem(atPath: url.path)[.posixPermissions] as? Int
            #expect(permissions == 0o600)
            #expect(try [UInt8](Data(contentsOf: url)) == [2, 3])
        }
    }
}

/// A file whose tensors need more memory than the budget is refused before anything is allocated. The file
/// is sparse: its size is real, its disk use is not.
@Suite struct SafetensorsBudgetTests {
    @Test func tensorsBeyondTheMemoryBudgetAreRefusedNamingTheFile() throws {
        try withTemporaryDirectory { directory in
            let url = directory.appendingPathComponent("huge.safetensors")
            let count = 2 * MemoryBudget.bytes
            let header = Array(#"{"big":{"dtype":"BOOL","shape":[\#(count)],"data_offsets":[0,\#(count)]}}"#.utf8)
            try Data(withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header).write(to: url)
            let handle = try FileHandle(forWritingTo: url)
            try handle.truncate(atOffset: UInt64(8 + header.count + count))
            try handle.close()
            #expect(throws: SizeLimitError("\(url.path): the tensors' data", .overBudget(bytes: count, budget: MemoryBudget.bytes))) {
                try SafetensorsFile.read(from: url)
            }
        }
    }
}
