import CStrataKernels
import Foundation

/// An instruction-set level that Strata's Float32 kernels (the C target `CStrataKernels`) are compiled for.
///
/// Each kernel is written once and compiled for every level; the level in use (`Strata.instructionSet`) is
/// chosen once, at first use: the widest this CPU and its OS run, or the one `STRATA_ISA` names. On CPUs
/// other than x86-64 only `.baseline`, the portable build, exists.
public enum KernelISA: String, CaseIterable, Sendable, CustomStringConvertible {
    /// x86-64 as every such CPU has it (SSE2, 4 Float32 lanes); the portable build elsewhere.
    case baseline
    /// AVX2 with FMA (8 lanes).
    case avx2
    /// AVX-512 F, BW, VL and DQ with FMA (16 lanes).
    case avx512

    /// Whether this CPU and its OS run code of this level (CPUID, and XGETBV for the saved register state).
    public var isSupported: Bool { strata_isa_is_supported(cValue) != 0 }

    /// Float32 lanes in one vector of this level.
    public var lanes: Int {
        switch self {
        case .baseline: 4
        case .avx2: 8
        case .avx512: 16
        }
    }

    /// The level's name, as `STRATA_ISA` spells it.
    public var description: String { rawValue }

    /// The widest level this CPU runs.
    public static var best: KernelISA { allCases.last(where: \.isSupported) ?? .baseline }

    var cValue: StrataISA {
        switch self {
        case .baseline: STRATA_ISA_BASELINE
        case .avx2: STRATA_ISA_AVX2
        case .avx512: STRATA_ISA_AVX512
        }
    }

    /// The environment variable that forces a level.
    public static let environmentVariable = "STRATA_ISA"

    /// The level `STRATA_ISA` asks for, or nil when it is unset or empty.
    ///
    /// Call it at start-up to refuse a bad value instead of running on the fallback level: `dltrain` and
    /// `dlbench` exit with status 64 naming the variable and its value.
    /// - Throws: `KernelISAError` when the value is not a level's name, or names a level this CPU lacks.
    public static func requested(environment: [String: String] = ProcessInfo.processInfo.environment) throws
        -> KernelISA? {
        guard let value = environment[environmentVariable], !value.isEmpty else { return nil }
        guard let level = KernelISA(rawValue: value) else { throw KernelISAError.unknownLevel(value) }
        guard level.isSupported else { throw KernelISAError.unsupportedLevel(level, best: best) }
        return level
    }

    /// The level in use, chosen at first use: `STRATA_ISA`'s when it names a level this CPU runs, else the
    /// best level. A value that is not a level's name, or names a level this CPU lacks, falls back to the
    /// best level with a one-line warning on standard error (never an illegal instruction).
    static let selected: KernelISA = {
        do {
            return try requested() ?? best
        } catch {
            FileHandle.standardError.write(Data("strata: warning: \(error); using \(best)\n".utf8))
            return best
        }
    }()
}

/// A `STRATA_ISA` value that cannot be used.
public enum KernelISAError: Error, Equatable, CustomStringConvertible {
    /// The value is not `baseline`, `avx2` or `avx512`.
    case unknownLevel(String)
    /// The value names a level this CPU (or its OS) does not run; `best` is the widest it does.
    case unsupportedLevel(KernelISA, best: KernelISA)

    /// The error, naming `STRATA_ISA` and its value.
    public var description: String {
        let names = KernelISA.allCases.map(\.rawValue).joined(separator: ", ")
        switch self {
        case let .unknownLevel(value):
            return "\(KernelISA.environmentVariable)=\(value) is not one of \(names)"
        case let .unsupportedLevel(level, best):
            return "\(KernelISA.environmentVariable)=\(level) is not supported by this CPU (its best level is \(best))"
        }
    }
}
