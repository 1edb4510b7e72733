import Foundation

// strata-fuzz: seeded mutation and structured (hostile) cases over every input Strata reads from outside, run
// through the library (in a child process, so a trap is a finding and not the end of the run) and through the
// built dltrain. Exit status 0 when the run found nothing, 1 when it found something (each finding is saved
// under OUT/findings with its files), 64 for a usage error.
//
//   StrataFuzz [--seconds N] [--seed S] [--out DIR] [--dltrain PATH] [--targets a,b] [--no-cli]
//   StrataFuzz replay DIR… [--out DIR] [--dltrain PATH] [--no-cli]
//                               run saved cases (a findings folder, or a case folder) once each
//   StrataFuzz child            the library side (started by the driver; reads cases on standard input)
//   StrataFuzz selfcheck        the hang oracle on two shell children, one printing and one gone quiet

/// The 64-bit FNV-1a hash of `bytes`, for summaries of what was read.
func fnv1a(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return String(hash, radix: 16)
}

struct Options {
    var seconds = 60.0
    var seed: UInt64 = 13
    var output = URL(fileURLWithPath: ".build/fuzz")
    var dltrain: String?
    var targets: [String]?
    var runCLI = true
    var replay: [String] = []
}

func usage(_ message: String) -> Never {
    FileHandle.standardError.write(Data("StrataFuzz: \(message)\nusage: StrataFuzz [--seconds N] [--seed S] [--out DIR] [--dltrain PATH] [--targets a,b] [--no-cli] | replay DIR… | child | selfcheck\n".utf8))
    exit(64)
}

func parseOptions(_ arguments: [String]) -> Options {
    var options = Options()
    var rest = arguments[...]
    func value(_ flag: String) -> String {
        guard let next = rest.popFirst() else { usage("\(flag) needs a value") }
        return next
    }
    let replaying = rest.first == "replay"
    if replaying { rest.removeFirst() }
    while let flag = rest.popFirst() {
        switch flag {
        case _ where replaying && !flag.hasPrefix("--"): options.replay.append(flag)
        case "--seconds":
            let text = value(flag)
            guard let seconds = Double(text), seconds.isFinite, seconds >= 1, seconds <= 86_400 else { usage("--seconds \(text) is not in 1…86400") }
            options.seconds = seconds
        case "--seed":
            let text = value(flag)
            guard let seed = UInt64(text) else { usage("--seed \(text) is not a 64-bit unsigned integer") }
            options.seed = seed
        case "--out": options.output = URL(fileURLWithPath: value(flag))
        case "--dltrain": options.dltrain = value(flag)
        case "--targets": options.targets = value(flag).split(separator: ",").map(String.init)
        case "--no-cli": options.runCLI = false
        default: usage("unknown argument \(flag)")
        }
    }
    if replaying && options.replay.isEmpty { usage("replay needs a folder") }
    return options
}

/// The dltrain beside this executable (both are built into the same folder).
func defaultDLTrain() -> String? {
    let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dltrain").path
    return FileManager.default.isExecutableFile(atPath: beside) ? beside : nil
}

func selfPath() -> String {
    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
}

/// Runs each saved case once through the library and dltrain; the number of findings.
func replay(_ folders: [String], options: Options) throws -> Int {
    var directories: [URL] = []
    for folder in folders {
        let url = URL(fileURLWithPath: folder)
        if FileManager.default.fileExists(atPath: url.appendingPathComponent(FuzzCase.descriptionFile).path) {
            directories.append(url)
        } else {
            let names = try FileManager.default.contentsOfDirectory(atPath: url.path).sorted()
            directories += names.map { url.appendingPathComponent($0) }
                .filter { FileManager.default.fileExists(atPath: $0.appendingPathComponent(FuzzCase.descriptionFile).path) }
        }
    }
    let byName = Dictionary(uniqueKeysWithValues: fuzzTargets.map { ($0.name, $0) })
    try FileManager.default.createDirectory(at: options.output, withIntermediateDirectories: true)
    let runner = LibraryRunner(executable: selfPath(), stderrFile: options.output.appendingPathComponent("child-stderr.txt").path, timeout: 60)
    defer { runner.stop() }
    let driver = FuzzDriver(targets: fuzzTargets, seconds: 1, seed: 0, outputDirectory: options.output, runCLI: true,
                            caseTimeout: 60, cliTimeout: 120, selfExecutable: selfPath(), dltrain: options.dltrain ?? defaultDLTrain())
    var found = 0, libraryChecks = 0, commands = 0
    for directory in directories {
        let text = (try? String(contentsOf: directory.appendingPathComponent(FuzzCase.descriptionFile), encoding: .utf8)) ?? ""
        guard let name = text.split(separator: "\n").first(where: { $0.hasPrefix("target: ") }).map({ String($0.dropFirst(8)) }),
              let target = byName[name] else { throw FuzzError("\(directory.path): no known target in case.txt") }
        // Run in a copy, so nothing a command writes lands in the kept case.
        let fuzzCase = try FuzzCase.read(from: directory)
        let work = options.output.appendingPathComponent("replay-case")
        try fuzzCase.write(to: work, target: name)
        let verdicts = target.judge(fuzzCase, in: work)
        for check in target.checks {
            guard let verdict = verdicts[check] else { continue }
            let answer = try runner.run(target: name, check: check, directory: work)
            libraryChecks += 1
            if let finding = FuzzDriver.assess(answer, verdict: verdict, target: name, check: check, origin: fuzzCase.origin) {
                found += 1
                say("FINDING \(finding.kind.rawValue) \(name)/\(check) via library: \(finding.detail) [\(directory.path)]")
            }
        }
        if options.runCLI && driver.dltrain != nil {
            for command in target.commands(in: work) {
                guard let verdict = verdicts[command.check] else { continue }
                commands += 1
                if let finding = driver.runCommand(command, verdict: verdict, target: name, origin: fuzzCase.origin).0 {
                    found += 1
                    say("FINDING \(finding.kind.rawValue) \(name)/\(command.check) via \(finding.via): \(finding.detail) [\(directory.path)]")
                }
            }
        }
        say("replayed \(directory.lastPathComponent): \(fuzzCase.origin)")
    }
    say("strata-fuzz: replayed \(directories.count) case(s): \(libraryChecks) library checks, \(commands) dltrain runs")
    return found
}

/// The hang oracle, checked so that it cannot pass by checking nothing: a child that keeps printing lines is
/// stopped as progressing, and one that printed once and went quiet is killed as a hang at its timeout.
func selfCheck() throws -> Bool {
    let printing = try Subprocess("/bin/sh", ["-c", "while :; do echo tick; sleep 0.2; done"])
    let progressing = printing.collect(timeout: 10, progressAfter: 1, quietLimit: 1).termination
    let quiet = try Subprocess("/bin/sh", ["-c", "echo start; exec sleep 30"])
    let hung = quiet.collect(timeout: 3, progressAfter: 1, quietLimit: 1).termination
    say("strata-fuzz: selfcheck: a printing child: \(progressing); a quiet child: \(hung)")
    return progressing == .stoppedWhileProgressing(seconds: 1) && hung == .timedOut(seconds: 3)
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.first == "child" {
    exit(Child.serve(targets: fuzzTargets))
}
if arguments.first == "selfcheck" {
    do { exit(try selfCheck() ? 0 : 1) } catch {
        FileHandle.standardError.write(Data("StrataFuzz: \(error)\n".utf8))
        exit(2)
    }
}
let options = parseOptions(arguments)
do {
    if !options.replay.isEmpty {
        let found = try replay(options.replay, options: options)
        say("strata-fuzz: replay: \(found) finding(s)")
        exit(found == 0 ? 0 : 1)
    }
    var targets = fuzzTargets
    if let names = options.targets {
        for name in names where !fuzzTargets.contains(where: { $0.name == name }) {
            usage("unknown target \(name); targets: \(fuzzTargets.map(\.name).joined(separator: ", "))")
        }
        targets = fuzzTargets.filter { names.contains($0.name) }
    }
    let dltrain = options.dltrain ?? defaultDLTrain()
    if options.runCLI && dltrain == nil { usage("no dltrain beside this executable; pass --dltrain PATH or --no-cli") }
    let driver = FuzzDriver(targets: targets, seconds: options.seconds, seed: options.seed, outputDirectory: options.output,
                            runCLI: options.runCLI, caseTimeout: 30, cliTimeout: 120, selfExecutable: selfPath(), dltrain: dltrain)
    let ledger = try driver.run()
    say("strata-fuzz: cases per input kind (library: run, accepted | dltrain: run, accepted)")
    for target in targets {
        let name = target.name
        say("  \(name): library \(ledger.libraryCases[name] ?? 0), \(ledger.libraryAccepted[name] ?? 0) | dltrain \(ledger.cliCases[name] ?? 0), \(ledger.cliAccepted[name] ?? 0)")
    }
    let distinct = Set(ledger.findings.map(\.signature))
    say("strata-fuzz: \(ledger.findings.count) finding(s), \(distinct.count) distinct")
    for signature in distinct.sorted() { say("  \(signature)") }
    exit(ledger.findings.isEmpty ? 0 : 1)
} catch {
    FileHandle.standardError.write(Data("StrataFuzz: \(error)\n".utf8))
    exit(2)
}
