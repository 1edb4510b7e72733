import Foundation

// IDX is the format of the MNIST files (http://yann.lecun.com/exdb/mnist/): a big-endian magic number
// `00 00 <type> <rank>`, `rank` big-endian UInt32 dimensions, then the elements in row-major order.

/// The shape and unsigned-byte elements of one IDX file.
struct IDXFile {
    let shape: [Int]
    let bytes: [UInt8]
}

/// A file's bytes, read either as they are or through gzip (chosen by the magic bytes, not the name).
private final class ByteSource {
    private let file: URL
    private let raw: Data
    private var position = 0
    private let gzip: GzipReader?

    init(_ data: Data, file: URL) throws {
        self.file = file
        raw = data
        gzip = Gzip.isGzip(data) ? try GzipReader(data, file: file) : nil
    }

    /// The bytes a reader may reserve before reading: what remains of a raw file; for a gzipped one, four times
    /// its compressed size (the rest grows as it inflates, so a header that lies costs only what the stream holds).
    var reservableBytes: Int {
        gzip == nil ? raw.count - position : (try? CheckedSize.multiply(raw.count, 4, "")) ?? Int.max
    }

    /// Fills `buffer` unless the file ends first; returns the bytes read.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let gzip { return try gzip.read(into: buffer) }
        let n = min(buffer.count, raw.count - position)
        if n > 0 {
            raw.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
            }
        }
        position += n
        return n
    }

    /// Throws if anything follows the `declaredBytes` the header promised.
    func expectEnd(declaredBytes: Int) throws {
        if let gzip { return try gzip.expectEnd(declaredBytes: declaredBytes) }
        if position < raw.count { throw DatasetError.trailingBytes(file, count: raw.count - position) }
    }
}

enum IDX {
    /// The type code of unsigned bytes, the only element type MNIST uses.
    static let unsignedByte: UInt8 = 0x08

    /// Reads an unsigned-byte IDX file, raw or gzipped, calling `validate` on the shape before reading the data.
    ///
    /// Checks, in order: magic, type code, header length, dimension product overflow, `validate`, the memory budget
    /// (`CheckedSize`), data length, trailing bytes (or, gzipped, inflating past the declared size, and zlib's CRC and ISIZE checks).
    static func read(_ url: URL, validate: ([Int]) throws -> Void) throws -> IDXFile {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw DatasetError.missingFile(url) }
        let source = try ByteSource(data, file: url)

        var magic = [UInt8](repeating: 0, count: 4)
        let got = try magic.withUnsafeMutableBytes { try source.read(into: $0) }
        guard got == 4 else { throw DatasetError.truncatedHeader(url, expectedBytes: 4, actualBytes: got) }
        guard magic[0] == 0, magic[1] == 0 else {
            throw DatasetError.badMagic(url, magic: magic.reduce(0) { $0 << 8 | UInt32($1) })
        }
        guard magic[2] == unsignedByte else { throw DatasetError.unsupportedDTypeCode(url, code: magic[2]) }

        let rank = Int(magic[3])
        let headerBytes = 4 + 4 * rank
        var dimBytes = [UInt8](repeating: 0, count: 4 * rank)
        let gotDims = try dimBytes.withUnsafeMutableBytes { try source.read(into: $0) }
        guard gotDims == 4 * rank else {
            throw DatasetError.truncatedHeader(url, expectedBytes: headerBytes, actualBytes: 4 + gotDims)
        }
        let shape = (0..<rank).map { d in dimBytes[4 * d..<4 * d + 4].reduce(0) { $0 << 8 | Int($1) } }

        let count: Int
        do throws(SizeLimitError) {
            count = try CheckedSize.product(shape, "IDX dimensions")
            _ = try CheckedSize.add(count, headerBytes, "IDX file size")
        } catch {
            throw DatasetError.dimensionOverflow(url, dimensions: shape)
        }
        try validate(shape)

        try CheckedSize.allocation(bytes: count, "\(url.path): IDX data of shape \(shape)")
        // Reserve no more than the file could hold and grow as the data arrives, so a header that claims more
        // than the file holds costs only what the file holds.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(count, source.reservableBytes))
        var chunk = [UInt8](repeating: 0, count: min(count, 1 << 20))
        while bytes.count < count {
            let wanted = min(chunk.count, count - bytes.count)
            let n = try chunk.withUnsafeMutableBytes { try source.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<wanted])) }
            bytes += chunk[..<n]
            guard n == wanted else { throw DatasetError.truncatedData(url, expectedBytes: count, actualBytes: bytes.count) }
        }
        try source.expectEnd(declaredBytes: headerBytes + count)
        return IDXFile(shape: shape, bytes: bytes)
    }
}
