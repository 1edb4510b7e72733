#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system call that failed while reading or writing a file, naming the file and the OS's reason.
///
/// Format problems in a file's contents have their own error types (`SafetensorsError`); this one is for
/// the operating system saying no: a missing file, a missing directory, a full disk.
public enum IOError: Error, CustomStringConvertible, Equatable, Sendable {
    /// `operation` (e.g. "open", "write", "rename") on `path` failed with `errno` value `code`.
    case system(operation: String, path: String, code: Int32)
    /// The file ended before `expected` bytes could be read at `offset` (it shrank while being read).
    case unexpectedEndOfFile(path: String, offset: Int, expected: Int)

    /// The path the failing operation was working on.
    public var path: String {
        switch self {
        case .system(_, let path, _), .unexpectedEndOfFile(let path, _, _): path
        }
    }

    /// The error, naming the file.
    public var description: String {
        switch self {
        case let .system(operation, path, code):
            "\(operation) '\(path)' failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .unexpectedEndOfFile(path, offset, expected):
            "'\(path)' ended before \(expected) bytes could be read at offset \(offset)"
        }
    }
}

/// Thin, `errno`-checked wrappers over POSIX file descriptors shared by the IO readers and writers.
enum POSIXFile {
    /// Opens `path`, retrying on EINTR, and throws `IOError` naming the path on failure.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0) throws(IOError) -> Int32 {
        while true {
            let fd = path.withCString { systemOpen($0, flags, mode) }
            if fd >= 0 { return fd }
            if errno != EINTR { throw .system(operation: "open", path: path, code: errno) }
        }
    }

    /// Reads exactly `count` bytes at `offset` into `buffer` (pread may return short counts).
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int,
                     path: String) throws(IOError) {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset + done))
            if n > 0 {
                done += n
            } else if n == 0 {
                throw .unexpectedEndOfFile(path: path, offset: offset, expected: count)
            } else if errno != EINTR {
                throw .system(operation: "read", path: path, code: errno)
            }
        }
    }

    /// Writes all `count` bytes of `buffer` (write may return short counts).
    static func write(_ fd: Int32, _ buffer: UnsafeRawPointer, count: Int, path: String) throws(IOError) {
        var done = 0
        while done < count {
            let n = systemWrite(fd, buffer + done, count - done)
            if n >= 0 {
                done += n
            } else if errno != EINTR {
                throw .system(operation: "write", path: path, code: errno)
            }
        }
    }

    /// The size in bytes of the open file `fd`.
    static func size(_ fd: Int32, path: String) throws(IOError) -> Int {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system(operation: "stat", path: path, code: errno) }
        return Int(info.st_size)
    }
}

// The module-level names, reachable from inside `POSIXFile`, whose static members shadow them.
private func systemOpen(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 {
    open(path, flags, mode)
}

private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
