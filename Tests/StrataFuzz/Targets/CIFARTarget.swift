import Foundation
import Strata

/// CIFAR-10 batches through `CIFAR10(directory:split:)` and `dltrain info --dataset cifar10`; the test batch is
/// mutated, raw or gzipped (the five training batches stay valid).
///
/// The rules: whole records of 1 label byte (0…9) and 3,072 pixel bytes; a file starting with the gzip magic is
/// one complete gzip member holding at most 60,000 records (the reader's cap, above CIFAR-100's 50,000).
struct CIFARTarget: FuzzTarget {
    let name = "cifar"
    let checks = ["load"]
    static let file = "test_batch.bin", recordSize = 3073

    static func records(_ labels: [UInt8], _ random: inout FuzzRandom) -> [UInt8] {
        labels.flatMap { [$0] + random.bytes(recordSize - 1) }
    }

    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase] {
        var train: [String: [UInt8]] = [:]
        for name in CIFAR10.fileNames(.train) { train[name] = Self.records([UInt8(random.below(10))], &random) }
        var cases: [FuzzCase] = []
        for (note, labels, gzipped) in [("3 records", [UInt8]([0, 9, 4]), false), ("2 records, gzipped", [1, 2], true),
                                        ("no records", [], false)] {
            var files = train
            let bytes = Self.records(labels, &random)
            files[Self.file] = gzipped ? [UInt8](Gzip.compress(bytes)) : bytes
            cases.append(FuzzCase(files, origin: "seed: \(note)"))
        }
        return cases
    }

    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] {
        let variants: [(String, [UInt8])] = [
            ("a label 10", Self.records([1, 10], &random)),
            ("a label 255", Self.records([255], &random)),
            ("a partial record", Array(Self.records([1, 2], &random).dropLast())),
            ("one byte", [3]),
            ("60,001 gzipped records of zeros", [UInt8](Gzip.compress([UInt8](repeating: 0, count: 60_001 * Self.recordSize)))),
        ]
        return variants.map { note, bytes in
            var files = seeds[0].files
            files[Self.file] = bytes
            return FuzzCase(files, origin: "hostile: \(note)")
        }
    }

    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope] {
        let bytes = fuzzCase.files[Self.file] ?? []
        return [MutationScope(file: Self.file, headerLength: bytes.first == 0x1F ? 24 : 1)]
    }

    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict] {
        let path = directory.appendingPathComponent(Self.file).path
        let bytes = fuzzCase.files[Self.file] ?? []
        let payload: [UInt8]
        switch referencePayload(bytes) {
        case .success(let p): payload = p
        case .failure(let error): return ["load": .invalid(reason: error.description, mustName: path)]
        }
        guard payload.count % Self.recordSize == 0 else {
            return ["load": .invalid(reason: "\(payload.count) bytes are not whole records", mustName: path)]
        }
        let count = payload.count / Self.recordSize
        if bytes.starts(with: [0x1F, 0x8B]) && count > 60_000 {
            return ["load": .invalid(reason: "\(count) gzipped records, above the 60,000 cap", mustName: path)]
        }
        let labels = (0..<count).map { Int(payload[$0 * Self.recordSize]) }
        guard labels.allSatisfy({ $0 < 10 }) else { return ["load": .invalid(reason: "a label is above 9", mustName: path)] }
        var pixels: [Float] = []
        pixels.reserveCapacity(count * (Self.recordSize - 1))
        for record in 0..<count {
            let start = record * Self.recordSize + 1
            for byte in payload[start..<start + Self.recordSize - 1] { pixels.append(Float(byte) / 255) }
        }
        return ["load": .valid(summary: IDXTarget.summary(count: count, labels: labels, pixels: pixels))]
    }

    func run(_ check: String, in directory: URL) throws -> String? {
        let cifar = try CIFAR10(directory: directory, split: .test)
        let (inputs, _) = cifar.batch(Array(0..<cifar.count))
        return IDXTarget.summary(count: cifar.count, labels: (0..<cifar.count).map { cifar.label(at: $0) }, pixels: inputs.scalars(as: Float.self))
    }

    func commands(in directory: URL) -> [FuzzCommand] {
        [FuzzCommand(check: "load", arguments: ["info", directory.path, "--dataset", "cifar10"])]
    }
}
