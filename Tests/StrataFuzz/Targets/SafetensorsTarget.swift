import Foundation
import Strata

/// Plain safetensors files through `SafetensorsFile.read` and `dltrain info`, judged by the reference reader
/// (Reference/ReferenceSafetensors.swift); what the library read must match what the reference read.
struct SafetensorsTarget: FuzzTarget {
    let name = "safetensors"
    let checks = ["read"]
    static let file = "tensors.safetensors"

    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase] {
        func values(_ count: Int) -> [Double] { (0..<count).map { _ in Double(random.within(-1000...1000)) / 7 } }
        let mixed: [String: Tensor] = [
            "weight": Tensor(values(12), shape: [3, 4]),
            "bias": Tensor(values(3), shape: [3]).to(.float64),
            "steps": Tensor(values(2), shape: [2]).to(.int64),
            "mask": Tensor([1, 0, 1], shape: [3]).to(.bool),
            "scalar": Tensor([2.5], shape: []),
            "empty": Tensor.zeros([0, 5]),
            "layers.0.é": Tensor(values(2), shape: [1, 2]),
        ]
        let cases: [(String, [String: Tensor], [String: String])] = [
            ("mixed dtypes with metadata", mixed, ["format": "pt", "note": "a \"quoted\" value\n"]),
            ("one float32 matrix", ["w": Tensor(values(6), shape: [2, 3])], [:]),
            ("metadata only", [:], ["k": "v"]),
            ("empty", [:], [:]),
        ]
        return try cases.map { note, tensors, metadata in
            FuzzCase([Self.file: try written(SafetensorsFile(tensors: tensors, metadata: metadata))], origin: "seed: \(note)")
        }
    }

    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] {
        let data = [UInt8](repeating: 0x3F, count: 16)
        let headers: [(String, String, [UInt8])] = [
            ("a shape of 2^62 × 4 over 16 bytes", #"{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,16]}}"#, data),
            ("a shape whose byte count overflows", #"{"w":{"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,16]}}"#, data),
            ("data_offsets near Int.max", #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[9223372036854775800,9223372036854775807]}}"#, data),
            ("data_offsets past UInt64", #"{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551616]}}"#, data),
            ("reversed offsets", #"{"w":{"dtype":"F32","shape":[0],"data_offsets":[16,0]}}"#, data),
            ("overlapping tensors", #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#, data),
            ("a negative dimension", #"{"w":{"dtype":"F32","shape":[-4],"data_offsets":[0,16]}}"#, data),
            ("a fractional dimension", #"{"w":{"dtype":"F32","shape":[4.0],"data_offsets":[0,16]}}"#, data),
            ("an exponent dimension", #"{"w":{"dtype":"F32","shape":[4e0],"data_offsets":[0,16]}}"#, data),
            ("metadata not strings", #"{"__metadata__":{"epoch":3}}"#, []),
            ("a repeated key", #"{"w":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]},"w":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]}}"#, []),
            ("a lone surrogate", #"{"\ud800":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0]}}"#, []),
            ("nesting 200 deep", #"{"w":{"dtype":"BOOL","shape":[0],"data_offsets":[0,0],"x":"# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}}", []),
            ("an unsupported dtype", #"{"w":{"dtype":"F16","shape":[8],"data_offsets":[0,16]}}"#, data),
            ("leading whitespace", #" {"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data),
        ]
        var cases = headers.map { note, header, data in
            FuzzCase([Self.file: Self.file(header: header, data: data)], origin: "hostile: \(note)")
        }
        for length: UInt64 in [0, 1, 0xFFFF_FFFF, 100_000_001, 0x7FFF_FFFF_FFFF_FFFF, 0xFFFF_FFFF_FFFF_FFFF] {
            var bytes = seeds[1].files[Self.file]!
            for k in 0..<8 { bytes[k] = UInt8(truncatingIfNeeded: length >> UInt64(8 * k)) }
            cases.append(FuzzCase([Self.file: bytes], origin: "hostile: header length \(length)"))
        }
        return cases
    }

    /// A file of `header` (padded to a multiple of 8 with spaces) and `data`.
    static func file(header: String, data: [UInt8]) -> [UInt8] {
        var text = Array(header.utf8)
        text += repeatElement(UInt8(ascii: " "), count: (8 - text.count % 8) % 8)
        return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(text.count) >> UInt64(8 * $0)) } + text + data
    }

    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope] {
        [MutationScope(file: Self.file, headerLength: safetensorsHeaderEnd(fuzzCase.files[Self.file] ?? []))]
    }

    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict] {
        let path = directory.appendingPathComponent(Self.file).path
        switch RefSafetensors.read(fuzzCase.files[Self.file] ?? []) {
        case .success(let file): return ["read": .valid(summary: file.summary)]
        case .failure(let error): return ["read": .invalid(reason: error.description, mustName: path)]
        }
    }

    func run(_ check: String, in directory: URL) throws -> String? {
        try librarySummary(SafetensorsFile.read(from: directory.appendingPathComponent(Self.file)))
    }

    func commands(in directory: URL) -> [FuzzCommand] {
        [FuzzCommand(check: "read", arguments: ["info", directory.appendingPathComponent(Self.file).path])]
    }
}

/// The bytes a library-written file holds (written to a temporary file and read back).
func written(_ file: SafetensorsFile) throws -> [UInt8] {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fuzz-\(UUID().uuidString).safetensors")
    defer { try? FileManager.default.removeItem(at: url) }
    try file.write(to: url)
    return [UInt8](try Data(contentsOf: url))
}

/// Where a safetensors file's header ends (8 + N, clamped to the file), for aiming mutations.
func safetensorsHeaderEnd(_ bytes: [UInt8]) -> Int {
    guard bytes.count >= 8 else { return bytes.count }
    let length = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << UInt64(8 * $1) }
    return Int(min(UInt64(bytes.count), length &+ 8))
}

/// The summary `RefSafetensors.summary` gives, of what the library read.
func librarySummary(_ file: SafetensorsFile) -> String {
    func bytes(_ tensor: Tensor) -> [UInt8] {
        switch tensor.dtype {
        case .float32: tensor.scalars(as: Float.self).withUnsafeBytes { Array($0) }
        case .float64: tensor.scalars(as: Double.self).withUnsafeBytes { Array($0) }
        case .int64: tensor.scalars(as: Int64.self).withUnsafeBytes { Array($0) }
        case .bool: tensor.scalars(as: Bool.self).map { $0 ? 1 : 0 }
        }
    }
    let names: [DType: String] = [.float32: "F32", .float64: "F64", .int64: "I64", .bool: "BOOL"]
    let tensorNames = file.tensors.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    let parts = tensorNames.map { name in
        let t = file.tensors[name]!
        return "\(name):\(names[t.dtype]!):\(t.shape):\(fnv1a(bytes(t)))"
    }
    let meta = file.metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "\($0)=\(fnv1a(Array(file.metadata[$0]!.utf8)))" }
    return (parts + meta).joined(separator: ";")
}
