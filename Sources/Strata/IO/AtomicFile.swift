import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes files all-or-nothing: readers see the old file or the complete new one, never a torn write.
///
/// The bytes go to a temporary sibling `.<name>.tmp-<random>` in the destination's directory, which is
/// flushed with `fsync` and then `rename(2)`d over the destination — an atomic replacement because both
/// are on the same file system. On any failure the temporary file is removed and the destination is left
/// untouched. A replaced file keeps its permission bits. A symbolic link at the destination is replaced
/// by the new file, not followed.
public enum AtomicFile {
    /// The open temporary file a `write(to:_:)` body streams bytes into.
    public struct Output {
        let fd: Int32
        /// The temporary file's path (named in errors).
        public let path: String

        /// Appends `bytes` to the file.
        public func write(_ bytes: UnsafeRawBufferPointer) throws {
            guard let base = bytes.baseAddress, bytes.count > 0 else { return }
            try POSIXFile.write(fd, base, count: bytes.count, path: path)
        }

        /// Appends `bytes` to the file.
        public func write(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try write($0) }
        }
    }

    /// Atomically replaces (or creates) the file at `url` with the bytes `body` writes to its `Output`.
    ///
    /// Throws `IOError` naming the path when the file system refuses (e.g. the directory does not
    /// exist), or rethrows `body`'s error; either way nothing is left behind and `url` is unchanged.
    public static func write(to url: URL, _ body: (Output) throws -> Void) throws {
        let destination = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(randomSuffix())").path

        let fd = try POSIXFile.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o666)
        var closed = false
        do {
            // Keep the permissions of the file being replaced (the new file otherwise gets 0666 & ~umask).
            var existing = stat()
            if stat(destination, &existing) == 0, fchmod(fd, existing.st_mode & 0o7777) != 0 {
                throw IOError.system(operation: "chmod", path: temporary, code: errno)
            }
            try body(Output(fd: fd, path: temporary))
            guard fsync(fd) == 0 else { throw IOError.system(operation: "fsync", path: temporary, code: errno) }
            closed = true
            guard close(fd) == 0 else { throw IOError.system(operation: "close", path: temporary, code: errno) }
            guard rename(temporary, destination) == 0 else {
                throw IOError.system(operation: "rename to '\(destination)'", path: temporary, code: errno)
            }
        } catch {
            if !closed { close(fd) }
            unlink(temporary)
            throw error
        }
        syncDirectory(directory)
    }

    /// Atomically replaces (or creates) the file at `url` with `bytes`.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try write(to: url) { try $0.write(bytes) }
    }

    /// Flushes the directory entry so the rename survives a crash. Best effort: the new file is already
    /// in place, and some file systems refuse to fsync a directory, so a failure here is not reported.
    private static func syncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func randomSuffix() -> String {
        let value = UInt64.random(in: .min ... .max)
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
