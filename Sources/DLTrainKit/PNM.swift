import Foundation
import Strata

/// A greyscale (PGM) or RGB (PPM) image read from a Netpbm file.
public struct PNMImage: Equatable, Sendable {
    /// Image size in pixels.
    public var width: Int, height: Int
    /// 1 (PGM) or 3 (PPM).
    public var channels: Int
    /// Samples scaled to [0, 1] (`sample / maxval`) in `[C, H, W]` order.
    public var pixels: [Float]

    /// The image as a float32 tensor `[C, H, W]`.
    public var tensor: Tensor { Tensor(pixels, shape: [channels, height, width]) }

    /// Reads a P2/P5 (PGM) or P3/P6 (PPM) file: whitespace-separated header fields (with `#` comments),
    /// maxval 1–65535, binary samples of 1 byte (or 2 big-endian bytes when maxval > 255) after exactly one
    /// whitespace byte, or ASCII decimal samples.
    /// - Throws: `PNMError` naming the file for every malformed case (bad magic, bad or missing header field,
    ///   a sample above maxval, too few or too many samples).
    public static func read(_ url: URL) throws -> PNMImage {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw PNMError.unreadable(url) }
        return try parse([UInt8](data), file: url)
    }

    /// Parses the bytes of a Netpbm file (`file` names it in errors).
    public static func parse(_ bytes: [UInt8], file: URL) throws -> PNMImage {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "P"),
              let kind = [UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "5"), UInt8(ascii: "6")].firstIndex(of: bytes[1]) else {
            throw PNMError.badMagic(file)
        }
        let channels = kind == 1 || kind == 3 ? 3 : 1, binary = kind >= 2
        var position = 2
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }
        func skipSpaceAndComments() {
            while position < bytes.count {
                if isSpace(bytes[position]) { position += 1 }
                else if bytes[position] == UInt8(ascii: "#") {
                    while position < bytes.count && bytes[position] != 0x0A { position += 1 }
                } else { break }
            }
        }
        /// A decimal field; a header field must follow at least one whitespace byte or comment.
        func number(_ field: String, separated: Bool = true) throws -> Int {
            let start = position
            skipSpaceAndComments()
            guard !separated || position > start else { throw PNMError.badHeader(file, field: field) }
            var value = 0, digits = 0
            while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
                value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                digits += 1
                position += 1
                guard value <= 1 << 24 else { throw PNMError.badHeader(file, field: field) }
            }
            guard digits > 0 else { throw PNMError.badHeader(file, field: field) }
            return value
        }
        let width = try number("width"), height = try number("height"), maxValue = try number("maxval")
        guard width > 0 else { throw PNMError.badHeader(file, field: "width") }
        guard height > 0 else { throw PNMError.badHeader(file, field: "height") }
        guard (1...65535).contains(maxValue) else { throw PNMError.badHeader(file, field: "maxval") }
        // width, height ≤ 2^24 and channels ≤ 3, so the count fits; it is checked against the bytes the file
        // holds before anything is allocated (a 27-byte header may claim 2^48 pixels).
        let count = width * height * channels
        if binary {
            guard position < bytes.count, isSpace(bytes[position]) else { throw PNMError.badHeader(file, field: "maxval") }
            position += 1
        }
        let size = maxValue > 255 ? 2 : 1
        let available = bytes.count - position
        var samples: [Int] = []
        // Binary samples take `size` bytes each, ASCII ones at least two (a digit and a separator): never
        // reserve more than the file holds.
        samples.reserveCapacity(min(count, binary ? available / size : available / 2 + 1))
        if binary {
            guard available >= count * size else { throw PNMError.truncated(file, expected: count, found: available / size) }
            guard available == count * size else { throw PNMError.trailingData(file, bytes: available - count * size) }
            for i in 0..<count {
                samples.append(size == 1 ? Int(bytes[position + i]) : Int(bytes[position + 2 * i]) << 8 | Int(bytes[position + 2 * i + 1]))
            }
        } else {
            for i in 0..<count {
                skipSpaceAndComments()
                guard position < bytes.count else { throw PNMError.truncated(file, expected: count, found: i) }
                guard let value = try? number("sample", separated: false) else { throw PNMError.badSample(file, index: i) }
                samples.append(value)
            }
            skipSpaceAndComments()
            guard position == bytes.count else { throw PNMError.trailingData(file, bytes: bytes.count - position) }
        }
        if let bad = samples.firstIndex(where: { $0 > maxValue }) {
            throw PNMError.sampleAboveMax(file, index: bad, value: samples[bad], maxValue: maxValue)
        }
        // Netpbm stores pixels interleaved ([H, W, C]); the model wants planes ([C, H, W]).
        try CheckedSize.allocation(count, of: .float32, "\(file.path): image \(width)×\(height)×\(channels)")
        var pixels = [Float](repeating: 0, count: count)
        let scale = 1 / Float(maxValue)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels {
                    pixels[(c * height + y) * width + x] = Float(samples[(y * width + x) * channels + c]) * scale
                }
            }
        }
        return PNMImage(width: width, height: height, channels: channels, pixels: pixels)
    }
}

/// Why a PGM/PPM file could not be read; every case names the file.
public enum PNMError: Error, Equatable, CustomStringConvertible {
    /// The file does not exist or cannot be read.
    case unreadable(URL)
    /// The file does not start with `P2`, `P3`, `P5` or `P6`.
    case badMagic(URL)
    /// A header field (width, height, maxval) is missing, not a number, or out of range.
    case badHeader(URL, field: String)
    /// An ASCII sample is not a decimal number.
    case badSample(URL, index: Int)
    /// A sample exceeds maxval.
    case sampleAboveMax(URL, index: Int, value: Int, maxValue: Int)
    /// The file holds fewer samples than width × height × channels.
    case truncated(URL, expected: Int, found: Int)
    /// Bytes follow the last sample.
    case trailingData(URL, bytes: Int)
    /// The image's size or channel count is not the dataset's.
    case wrongShape(URL, shape: [Int], expected: [Int])

    public var description: String {
        switch self {
        case .unreadable(let f): "\(f.path): cannot read the file"
        case .badMagic(let f): "\(f.path): not a PGM/PPM image (expected magic P2, P3, P5 or P6)"
        case let .badHeader(f, field): "\(f.path): bad or missing \(field) in the PGM/PPM header"
        case let .badSample(f, index): "\(f.path): sample \(index) is not a decimal number"
        case let .sampleAboveMax(f, index, value, maxValue): "\(f.path): sample \(index) is \(value), above maxval \(maxValue)"
        case let .truncated(f, expected, found): "\(f.path): truncated: \(found) of \(expected) samples"
        case let .trailingData(f, bytes): "\(f.path): \(bytes) unexpected bytes after the last sample"
        case let .wrongShape(f, shape, expected): "\(f.path): image is \(shape) [C, H, W] but the model takes \(expected)"
        }
    }
}
