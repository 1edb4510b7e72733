import Foundation
import Strata
#if canImport(Glibc)
import Glibc
#endif

/// The child process: runs cases through the library, one per line of standard input, so that a trap kills it
/// and not the driver. Each request is `TARGET<tab>CHECK<tab>DIRECTORY`; each answer one line,
/// `accepted<tab>SUMMARY` or `refused<tab>ERROR TYPE<tab>MESSAGE`. The driver has written the case to disk
/// before sending it, so a crash leaves its reproducer.
enum Child {
    /// The child's environment: one thread (deterministic and cheap) and a memory budget far below the
    /// machine's, so a size check that is missing shows as an allocation of more than `addressSpaceLimit`.
    static let environment = ["STRATA_THREADS": "1", "STRATA_MEMORY_BUDGET": "256M"]
    /// The child's address-space limit: an allocation sized from a file without a check (gigabytes from a
    /// few bytes) fails there and kills the child, instead of succeeding on a machine with the memory.
    static let addressSpaceLimit = 8 << 30

    static func serve(targets: [any FuzzTarget]) -> Int32 {
        var limit = rlimit(rlim_cur: rlim_t(addressSpaceLimit), rlim_max: rlim_t(addressSpaceLimit))
        _ = setrlimit(Int32(RLIMIT_AS.rawValue), &limit)
        let byName = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0) })
        while let line = readLine() {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, let target = byName[fields[0]] else {
                answer("protocol-error\t\(line)")
                continue
            }
            do {
                let summary = try target.run(fields[1], in: URL(fileURLWithPath: fields[2]))
                answer("accepted\t\(oneLine(summary ?? "-"))")
            } catch {
                answer("refused\t\(String(reflecting: type(of: error)))\t\(oneLine(String(describing: error)))")
            }
        }
        return 0
    }

    private static func answer(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func oneLine(_ text: String) -> String {
        text.map { $0 == "\n" || $0 == "\t" || $0 == "\r" ? " " : String($0) }.joined()
    }
}
