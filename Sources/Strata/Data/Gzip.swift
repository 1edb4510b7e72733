import CZlib
import Foundation

// The only file that imports CZlib: everything above it sees `Gzip` and `GzipReader`, never zlib.

/// gzip (RFC 1952) encoding and decoding through zlib.
public enum Gzip {
    /// Whether `data` starts with the gzip magic bytes `1f 8b`. Compression is detected this way, never by extension.
    public static func isGzip(_ data: Data) -> Bool {
        data.count >= 2 && data[data.startIndex] == 0x1f && data[data.startIndex + 1] == 0x8b
    }

    /// Inflates a whole single-member gzip stream, throwing once the output would pass `limit` bytes.
    ///
    /// zlib checks the CRC-32 and ISIZE trailer; a mismatched ISIZE throws `DatasetError.gzipSizeMismatch`.
    /// - Parameters:
    ///   - data: the compressed bytes.
    ///   - file: named in errors.
    ///   - limit: the most bytes the stream may inflate to (`gzipExceedsDeclaredSize` past it).
    public static func decompress(_ data: Data, file: URL, limit: Int = Int.max) throws -> Data {
        let reader = try GzipReader(data, file: file)
        var out = Data()
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let room = min(chunk.count, limit - out.count)
            if room == 0 {
                try reader.expectEnd(declaredBytes: limit)
                return out
            }
            let n = try chunk.withUnsafeMutableBytes { try reader.read(into: UnsafeMutableRawBufferPointer(rebasing: $0[..<room])) }
            out.append(contentsOf: chunk[..<n])
            if n < room { try reader.expectEnd(declaredBytes: limit); return out }
        }
    }

    /// Compresses `bytes` into a gzip stream (deflate level `level`, 0–9), as `gzip -<level>` would.
    public static func compress(_ bytes: some ContiguousBytes, level: Int32 = 6) -> Data {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { deflateEnd(stream); stream.deallocate() }
        // windowBits 16 + MAX_WBITS asks zlib for a gzip header and trailer instead of a zlib one.
        let status = deflateInit2_(stream, level, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        require(status == Z_OK, "Gzip.compress: deflateInit2 failed with \(status)")
        return bytes.withUnsafeBytes { source -> Data in
            require(source.count <= Int(UInt32.max), "Gzip.compress: \(source.count) bytes is more than one call handles (4 GiB)")
            let bound = Int(deflateBound(stream, UInt(source.count)))
            var out = [UInt8](repeating: 0, count: bound)
            let written = out.withUnsafeMutableBytes { dest -> Int in
                stream.pointee.next_in = UnsafeMutablePointer(mutating: source.bindMemory(to: UInt8.self).baseAddress)
                stream.pointee.avail_in = UInt32(source.count)
                stream.pointee.next_out = dest.bindMemory(to: UInt8.self).baseAddress
                stream.pointee.avail_out = UInt32(bound)
                let result = deflate(stream, Z_FINISH)
                require(result == Z_STREAM_END, "Gzip.compress: deflate failed with \(result)")
                return bound - Int(stream.pointee.avail_out)
            }
            return Data(out[..<written])
        }
    }
}

/// Inflates a gzip stream piece by piece, straight into the caller's buffers (no intermediate copy).
///
/// Used by the IDX reader so that a header declaring `n` bytes stops inflation at `n`: a stream that would
/// inflate further throws instead of filling memory.
public final class GzipReader {
    private let compressed: Data
    private let file: URL
    // zlib stores a back pointer to its z_stream, so the struct lives at a fixed heap address.
    private let stream: UnsafeMutablePointer<z_stream>
    private var consumed = 0
    private var ended = false
    /// Bytes inflated so far.
    public private(set) var inflatedBytes = 0

    /// Starts inflating `data`, a gzip stream read from `file` (named in errors).
    public init(_ data: Data, file: URL) throws {
        compressed = data
        self.file = file
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // windowBits 16 + MAX_WBITS: expect a gzip wrapper, and check its CRC-32 and ISIZE.
        let status = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            throw DatasetError.corruptGzip(file, reason: "inflateInit2 failed with \(status)")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// The trailer's ISIZE field: the last four bytes, little-endian, the inflated size mod 2³².
    public var trailerSize: UInt32? {
        guard compressed.count >= 4 else { return nil }
        let tail = compressed.suffix(4)
        return tail.reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Inflates into `buffer` until it is full or the stream ends; returns the bytes written.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        var written = 0
        while written < buffer.count && !ended {
            let room = min(buffer.count - written, Int(UInt32.max))
            let (status, usedIn, madeOut) = compressed.withUnsafeBytes { raw -> (Int32, Int, Int) in
                let input = raw.bindMemory(to: UInt8.self).baseAddress.map { $0 + consumed }
                let available = min(raw.count - consumed, Int(UInt32.max))
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input)
                stream.pointee.avail_in = UInt32(available)
                stream.pointee.next_out = (base + written).assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(room)
                let status = inflate(stream, Z_NO_FLUSH)
                return (status, available - Int(stream.pointee.avail_in), room - Int(stream.pointee.avail_out))
            }
            consumed += usedIn
            written += madeOut
            inflatedBytes += madeOut
            switch status {
            case Z_OK:
                continue
            case Z_STREAM_END:
                ended = true
            case Z_BUF_ERROR where consumed == compressed.count:
                throw DatasetError.corruptGzip(file, reason: "the compressed stream ends early (after \(inflatedBytes) inflated bytes)")
            case Z_DATA_ERROR:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
                // zlib's own ISIZE check: the trailer disagrees with what was inflated.
                if reason == "incorrect length check", let trailer = trailerSize {
                    throw DatasetError.gzipSizeMismatch(file, trailerSize: trailer, inflatedSize: inflatedBytes)
                }
                throw DatasetError.corruptGzip(file, reason: reason)
            default:
                throw DatasetError.corruptGzip(file, reason: "inflate returned \(status)")
            }
        }
        return written
    }

    /// Checks that the stream ends here: no inflated byte past `declaredBytes`, and no bytes after the gzip member.
    public func expectEnd(declaredBytes: Int) throws {
        var probe: UInt8 = 0
        let extra = try withUnsafeMutableBytes(of: &probe) { try read(into: $0) }
        if extra > 0 { throw DatasetError.gzipExceedsDeclaredSize(file, declaredBytes: declaredBytes) }
        if consumed < compressed.count { throw DatasetError.trailingBytes(file, count: compressed.count - consumed) }
    }
}
