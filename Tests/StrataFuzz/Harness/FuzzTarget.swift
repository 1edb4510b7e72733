import Foundation

// The fuzz harness's vocabulary. A target is one file under Targets/ (plus its line in Targets/Registry.swift):
// it makes valid cases, says which of their bytes mutation may touch, judges any case by the format's own
// rules (the oracle), runs a case through the library (in the child process), and names the dltrain commands
// that read it. The driver (Driver.swift) does the rest: mutation, the child process, timeouts, the verdicts,
// findings and counts.

/// One input: the files a target reads, by name, in one directory.
struct FuzzCase {
    /// File name → contents.
    var files: [String: [UInt8]]
    /// How the case was made: `seed 1`, `hostile: strata.epoch = 9223372036854775807`, `seed 0 + flip@93`.
    var origin: String

    init(_ files: [String: [UInt8]], origin: String) {
        (self.files, self.origin) = (files, origin)
    }

    /// The file the case records itself in (target and origin), beside its files.
    static let descriptionFile = "case.txt"

    /// Writes the files and `case.txt` into `directory`, which is emptied first.
    func write(to directory: URL, target: String) throws {
        let manager = FileManager.default
        try? manager.removeItem(at: directory)
        try manager.createDirectory(at: directory, withIntermediateDirectories: true)
        for (name, bytes) in files { try Data(bytes).write(to: directory.appendingPathComponent(name)) }
        try Data("target: \(target)\norigin: \(origin)\n".utf8).write(to: directory.appendingPathComponent(Self.descriptionFile))
    }

    /// What a kept case (Tests/FuzzRegressions) says it found before the fix; not one of its files.
    static let foundFile = "found.txt"

    /// The case stored in `directory` (every file but `case.txt`, `found.txt` and a finding's `finding.txt`).
    static func read(from directory: URL) throws -> FuzzCase {
        var files: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where ![descriptionFile, foundFile, "finding.txt"].contains(name) {
            files[name] = [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
        }
        let text = (try? String(contentsOf: directory.appendingPathComponent(descriptionFile), encoding: .utf8)) ?? ""
        let origin = text.split(separator: "\n").first { $0.hasPrefix("origin: ") }.map { String($0.dropFirst(8)) }
        return FuzzCase(files, origin: origin ?? directory.lastPathComponent)
    }
}

/// What the format's rules say about a case for one check.
enum Verdict: Equatable {
    /// The library must accept it; when `summary` is given, what it read must summarise to exactly this.
    case valid(summary: String?)
    /// The library must refuse it, with an error that names `mustName` (the file, or the flag).
    case invalid(reason: String, mustName: String)
    /// Where the harness has no oracle of its own (model specs, CLI numbers): accepted or refused are both
    /// right, but a refusal must name `mustName`, and a crash or a hang is a finding as everywhere.
    case either(mustName: String)

    var isValid: Bool { if case .valid = self { true } else { false } }
}

/// A `dltrain` run on a case: an accepted case exits 0; a refused one exits 1 with one `dltrain: error:` line
/// that names the culprit, or 64 (a usage error) naming it.
struct FuzzCommand {
    /// The check whose verdict applies.
    var check: String
    var arguments: [String]
    var environment: [String: String] = [:]
    /// Errors that are a legitimate end for a valid case (a resumed run whose loss overflows stops with
    /// exit 1): text its one error line may contain.
    var tolerated: [String] = []
    /// Whether an accepted run may rightly go on for long (`--epochs 65535` over four examples): it is stopped
    /// after `FuzzDriver.progressWindow` seconds and passes if it is still printing progress lines then. One
    /// that stops printing is a hang, as everywhere.
    var mayRunLong = false
}

/// A file that mutation may change, and where its header ends (integer substitutions and half of the other
/// mutations aim there).
struct MutationScope {
    var file: String
    var headerLength: Int
}

/// One kind of input the harness fuzzes.
protocol FuzzTarget: Sendable {
    /// Its name on the command line and in the counts (`safetensors`, `checkpoint`, `idx-gzip`, …).
    var name: String { get }
    /// The checks a case goes through, in the order the child runs them (`read`, `resume`, …).
    var checks: [String] { get }
    /// Valid cases to mutate, made through the library; deterministic for a given `random`.
    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase]
    /// Valid cases with one field made hostile, each run once per fuzz run before any mutation.
    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase]
    /// The files of `fuzzCase` that mutation may change.
    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope]
    /// Whether a mutated case belongs to this target (false: it is left to another target and not run).
    func admits(_ fuzzCase: FuzzCase, seed: FuzzCase) -> Bool
    /// The oracle: each check's verdict on the case stored in `directory`, decided by the format's rules and
    /// not by the library under test. Runs in the driver.
    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict]
    /// Runs `check` on the case stored in `directory` through the library API; throws what the library throws.
    /// Returns the summary of what was read (compared with a valid verdict's), or nil. Runs in the child.
    func run(_ check: String, in directory: URL) throws -> String?
    /// The `dltrain` runs that read the case (one is picked per CLI case).
    func commands(in directory: URL) -> [FuzzCommand]
}

extension FuzzTarget {
    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] { [] }
    func admits(_ fuzzCase: FuzzCase, seed: FuzzCase) -> Bool { true }
    func commands(in directory: URL) -> [FuzzCommand] { [] }
}

/// Deterministic pseudo-random numbers (SplitMix64): a run is reproducible from its seed.
struct FuzzRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform integer in `0..<bound` (`bound` > 0).
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// A uniform integer in `range`.
    mutating func within(_ range: ClosedRange<Int>) -> Int { range.lowerBound + below(range.count) }

    mutating func chance(_ probability: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < probability }

    mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }

    mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }

    /// An independent stream, for a second thread.
    mutating func split() -> FuzzRandom { FuzzRandom(seed: next()) }
}
