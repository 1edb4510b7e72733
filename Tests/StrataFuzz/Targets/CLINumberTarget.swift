import Foundation

/// Numbers near the limits in dltrain's flags and environment variables (`--epochs 9223372036854775807`,
/// `--threads 2147483648`, `STRATA_THREADS=99999999999`), one at a time over a run of a few examples.
///
/// A case is a file `argv.txt`: the flag and its value on one line each (or `ENV NAME=VALUE`). Values no documented
/// range could allow (zero or negative counts, counts beyond 2^53, text that is not a number) must be refused with
/// exit 64 naming the flag, or a one-line error naming the variable; boundary values from mutation may be accepted
/// or refused (`Verdict.either`), and a crash or a hang is a finding. An accepted count may ask for a long run
/// (`--epochs 65535`): it is stopped after a while and passes while it still prints a line per epoch, since a run
/// that makes progress is not a hang. These numbers enter through dltrain's parsing, so the target has commands
/// and no library check.
struct CLINumberTarget: FuzzTarget {
    let name = "cli"
    /// No library check: these numbers enter through dltrain's parsing, which only the CLI runs.
    let checks: [String] = []
    static let file = "argv.txt"
    /// The run every case adds its number to: a few examples, one epoch, a progress line per epoch only.
    static let base = ["train", "--limit", "4", "--batch-size", "2", "--epochs", "1", "--log-every", "0"]
    static let flags = ["--epochs", "--batch-size", "--threads", "--limit", "--log-every", "--seed", "--lr", "--momentum",
                        "--weight-decay", "--val-split"]
    static let counts = ["--epochs", "--batch-size", "--threads", "--limit"]

    func seeds(_ random: inout FuzzRandom) throws -> [FuzzCase] {
        let values = ["--epochs": "1", "--batch-size": "2", "--threads": "1", "--limit": "4", "--log-every": "0", "--seed": "7",
                      "--lr": "0.01", "--momentum": "0.9", "--weight-decay": "0.0001", "--val-split": "0.25"]
        return Self.flags.map { flag in FuzzCase([Self.file: Array("\(flag)\n\(values[flag]!)\n".utf8)], origin: "seed: \(flag)") }
            + [FuzzCase([Self.file: Array("ENV STRATA_THREADS=1\n".utf8)], origin: "seed: STRATA_THREADS")]
    }

    func hostileCases(from seeds: [FuzzCase], _ random: inout FuzzRandom) throws -> [FuzzCase] {
        var cases: [FuzzCase] = []
        for flag in Self.counts {
            for value in ["9223372036854775807", "9223372036854775806", "9223372036854775808", "2147483648", "4294967296", "-1", "0",
                          "1e3", "abc", "", " 1", "0x10", "18446744073709551616"] {
                cases.append(FuzzCase([Self.file: Array("\(flag)\n\(value)\n".utf8)], origin: "hostile: \(flag) \(value)"))
            }
        }
        for flag in ["--lr", "--momentum", "--weight-decay", "--val-split"] {
            for value in ["nan", "inf", "-inf", "1e309", "-1", "1e300", "abc"] {
                cases.append(FuzzCase([Self.file: Array("\(flag)\n\(value)\n".utf8)], origin: "hostile: \(flag) \(value)"))
            }
        }
        for value in ["99999999999", "2147483648", "0", "-1", "abc", "9223372036854775808", ""] {
            cases.append(FuzzCase([Self.file: Array("ENV STRATA_THREADS=\(value)\n".utf8)], origin: "hostile: STRATA_THREADS=\(value)"))
            cases.append(FuzzCase([Self.file: Array("ENV STRATA_MEMORY_BUDGET=\(value)\n".utf8)], origin: "hostile: STRATA_MEMORY_BUDGET=\(value)"))
        }
        return cases
    }

    func mutationScopes(_ fuzzCase: FuzzCase) -> [MutationScope] {
        [MutationScope(file: Self.file, headerLength: fuzzCase.files[Self.file]?.count ?? 0)]
    }

    /// A case's flag (or `ENV`) and value, when it is two lines of text.
    static func parse(_ bytes: [UInt8]) -> (flag: String, value: String)? {
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.count >= 1, lines[0].hasPrefix("ENV "), lines[0].count > 4 { return ("ENV", String(lines[0].dropFirst(4))) }
        guard lines.count >= 2, flags.contains(lines[0]), !lines[1].contains("\0") else { return nil }
        return (lines[0], lines[1])
    }

    func admits(_ fuzzCase: FuzzCase, seed: FuzzCase) -> Bool {
        // A mutation that breaks the two-line form is not a number case.
        Self.parse(fuzzCase.files[Self.file] ?? []) != nil
    }

    func judge(_ fuzzCase: FuzzCase, in directory: URL) -> [String: Verdict] {
        guard let (flag, value) = Self.parse(fuzzCase.files[Self.file] ?? []) else { return [:] }
        if flag == "ENV" {
            let name = String(value.prefix { $0 != "=" })
            return ["parse": .either(mustName: name)]
        }
        // Counts that no range could allow: not a decimal number, below 1, or above 2^53 (for --limit, which a
        // dataset caps as PyTorch's Subset would, only the first two).
        if Self.counts.contains(flag) {
            let absurd = Int(value).map { $0 < 1 || ($0 > 1 << 53 && flag != "--limit") } ?? true
            if absurd { return ["parse": .invalid(reason: "\(flag) \(value) is not a count in range", mustName: flag)] }
        }
        return ["parse": .either(mustName: flag)]
    }

    func run(_ check: String, in directory: URL) throws -> String? {
        throw FuzzError("the cli target has no library check")
    }

    func commands(in directory: URL) -> [FuzzCommand] {
        guard let bytes = try? Data(contentsOf: directory.appendingPathComponent(Self.file)),
              let (flag, value) = Self.parse([UInt8](bytes)) else { return [FuzzCommand(check: "parse", arguments: Self.base)] }
        if flag == "ENV" {
            let name = String(value.prefix { $0 != "=" }), setting = String(value.drop { $0 != "=" }.dropFirst())
            return [FuzzCommand(check: "parse", arguments: Self.base, environment: [name: setting], tolerated: ["loss became"])]
        }
        var arguments = Self.base
        if let at = arguments.firstIndex(of: flag) { arguments.removeSubrange(at...at + 1) }
        // Any count in range is a run someone may ask for: 65535 epochs over four examples is long but valid.
        return [FuzzCommand(check: "parse", arguments: arguments + [flag, value], tolerated: ["loss became"], mayRunLong: true)]
    }
}
