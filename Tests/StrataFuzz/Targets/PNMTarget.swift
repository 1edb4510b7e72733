import DLTrainKit
import Foundation
import Strata
import StrataTraining

/// PGM/PPM images through `PNMImage.read` and `dltrain predict` (with a valid checkpoint of a model for
/// `[1, 28, 28]` beside the image).
///
/// The rules (Netpbm, as `PNMImage` documents them): magic `P2`, `P3`, `P5` or `P6`; width, height and maxval as
/// decimal fields, each after at least one whitespace byte or comment (`#` to the end of the line); width and
/// height in 1…2^24, maxval in 1…65535; then, binary, exactly one whitespace byte and width × height × channels
/// samples of 1 byte (2 big-endian bytes when maxval > 255) and nothing more, or, ASCII, that many decimal
/// samples separated by whitespace or comments, with only whitespace or comments after them; every sample at
/// most maxval. `predict` also needs the model's shape, `[1, 28, 28]`.
struct PNMTarget: FuzzTarget {
    let name = "pnm"
    let checks = ["read"]
    static let image = "image.pnm", checkpoint = "model.safetensors"

    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase] {
        var configuration = CheckpointTarget.configuration(spec: CheckpointTarget.linearSpec, optimizer: .sgd, batchSize: 32)
        configuration.epochs = 1
        let run = try TrainingRun(configuration: configuration, train: CheckpointTarget.trainingSet, test: nil)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("strata-fuzz-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try run.makeCheckpoint().write(to: url)
        let model = [UInt8](try Data(contentsOf: url))

        func ascii(_ samples: [Int]) -> String { samples.map(String.init).joined(separator: " ") }
        let grey = (0..<784).map { _ in random.below(256) }
        let images: [(String, [UInt8])] = [
            ("P5 28×28", Array("P5\n28 28\n255\n".utf8) + grey.map { UInt8($0) }),
            ("P2 28×28 with comments", Array("P2\n# a comment\n28 28 # another\n255\n\(ascii(grey))\n".utf8)),
            ("P5 28×28 16-bit", Array("P5 28 28 65535\n".utf8) + grey.flatMap { [UInt8($0), UInt8(random.below(256))] }),
            ("P6 4×3", Array("P6\n4 3\n255\n".utf8) + random.bytes(36)),
            ("P3 2×2 maxval 7", Array("P3 2 2 7\n\(ascii((0..<12).map { _ in random.below(8) }))".utf8)),
        ]
        return images.map { FuzzCase([Self.image: $0.1, Self.checkpoint: model], origin: "seed: \($0.0)") }
    }

    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] {
        let headers: [(String, [UInt8])] = [
            ("P5 2^24 × 2^24 in 27 bytes", Array("P5 16777216 16777216 255\n".utf8) + [0, 0]),
            ("P6 2^24 × 2^24 16-bit", Array("P6 16777216 16777216 65535\n".utf8) + random.bytes(16)),
            ("P2 2^24 × 2^24", Array("P2 16777216 16777216 255\n1 2 3\n".utf8)),
            ("P5 2^24 + 1 wide", Array("P5 16777217 1 255\n".utf8) + [0]),
            ("P5 width near Int.max", Array("P5 9223372036854775807 1 255\n".utf8) + [0]),
            ("P5 width 0", Array("P5 0 28 255\n".utf8)),
            ("P5 maxval 0", Array("P5 28 28 0\n".utf8) + random.bytes(784)),
            ("P5 maxval 65536", Array("P5 28 28 65536\n".utf8) + random.bytes(1568)),
            ("P5 negative width", Array("P5 -28 28 255\n".utf8) + random.bytes(784)),
            ("P5 no whitespace after maxval", Array("P5 28 28 255".utf8) + random.bytes(784)),
            ("P5 no whitespace after the magic", Array("P528 28 255\n".utf8) + random.bytes(784)),
            ("P2 a sample above maxval", Array("P2 2 1 10\n3 11\n".utf8)),
            ("P2 a sample of 30 digits", Array("P2 1 1 255\n\(String(repeating: "9", count: 30))\n".utf8)),
            ("P2 a missing sample", Array("P2 2 2 255\n1 2 3\n".utf8)),
            ("P2 text after the samples", Array("P2 1 1 255\n1 x\n".utf8)),
            ("P5 one byte short", Array("P5 28 28 255\n".utf8) + random.bytes(783)),
            ("P7 (PAM)", Array("P7\nWIDTH 28\n".utf8)),
            ("empty", []),
        ]
        return headers.map { FuzzCase([Self.image: $0.1, Self.checkpoint: seeds[0].files[Self.checkpoint]!], origin: "hostile: \($0.0)") }
    }

    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope] {
        [MutationScope(file: Self.image, headerLength: 24)]
    }

    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict] {
        let path = directory.appendingPathComponent(Self.image).path
        switch Self.reference(fuzzCase.files[Self.image] ?? []) {
        case .failure(let error):
            return ["read": .invalid(reason: error.description, mustName: path), "predict": .invalid(reason: error.description, mustName: path)]
        case .success(let image):
            let summary = Self.summary(width: image.width, height: image.height, channels: image.channels, pixels: image.pixels)
            let shape = [image.channels, image.height, image.width]
            return ["read": .valid(summary: summary),
                    "predict": shape == [1, 28, 28] ? .valid(summary: nil) : .invalid(reason: "an image of \(shape), the model takes [1, 28, 28]", mustName: path)]
        }
    }

    static func summary(width: Int, height: Int, channels: Int, pixels: [Float]) -> String {
        "\(channels)×\(height)×\(width) \(fnv1a(pixels.flatMap { withUnsafeBytes(of: $0.bitPattern) { Array($0) } }))"
    }

    /// The image by the rules above: width, height, channels and the samples scaled to [0, 1] in [C, H, W] order.
    static func reference(_ bytes: [UInt8]) -> Result<(width: Int, height: Int, channels: Int, pixels: [Float]), RefError> {
        func fail(_ reason: String) -> Result<(width: Int, height: Int, channels: Int, pixels: [Float]), RefError> { .failure(RefError(reason)) }
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"), let kind = "2356".utf8.firstIndex(of: bytes[1]) else { return fail("bad magic") }
        let k = "2356".utf8.distance(from: "2356".utf8.startIndex, to: kind)
        let channels = k == 1 || k == 3 ? 3 : 1, binary = k >= 2
        var at = 2
        func isSpace(_ b: UInt8) -> Bool { [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C].contains(b) }
        /// Skips whitespace and comments; whether it skipped any.
        func separator() -> Bool {
            let start = at
            while at < bytes.count {
                if isSpace(bytes[at]) { at += 1 } else if bytes[at] == UInt8(ascii: "#") {
                    while at < bytes.count && bytes[at] != 0x0A { at += 1 }
                } else { break }
            }
            return at > start
        }
        func field(limit: Int) -> Int? {
            let start = at
            var value = 0
            while at < bytes.count, bytes[at] >= 0x30, bytes[at] <= 0x39 {
                value = value * 10 + Int(bytes[at] - 0x30)
                at += 1
                if value > limit { return nil }
            }
            return at > start ? value : nil
        }
        guard separator(), let width = field(limit: 1 << 24), width > 0 else { return fail("bad width") }
        guard separator(), let height = field(limit: 1 << 24), height > 0 else { return fail("bad height") }
        guard separator(), let maxValue = field(limit: 65535), maxValue > 0 else { return fail("bad maxval") }
        let count = width * height * channels
        var samples: [Int] = []
        if binary {
            guard at < bytes.count, isSpace(bytes[at]) else { return fail("no whitespace byte after maxval") }
            at += 1
            let size = maxValue > 255 ? 2 : 1
            guard bytes.count - at == count * size else { return fail("\(bytes.count - at) sample bytes for \(count) samples of \(size)") }
            samples = (0..<count).map { size == 1 ? Int(bytes[at + $0]) : Int(bytes[at + 2 * $0]) << 8 | Int(bytes[at + 2 * $0 + 1]) }
        } else {
            guard bytes.count - at >= count else { return fail("fewer bytes than samples") }
            for _ in 0..<count {
                guard separator(), let sample = field(limit: 65535) else { return fail("a sample is missing or not a number") }
                samples.append(sample)
            }
            _ = separator()
            guard at == bytes.count else { return fail("text after the last sample") }
        }
        guard samples.allSatisfy({ $0 <= maxValue }) else { return fail("a sample above maxval") }
        var pixels = [Float](repeating: 0, count: count)
        let scale = 1 / Float(maxValue)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels { pixels[(c * height + y) * width + x] = Float(samples[(y * width + x) * channels + c]) * scale }
            }
        }
        return .success((width, height, channels, pixels))
    }

    func run(_ check: String, in directory: URL) throws -> String? {
        let image = try PNMImage.read(directory.appendingPathComponent(Self.image))
        return Self.summary(width: image.width, height: image.height, channels: image.channels, pixels: image.pixels)
    }

    func commands(in directory: URL) -> [FuzzCommand] {
        [FuzzCommand(check: "predict", arguments: ["predict", "--checkpoint", directory.appendingPathComponent(Self.checkpoint).path,
                                                   directory.appendingPathComponent(Self.image).path])]
    }
}
