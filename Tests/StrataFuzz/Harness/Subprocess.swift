import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a child process ended.
enum Termination: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)
    /// Killed by the harness after its deadline.
    case timedOut(seconds: Double)
    /// Killed by the harness after `seconds` while it was still printing lines: a long run making progress.
    case stoppedWhileProgressing(seconds: Double)

    var description: String {
        switch self {
        case .exited(let status): "exit status \(status)"
        case .signaled(let signal): "signal \(signal) (\(String(cString: strsignal(signal))))"
        case .timedOut(let seconds): "no answer within \(seconds) s (killed)"
        case .stoppedWhileProgressing(let seconds): "still printing progress after \(seconds) s (stopped)"
        }
    }
}

/// A child process started with `posix_spawn`, its standard output piped, its standard error piped or sent to
/// a file, and optionally a pipe to its standard input. Reaped with `wait4`, so its peak memory is known.
final class Subprocess {
    /// Held from making a child's pipes until it is spawned, so no other child inherits them.
    private static let spawnLock = NSLock()
    let pid: pid_t
    private let stdinFD: Int32?
    private let stdoutFD: Int32
    private let stderrFD: Int32?
    private var pendingOutput: [UInt8] = []
    private(set) var termination: Termination?
    /// The child's peak resident set size in bytes, once reaped.
    private(set) var peakMemory = 0

    /// Starts `executable arguments` with `environment` added to this process's.
    /// - Parameter stderrFile: where its standard error goes; nil pipes it (read by `collect`).
    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], stdinPipe: Bool = false,
         stderrFile: String? = nil) throws {
        func makePipe() throws -> (read: Int32, write: Int32) {
            var fds: [Int32] = [0, 0]
            guard pipe(&fds) == 0 else { throw FuzzError("pipe failed: errno \(errno)") }
            // Close-on-exec on both ends (posix_spawn's dup2 clears it on the child's 0, 1 and 2), set under
            // `spawnLock`: the driver spawns from two threads, and a pipe end leaked into the other thread's child
            // (the long-lived library child) would hold this one's output open after it exits, a false hang.
            for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            return (fds[0], fds[1])
        }
        Self.spawnLock.lock()
        defer { Self.spawnLock.unlock() }
        let output = try makePipe()
        let input = stdinPipe ? try makePipe() : nil
        let error = stderrFile == nil ? try makePipe() : nil

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let input {
            posix_spawn_file_actions_adddup2(&actions, input.read, 0)
            posix_spawn_file_actions_addclose(&actions, input.write)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, output.write, 1)
        posix_spawn_file_actions_addclose(&actions, output.read)
        if let error {
            posix_spawn_file_actions_adddup2(&actions, error.write, 2)
            posix_spawn_file_actions_addclose(&actions, error.read)
        } else if let stderrFile {
            posix_spawn_file_actions_addopen(&actions, 2, stderrFile, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, argv, envp)
        close(output.write)
        if let input { close(input.read) }
        if let error { close(error.write) }
        guard status == 0 else {
            close(output.read)
            if let input { close(input.write) }
            if let error { close(error.read) }
            throw FuzzError("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        pid = child
        stdinFD = input?.write
        stdoutFD = output.read
        stderrFD = error?.read
    }

    deinit {
        if termination == nil { kill(pid, SIGKILL); reap(blocking: true) }
        if let stdinFD { close(stdinFD) }
        close(stdoutFD)
        if let stderrFD { close(stderrFD) }
    }

    /// Writes one line to the child's standard input; false if the child has gone.
    func send(_ line: String) -> Bool {
        guard let stdinFD else { return false }
        let bytes = Array((line + "\n").utf8)
        var done = 0
        while done < bytes.count {
            let n = bytes[done...].withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            done += n
        }
        return true
    }

    enum LineResult { case line(String), closed, timedOut }

    /// The child's next line of standard output, unless it closes its output or `timeout` passes first.
    func readLine(timeout: Double) -> LineResult {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = pendingOutput.firstIndex(of: 0x0A) {
                let line = String(decoding: pendingOutput[..<newline], as: UTF8.self)
                pendingOutput.removeSubrange(...newline)
                return .line(line)
            }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else { return .timedOut }
            var poller = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready <= 0 { continue }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let n = read(stdoutFD, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return .closed }
            pendingOutput += chunk[..<n]
        }
    }

    /// Reads standard output and error to their end, waits for the child and returns how it ended; kills it
    /// once `timeout` seconds pass.
    /// - Parameter progressAfter: for a run that may rightly go on for long: once this many seconds pass, the
    ///   child is stopped as `.stoppedWhileProgressing` if it printed a line in the last `quietLimit` seconds.
    ///   A child that goes quiet still runs to `timeout` and is a hang.
    func collect(timeout: Double, progressAfter: Double? = nil,
                 quietLimit: Double = 10) -> (termination: Termination, stdout: [UInt8], stderr: String) {
        let start = Date()
        let deadline = start.addingTimeInterval(timeout)
        var out: [UInt8] = pendingOutput, err: [UInt8] = []
        var open: [Int32] = [stdoutFD] + (stderrFD.map { [$0] } ?? [])
        var stop: Termination?
        var lastLine = start
        while !open.isEmpty {
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 { stop = .timedOut(seconds: timeout); break }
            if let progressAfter, -start.timeIntervalSinceNow >= progressAfter, -lastLine.timeIntervalSinceNow < quietLimit {
                stop = .stoppedWhileProgressing(seconds: progressAfter)
                break
            }
            var pollers = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&pollers, nfds_t(pollers.count), Int32(min(remaining, 1) * 1000) + 1)
            if ready <= 0 { continue }
            for poller in pollers where poller.revents != 0 {
                var chunk = [UInt8](repeating: 0, count: 1 << 16)
                let n = read(poller.fd, &chunk, chunk.count)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { open.removeAll { $0 == poller.fd }; continue }
                if chunk[..<n].contains(0x0A) { lastLine = Date() }
                if poller.fd == stdoutFD { out += chunk[..<n] } else { err += chunk[..<n] }
            }
        }
        if let stop {
            kill(pid, SIGKILL)
            reap(blocking: true)
            termination = stop
        } else {
            while termination == nil {
                reap(blocking: false)
                if termination == nil {
                    if deadline.timeIntervalSinceNow <= 0 {
                        kill(pid, SIGKILL)
                        reap(blocking: true)
                        termination = .timedOut(seconds: timeout)
                    } else {
                        usleep(2000)
                    }
                }
            }
        }
        return (termination!, out, String(decoding: err, as: UTF8.self))
    }

    /// Kills the child (if it still runs) and reaps it.
    func terminate() -> Termination {
        if termination == nil {
            reap(blocking: false)
            if termination == nil { kill(pid, SIGKILL); reap(blocking: true) }
        }
        return termination!
    }

    /// Waits for a child that is expected to exit, giving it `timeout` seconds.
    func waitForExit(timeout: Double) -> Termination {
        let deadline = Date().addingTimeInterval(timeout)
        while termination == nil && deadline.timeIntervalSinceNow > 0 {
            reap(blocking: false)
            if termination == nil { usleep(2000) }
        }
        return terminate()
    }

    private func reap(blocking: Bool) {
        guard termination == nil else { return }
        var status: Int32 = 0
        var usage = rusage()
        let result = wait4(pid, &status, blocking ? 0 : WNOHANG, &usage)
        guard result == pid else { return }
        peakMemory = Int(usage.ru_maxrss) * 1024
        // <sys/wait.h>'s macros, which Swift does not import: the low 7 bits are the signal, 0 for an exit.
        let signal = status & 0x7F
        termination = signal == 0 ? .exited((status >> 8) & 0xFF) : .signaled(signal)
    }
}

/// A failure of the harness itself (not a finding).
struct FuzzError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
