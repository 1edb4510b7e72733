import Foundation
import Strata

/// MNIST's IDX files, raw or gzipped (`gzipped`), through `MNIST(directory:)` and `dltrain info` / `train`;
/// one of the two training files of a case is mutated (the test files stay valid).
///
/// The rules: magic `00 00 08 rank`, `rank` big-endian UInt32 dimensions, then exactly their product of bytes;
/// images `[n, 28, 28]`, labels `[n]` in 0…9, as many of each. A file starting with the gzip magic must be one
/// complete gzip member (inflated by gzip(1), the reference) holding such a file.
struct IDXTarget: FuzzTarget {
    let gzipped: Bool
    var name: String { gzipped ? "idx-gzip" : "idx" }
    let checks = ["load"]
    var images: String { "train-images-idx3-ubyte" + (gzipped ? ".gz" : "") }
    var labels: String { "train-labels-idx1-ubyte" + (gzipped ? ".gz" : "") }

    static func idx(_ dims: [Int], _ data: [UInt8]) -> [UInt8] {
        [0, 0, 8, UInt8(dims.count)] + dims.flatMap { d in (0..<4).map { UInt8(truncatingIfNeeded: d >> (8 * (3 - $0))) } } + data
    }

    func encode(_ bytes: [UInt8]) -> [UInt8] { gzipped ? [UInt8](Gzip.compress(bytes)) : bytes }

    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase] {
        let test = [
            "t10k-images-idx3-ubyte": Self.idx([2, 28, 28], random.bytes(2 * 784)),
            "t10k-labels-idx1-ubyte": Self.idx([2], [3, 7]),
        ]
        var cases: [FuzzCase] = []
        for (n, note) in [(3, "3 noisy images"), (8, "8 sparse images"), (1, "one image"), (0, "no images")] {
            let pixels = note.contains("sparse") ? (0..<n * 784).map { $0 % 97 == 0 ? UInt8($0 % 251) : 0 } : random.bytes(n * 784)
            var files = test
            files[images] = encode(Self.idx([n, 28, 28], pixels))
            files[labels] = encode(Self.idx([n], (0..<n).map { _ in UInt8(random.below(10)) }))
            cases.append(FuzzCase(files, origin: "seed: \(note)"))
        }
        return cases
    }

    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] {
        let base = seeds[0]
        let pixels = random.bytes(3 * 784)
        let variants: [(String, String, [UInt8])] = [
            ("images claim 2^31 - 1 images", images, Self.idx([0x7FFF_FFFF, 28, 28], pixels)),
            ("images claim 2^32 - 1 images", images, Self.idx([0xFFFF_FFFF, 28, 28], pixels)),
            ("images 28 × 29", images, Self.idx([3, 28, 29], pixels + pixels.prefix(84))),
            ("images of rank 255", images, [0, 0, 8, 255] + random.bytes(64)),
            ("images of rank 0", images, [0, 0, 8, 0] + pixels),
            ("images whose dimensions overflow", images, Self.idx([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], pixels)),
            ("images of type 0x0D (float)", images, [0, 0, 0x0D, 3] + Array(Self.idx([3, 28, 28], pixels).dropFirst(4))),
            ("labels claim 2^32 - 1 labels", labels, Self.idx([0xFFFF_FFFF], [1, 2, 3])),
            ("a label 10", labels, Self.idx([3], [1, 10, 2])),
            ("labels count 2 of 3 images", labels, Self.idx([2], [1, 2])),
            ("images one byte short", images, Self.idx([3, 28, 28], Array(pixels.dropLast()))),
            ("images one byte long", images, Self.idx([3, 28, 28], pixels + [0])),
        ]
        var cases = variants.map { note, file, bytes in
            var files = base.files
            files[file] = encode(bytes)
            return FuzzCase(files, origin: "hostile: \(note)")
        }
        if gzipped {
            // A lying header over a highly compressible stream: 4 MiB of zeros inflates from a few KiB.
            var files = base.files
            files[images] = encode(Self.idx([0x7FFF_FFFF, 28, 28], [UInt8](repeating: 0, count: 4 << 20)))
            cases.append(FuzzCase(files, origin: "hostile: 4 MiB of zeros under a header of 2^31 - 1 images"))
            var trailing = base.files
            trailing[images] = base.files[images]! + [0, 0, 0, 0]
            cases.append(FuzzCase(trailing, origin: "hostile: zeros after the gzip member"))
            var twice = base.files
            twice[labels] = base.files[labels]! + base.files[labels]!
            cases.append(FuzzCase(twice, origin: "hostile: two gzip members"))
        }
        return cases
    }

    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope] {
        [MutationScope(file: images, headerLength: gzipped ? 24 : 16), MutationScope(file: labels, headerLength: gzipped ? 24 : 8)]
    }

    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict] {
        func invalid(_ file: String, _ reason: String) -> [String: Verdict] {
            let path = directory.appendingPathComponent(file).path
            return ["load": .invalid(reason: reason, mustName: path), "train": .invalid(reason: reason, mustName: path)]
        }
        var parsed: [String: (dims: [Int], data: [UInt8])] = [:]
        for file in [images, labels] {
            switch referencePayload(fuzzCase.files[file] ?? []).flatMap(Self.referenceIDX) {
            case .success(let idx): parsed[file] = idx
            case .failure(let error): return invalid(file, error.description)
            }
        }
        let (image, label) = (parsed[images]!, parsed[labels]!)
        guard image.dims.count == 3, image.dims[1] == 28, image.dims[2] == 28 else { return invalid(images, "images are \(image.dims), not [n, 28, 28]") }
        guard label.dims.count == 1 else { return invalid(labels, "labels are \(label.dims), not [n]") }
        guard image.dims[0] == label.dims[0] else { return invalid(labels, "\(image.dims[0]) images but \(label.dims[0]) labels") }
        guard label.data.allSatisfy({ $0 <= 9 }) else { return invalid(labels, "a label is above 9") }
        let summary = Self.summary(count: label.data.count, labels: label.data.map(Int.init), pixels: image.data.map { Float($0) / 255 })
        let train: Verdict = label.data.isEmpty ? .invalid(reason: "no training examples", mustName: "training set") : .valid(summary: nil)
        return ["load": .valid(summary: summary), "train": train]
    }

    /// An IDX file's dimensions and data, or the rule it breaks.
    static func referenceIDX(_ bytes: [UInt8]) -> Result<(dims: [Int], data: [UInt8]), RefError> {
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0, bytes[2] == 8 else { return .failure(RefError("not an unsigned-byte IDX file")) }
        let rank = Int(bytes[3])
        guard bytes.count >= 4 + 4 * rank else { return .failure(RefError("the header is cut short")) }
        let dims = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
        var count = 1
        for d in dims {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { return .failure(RefError("the dimensions overflow")) }
            count = product
        }
        guard bytes.count - 4 - 4 * rank == count else {
            return .failure(RefError("\(bytes.count - 4 - 4 * rank) data bytes for dimensions \(dims)"))
        }
        return .success((dims, Array(bytes[(4 + 4 * rank)...])))
    }

    static func summary(count: Int, labels: [Int], pixels: [Float]) -> String {
        "\(count) examples, labels \(fnv1a(labels.map { UInt8($0) })), pixels \(fnv1a(pixels.flatMap { withUnsafeBytes(of: $0.bitPattern) { Array($0) } }))"
    }

    func run(_ check: String, in directory: URL) throws -> String? {
        let mnist = try MNIST(directory: directory, split: .train)
        let (inputs, _) = mnist.batch(Array(0..<mnist.count))
        return Self.summary(count: mnist.count, labels: (0..<mnist.count).map { mnist.label(at: $0) }, pixels: inputs.scalars(as: Float.self))
    }

    func commands(in directory: URL) -> [FuzzCommand] {
        [FuzzCommand(check: "load", arguments: ["info", directory.path]),
         FuzzCommand(check: "train", arguments: ["train", "--data", directory.path, "--epochs", "1", "--limit", "4", "--batch-size", "4"])]
    }
}

/// The bytes a dataset reader should see in `bytes`: themselves, or, when they start with the gzip magic, what
/// gzip(1) inflates them to — refused unless they are one complete member with nothing after it.
func referencePayload(_ bytes: [UInt8]) -> Result<[UInt8], RefError> {
    guard bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B else { return .success(bytes) }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fuzz-\(UUID().uuidString).gz")
    defer { try? FileManager.default.removeItem(at: url) }
    do {
        try Data(bytes).write(to: url)
        let gzip = try Subprocess("/bin/gzip", ["-dc", url.path])
        let (termination, output, _) = gzip.collect(timeout: 30)
        guard termination == .exited(0) else { return .failure(RefError("gzip(1) refuses the stream (\(termination))")) }
        // gzip(1) inflates concatenated members too; one member's trailer holds the size of all it inflated.
        let isize = bytes.suffix(4).reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard UInt32(truncatingIfNeeded: output.count) == isize else { return .failure(RefError("more than one gzip member")) }
        return .success(output)
    } catch {
        return .failure(RefError("gzip(1) did not run: \(error)"))
    }
}
