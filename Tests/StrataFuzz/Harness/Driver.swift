import Foundation
import Strata
#if canImport(Glibc)
import Glibc
#endif

/// What went wrong with a case: anything here fails the run.
enum FindingKind: String {
    /// The child (library) or dltrain died of a signal: a trap, an abort, a segmentation fault.
    case crash
    /// No answer within the per-case timeout.
    case hang
    /// The oracle says invalid, and the library or dltrain accepted it.
    case silentAccept = "silent-accept"
    /// The oracle says valid, and the library or dltrain refused it.
    case falseRefusal = "false-refusal"
    /// Accepted, but what was read differs from what the format says the file holds.
    case wrongResult = "wrong-result"
    /// Refused, but the message does not name the file (or flag) at fault, or dltrain's error is not one
    /// `dltrain: error:` line, or its exit status is neither 1 nor 64.
    case badError = "bad-error"
}

struct Finding {
    var kind: FindingKind
    var target: String
    var check: String
    /// `library` or the dltrain command line.
    var via: String
    var detail: String
    var origin: String
    /// Where the reproducer was saved.
    var directory: URL?

    /// What identifies the cause, for counting distinct findings: the kind, the check and the detail with
    /// digits and paths removed.
    var signature: String {
        let words = detail.split(separator: " ").map { $0.contains("/") ? "PATH" : String($0) }.joined(separator: " ")
        let digitless = String(words.map { $0.isNumber ? "#" : $0 }).prefix(160)
        return "\(target) \(check) \(kind.rawValue) via \(via.split(separator: " ").prefix(2).joined(separator: " ")): \(digitless)"
    }
}

/// Counts and findings, shared by the library and the CLI threads.
final class FuzzLedger: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var libraryCases: [String: Int] = [:]
    private(set) var libraryAccepted: [String: Int] = [:]
    private(set) var cliCases: [String: Int] = [:]
    private(set) var cliAccepted: [String: Int] = [:]
    private(set) var findings: [Finding] = []
    let findingsDirectory: URL
    private var saved = 0

    init(findingsDirectory: URL) { self.findingsDirectory = findingsDirectory }

    func countLibrary(_ target: String, accepted: Bool) {
        lock.withLock {
            libraryCases[target, default: 0] += 1
            if accepted { libraryAccepted[target, default: 0] += 1 }
        }
    }

    func countCLI(_ target: String, accepted: Bool) {
        lock.withLock {
            cliCases[target, default: 0] += 1
            if accepted { cliAccepted[target, default: 0] += 1 }
        }
    }

    /// Records `finding` and copies its case (from `caseDirectory`) under the findings directory.
    func record(_ finding: Finding, caseDirectory: URL) {
        lock.withLock {
            var finding = finding
            saved += 1
            let destination = findingsDirectory.appendingPathComponent(
                String(format: "%04d-%@-%@-%@", saved, finding.target, finding.check, finding.kind.rawValue))
            try? FileManager.default.createDirectory(at: findingsDirectory, withIntermediateDirectories: true)
            try? FileManager.default.removeItem(at: destination)
            if (try? FileManager.default.copyItem(at: caseDirectory, to: destination)) != nil {
                finding.directory = destination
                let text = "kind: \(finding.kind.rawValue)\ncheck: \(finding.check)\nvia: \(finding.via)\n"
                    + "origin: \(finding.origin)\ndetail: \(finding.detail)\n"
                try? Data(text.utf8).write(to: destination.appendingPathComponent("finding.txt"))
            }
            findings.append(finding)
            FileHandle.standardError.write(Data("strata-fuzz: FINDING \(finding.kind.rawValue) \(finding.target)/\(finding.check) via \(finding.via): \(finding.detail.prefix(300)) [\(finding.origin)] -> \(finding.directory?.path ?? "(not saved)")\n".utf8))
        }
    }
}

/// The library side: a persistent child process that runs cases, restarted after each crash or hang.
final class LibraryRunner {
    let executable: String
    let stderrFile: String
    let timeout: Double
    private var child: Subprocess?

    init(executable: String, stderrFile: String, timeout: Double) {
        (self.executable, self.stderrFile, self.timeout) = (executable, stderrFile, timeout)
    }

    enum Answer {
        case accepted(summary: String?)
        case refused(type: String, message: String)
        case died(Termination, stderrTail: String)
    }

    func run(target: String, check: String, directory: URL) throws -> Answer {
        if child == nil {
            child = try Subprocess(executable, ["child"], environment: Child.environment, stdinPipe: true, stderrFile: stderrFile)
        }
        let process = child!
        let result: Subprocess.LineResult = process.send("\(target)\t\(check)\t\(directory.path)") ? process.readLine(timeout: timeout) : .closed
        let line: String
        switch result {
        case .line(let text):
            line = text
        case .closed:
            child = nil
            return .died(process.waitForExit(timeout: 10), stderrTail: tail(of: stderrFile))
        case .timedOut:
            child = nil
            _ = process.terminate()
            return .died(.timedOut(seconds: timeout), stderrTail: tail(of: stderrFile))
        }
        let fields = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch fields.first {
        case "accepted": return .accepted(summary: fields.count > 1 && fields[1] != "-" ? fields[1] : nil)
        case "refused" where fields.count == 3: return .refused(type: fields[1], message: fields[2])
        default: throw FuzzError("the child answered '\(line)'")
        }
    }

    func stop() {
        if let child { _ = child.send(""); _ = child.terminate() }
        child = nil
    }

    private func tail(of path: String) -> String {
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        return crashSummary(text.split(separator: "\n"))
    }
}

/// The whole run: seeds, hostile cases and mutations for every target, through the library and dltrain.
struct FuzzDriver: @unchecked Sendable {
    var targets: [any FuzzTarget]
    var seconds: Double
    var seed: UInt64
    var outputDirectory: URL
    var runCLI: Bool
    var caseTimeout: Double
    var cliTimeout: Double
    /// How long a command that `mayRunLong` runs before it is stopped (and passes while it prints progress).
    static let progressWindow: Double = 20
    var selfExecutable: String
    var dltrain: String?

    /// Runs until `seconds` have passed; returns the ledger.
    func run() throws -> FuzzLedger {
        let manager = FileManager.default
        try? manager.removeItem(at: outputDirectory.appendingPathComponent("findings"))
        try manager.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        let ledger = FuzzLedger(findingsDirectory: outputDirectory.appendingPathComponent("findings"))

        var random = FuzzRandom(seed: seed)
        Strata.threads = 1
        let start = Date()
        var prepared: [PreparedTarget] = []
        for target in targets {
            var targetRandom = random.split()
            let seeds = try target.seeds(&targetRandom)
            let hostile = try target.hostileCases(from: seeds, &targetRandom)
            prepared.append(PreparedTarget(target: target, seeds: seeds, hostile: hostile))
        }
        let preparation = Date().timeIntervalSince(start)
        let deadline = start.addingTimeInterval(max(seconds, preparation + 1))
        say("strata-fuzz: seed \(seed), \(Int(seconds)) s, targets \(targets.map(\.name).joined(separator: ", ")); "
            + "seeds and hostile cases made in \(String(format: "%.1f", preparation)) s")

        let libraryRandom = random.split(), cliRandom = random.split()
        let ready = prepared
        let group = DispatchGroup()
        group.enter()
        Thread.detachNewThread { [self] in
            runLibrary(ready, until: deadline, random: libraryRandom, ledger: ledger)
            group.leave()
        }
        if runCLI && dltrain != nil {
            group.enter()
            Thread.detachNewThread { [self] in
                runCommands(ready, until: deadline, random: cliRandom, ledger: ledger)
                group.leave()
            }
        }
        group.wait()
        return ledger
    }

    /// Each target's next case: its seeds, then its hostile cases, then mutations of its seeds.
    private func nextCase(_ prepared: PreparedTarget, index: Int, _ random: inout FuzzRandom) -> (FuzzCase, seed: FuzzCase)? {
        if index < prepared.seeds.count { return (prepared.seeds[index], prepared.seeds[index]) }
        if index < prepared.seeds.count + prepared.hostile.count {
            return (prepared.hostile[index - prepared.seeds.count], prepared.seeds[0])
        }
        guard !prepared.seeds.isEmpty else { return nil }
        let base = random.pick(prepared.seeds)
        let scopes = prepared.target.mutationScopes(base)
        guard let scope = scopes.isEmpty ? nil : random.pick(scopes), let bytes = base.files[scope.file] else { return nil }
        let splices = prepared.seeds.compactMap { $0.files[scope.file] }
        let (mutated, note) = Mutator.mutate(bytes, header: scope.headerLength, splices: splices, &random)
        var files = base.files
        files[scope.file] = mutated
        return (FuzzCase(files, origin: "\(base.origin) + \(scope.file): \(note)"), base)
    }

    private func runLibrary(_ all: [PreparedTarget], until deadline: Date, random: FuzzRandom, ledger: FuzzLedger) {
        var random = random
        let prepared = all.filter { !$0.target.checks.isEmpty }
        guard !prepared.isEmpty else { return }
        let work = outputDirectory.appendingPathComponent("library-case")
        let runner = LibraryRunner(executable: selfExecutable, stderrFile: outputDirectory.appendingPathComponent("child-stderr.txt").path,
                                   timeout: caseTimeout)
        defer { runner.stop() }
        var indices = [Int](repeating: 0, count: prepared.count)
        var turn = 0
        while Date() < deadline {
            let t = turn % prepared.count
            turn += 1
            let item = prepared[t]
            guard let (fuzzCase, seed) = nextCase(item, index: indices[t], &random) else { continue }
            indices[t] += 1
            guard item.target.admits(fuzzCase, seed: seed) else { continue }
            do {
                try fuzzCase.write(to: work, target: item.target.name)
                let verdicts = item.target.judge(fuzzCase, in: work)
                var accepted = true
                for check in item.target.checks {
                    guard let verdict = verdicts[check] else { continue }
                    let answer = try runner.run(target: item.target.name, check: check, directory: work)
                    if case .accepted = answer {} else { accepted = false }
                    if let finding = Self.assess(answer, verdict: verdict, target: item.target.name, check: check, origin: fuzzCase.origin) {
                        ledger.record(finding, caseDirectory: work)
                    }
                    if case .died = answer { break }
                }
                ledger.countLibrary(item.target.name, accepted: accepted)
            } catch {
                say("strata-fuzz: harness error on \(item.target.name) [\(fuzzCase.origin)]: \(error)")
            }
        }
    }

    private func runCommands(_ prepared: [PreparedTarget], until deadline: Date, random: FuzzRandom, ledger: FuzzLedger) {
        var random = random
        let work = outputDirectory.appendingPathComponent("cli-case")
        var indices = [Int](repeating: 0, count: prepared.count)
        var turn = 0
        let withCommands = prepared.indices.filter { !prepared[$0].target.commands(in: work).isEmpty }
        guard !withCommands.isEmpty else { return }
        while Date() < deadline {
            let t = withCommands[turn % withCommands.count]
            turn += 1
            let item = prepared[t]
            guard let (fuzzCase, seed) = nextCase(item, index: indices[t], &random) else { continue }
            let firstPass = indices[t] < item.seeds.count + item.hostile.count
            indices[t] += 1
            guard item.target.admits(fuzzCase, seed: seed) else { continue }
            do {
                try fuzzCase.write(to: work, target: item.target.name)
                let verdicts = item.target.judge(fuzzCase, in: work)
                let commands = item.target.commands(in: work)
                // Seeds and hostile cases go through every command; a mutated case through one.
                for command in firstPass ? commands : [random.pick(commands)] {
                    guard let verdict = verdicts[command.check] else { continue }
                    let (finding, accepted) = runCommand(command, verdict: verdict, target: item.target.name, origin: fuzzCase.origin)
                    if let finding { ledger.record(finding, caseDirectory: work) }
                    ledger.countCLI(item.target.name, accepted: accepted)
                }
            } catch {
                say("strata-fuzz: harness error on \(item.target.name) [\(fuzzCase.origin)]: \(error)")
            }
        }
    }

    /// Runs one dltrain command and checks its exit status and error line against `verdict`.
    func runCommand(_ command: FuzzCommand, verdict: Verdict, target: String, origin: String) -> (Finding?, accepted: Bool) {
        let executable = dltrain ?? "dltrain"
        let via = "dltrain " + command.arguments.map { $0.contains("/") ? URL(fileURLWithPath: $0).lastPathComponent : $0 }.joined(separator: " ")
        func finding(_ kind: FindingKind, _ detail: String) -> Finding {
            Finding(kind: kind, target: target, check: command.check, via: via, detail: detail, origin: origin)
        }
        let process: Subprocess
        do {
            process = try Subprocess(executable, command.arguments, environment: Child.environment.merging(command.environment) { $1 })
        } catch {
            return (finding(.badError, "cannot start dltrain: \(error)"), false)
        }
        let (termination, _, stderr) = process.collect(timeout: cliTimeout,
                                                       progressAfter: command.mayRunLong ? Self.progressWindow : nil)
        let lines = stderr.split(separator: "\n")
        switch (termination, verdict) {
        case (.signaled, _):
            return (finding(.crash, "\(termination): \(crashSummary(lines))"), false)
        case (.timedOut, _):
            return (finding(.hang, "\(termination)"), false)
        case (.stoppedWhileProgressing, .invalid(let reason, _)):
            return (finding(.silentAccept, "\(termination), but \(reason)"), true)
        case (.exited(0), .valid), (.exited(0), .either), (.stoppedWhileProgressing, _):
            return (nil, true)
        case (.exited(let status), .either(let name)):
            guard status == 1 || status == 64 else {
                return (finding(.badError, "exit status \(status), expected 0, 1 or 64: \(lines.prefix(2).joined(separator: " | "))"), false)
            }
            guard status == 64 || (lines.count == 1 && lines[0].hasPrefix("dltrain: error:")) else {
                return (finding(.badError, "exit status 1 with \(lines.count) lines on standard error: \(lines.prefix(3).joined(separator: " | "))"), false)
            }
            guard stderr.contains(name) || command.tolerated.contains(where: { stderr.contains($0) }) else {
                return (finding(.badError, "exit status \(status) without naming '\(name)': \(lines.prefix(2).joined(separator: " | "))"), false)
            }
            return (nil, false)
        case (.exited(0), .invalid(let reason, _)):
            return (finding(.silentAccept, "exit status 0, but \(reason)"), true)
        case (.exited(1), .valid) where lines.count == 1 && command.tolerated.contains(where: { stderr.contains($0) }):
            return (nil, false)
        case (.exited(let status), .valid):
            return (finding(.falseRefusal, "exit status \(status): \(lines.prefix(2).joined(separator: " | "))"), false)
        case (.exited(1), .invalid(_, let name)):
            let errorLines = lines.filter { $0.hasPrefix("dltrain: error:") }
            guard lines.count == 1, errorLines.count == 1 else {
                return (finding(.badError, "exit status 1 with \(lines.count) lines on standard error: \(lines.prefix(3).joined(separator: " | "))"), false)
            }
            guard stderr.contains(name) else {
                return (finding(.badError, "the error does not name '\(name)': \(lines[0])"), false)
            }
            return (nil, false)
        case (.exited(64), .invalid(_, let name)):
            guard stderr.contains(name) else {
                return (finding(.badError, "usage error (64) that does not name '\(name)': \(lines.prefix(2).joined(separator: " | "))"), false)
            }
            return (nil, false)
        case (.exited(let status), .invalid):
            return (finding(.badError, "exit status \(status), expected 1 or 64: \(lines.prefix(2).joined(separator: " | "))"), false)
        }
    }

    /// Compares the child's answer with the oracle's verdict.
    static func assess(_ answer: LibraryRunner.Answer, verdict: Verdict, target: String, check: String, origin: String) -> Finding? {
        func finding(_ kind: FindingKind, _ detail: String) -> Finding {
            Finding(kind: kind, target: target, check: check, via: "library", detail: detail, origin: origin)
        }
        switch (answer, verdict) {
        case let (.died(termination, stderrTail), _):
            if case .timedOut = termination { return finding(.hang, "\(termination)") }
            return finding(.crash, "\(termination): \(stderrTail)")
        case let (.accepted(summary), .valid(expected)):
            // The child's answer is one line (tabs and newlines as spaces), so the oracle's is compared the same way.
            if let expected, summary != Child.oneLine(expected) {
                return finding(.wrongResult, "read \(summary ?? "nothing"), the file holds \(expected)")
            }
            return nil
        case let (.accepted, .invalid(reason, _)):
            return finding(.silentAccept, "accepted, but \(reason)")
        case let (.refused(type, message), .valid):
            return finding(.falseRefusal, "\(type): \(message)")
        case (.accepted, .either):
            return nil
        case let (.refused(type, message), .invalid(_, name)), let (.refused(type, message), .either(name)):
            return message.contains(name) ? nil : finding(.badError, "\(type) does not name '\(name)': \(message)")
        }
    }
}

/// What a crashed process's standard error says about the cause: its `Fatal error:` line (the trap's message,
/// which identifies the class) when it printed one, else its last lines.
func crashSummary(_ lines: [Substring]) -> String {
    if let fatal = lines.last(where: { $0.contains("Fatal error") }) { return String(fatal) }
    return lines.suffix(2).joined(separator: " | ")
}

/// A target with its seeds and hostile cases made.
struct PreparedTarget: @unchecked Sendable {
    let target: any FuzzTarget
    let seeds: [FuzzCase]
    let hostile: [FuzzCase]
}

private let outputLock = NSLock()

/// Prints a line to standard output (from either thread).
func say(_ line: String) {
    outputLock.withLock { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
}
