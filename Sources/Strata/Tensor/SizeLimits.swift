import Foundation
import Synchronization

/// A size computed from numbers that came from outside (a file header, a model spec, checkpoint metadata,
/// a flag) that cannot be honoured: it overflows `Int`, or it would allocate more than `MemoryBudget` allows.
public struct SizeLimitError: Error, Equatable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// An intermediate product or sum does not fit in `Int`.
        case overflow
        /// The allocation would take `bytes`, more than the budget of `budget` bytes.
        case overBudget(bytes: Int, budget: Int)
    }

    /// What was being sized, in the caller's words: `"image 16777216×16777216×1"`, `"Linear out_features"`.
    public var what: String
    public var kind: Kind

    public init(_ what: String, _ kind: Kind) {
        self.what = what
        self.kind = kind
    }

    public var description: String {
        switch kind {
        case .overflow:
            return "\(what): the size overflows a 64-bit integer"
        case let .overBudget(bytes, budget):
            return "\(what): needs \(MemoryBudget.describe(bytes)), more than the memory budget of "
                + "\(MemoryBudget.describe(budget)) (STRATA_MEMORY_BUDGET)"
        }
    }
}

/// Overflow-checked size arithmetic for numbers from outside. Every failure is thrown, nothing traps.
/// The one place such sizes are computed: readers, the model-spec builder and checkpoint validation call it.
public enum CheckedSize {
    public static func add(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(SizeLimitError) -> Int {
        let (sum, overflow) = a.addingReportingOverflow(b)
        if overflow { throw SizeLimitError(what(), .overflow) }
        return sum
    }

    public static func multiply(_ a: Int, _ b: Int, _ what: @autoclosure () -> String) throws(SizeLimitError) -> Int {
        let (product, overflow) = a.multipliedReportingOverflow(by: b)
        if overflow { throw SizeLimitError(what(), .overflow) }
        return product
    }

    /// The product of `values` (1 for none).
    public static func product(_ values: some Sequence<Int>, _ what: @autoclosure () -> String) throws(SizeLimitError) -> Int {
        var result = 1
        for value in values { result = try multiply(result, value, what()) }
        return result
    }

    /// The bytes of `count` elements of `dtype`, refused when it overflows or exceeds `MemoryBudget.bytes`.
    /// Call it before allocating anything whose size came from outside.
    @discardableResult
    public static func allocation(_ count: Int, of dtype: DType, _ what: @autoclosure () -> String) throws(SizeLimitError) -> Int {
        try allocation(bytes: multiply(count, dtype.size, what()), what())
    }

    /// `bytes`, refused when it exceeds `MemoryBudget.bytes`.
    @discardableResult
    public static func allocation(bytes: Int, _ what: @autoclosure () -> String) throws(SizeLimitError) -> Int {
        let budget = MemoryBudget.bytes
        if bytes > budget { throw SizeLimitError(what(), .overBudget(bytes: bytes, budget: budget)) }
        return bytes
    }
}

/// The most memory that one thing sized from outside (a tensor in a file, an image, a model's parameters)
/// may ask for.
///
/// Defaults to half the machine's physical memory, or to `STRATA_MEMORY_BUDGET` when that is set: a byte count
/// with an optional `K`, `M`, `G` or `T` suffix (powers of 1024), for example `512M`. A value that does not
/// parse, or is zero, is ignored with a one-line warning on standard error and the default applies
/// (`requested()` throws for it).
public enum MemoryBudget {
    /// The environment variable that sets the budget.
    public static let environmentVariable = "STRATA_MEMORY_BUDGET"
    private static let override = Atomic<Int>(0)
    private static let fromEnvironment: Int = resolve(ProcessInfo.processInfo.environment)

    /// The budget in bytes. Setting it overrides the environment for the rest of the process.
    public static var bytes: Int {
        get {
            let value = override.load(ordering: .relaxed)
            return value > 0 ? value : fromEnvironment
        }
        set {
            require(newValue > 0, "MemoryBudget.bytes: must be positive, got \(newValue)")
            override.store(newValue, ordering: .relaxed)
        }
    }

    /// Half the physical memory.
    public static var defaultBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory / 2) }

    /// Parses a budget (`"1073741824"`, `"512M"`, `"2G"`); nil when it is not a positive size that fits in `Int`.
    public static func parse(_ text: String) -> Int? {
        let units: [Character: Int] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        var digits = Substring(text)
        var scale = 1
        if let last = digits.last, let unit = units[Character(last.uppercased())] {
            scale = unit
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let value = Int(digits), value > 0 else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }

    /// `1536` → `"1.5 KiB"`: a byte count for a message.
    static func describe(_ bytes: Int) -> String {
        let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes), unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) bytes" : "\(String(format: "%.1f", value)) \(units[unit])"
    }

    /// The budget `STRATA_MEMORY_BUDGET` asks for, or nil when it is unset or empty.
    ///
    /// Call it at start-up to refuse a bad value instead of running on the default: `dltrain` exits with status
    /// 64 naming the variable and its value.
    /// - Throws: `EnvironmentError` when the value is not a positive byte count that fits in `Int`.
    public static func requested(environment: [String: String] = ProcessInfo.processInfo.environment)
        throws(EnvironmentError) -> Int? {
        guard let text = environment[environmentVariable], !text.isEmpty else { return nil }
        guard let bytes = parse(text) else {
            throw EnvironmentError(variable: environmentVariable, value: text, expected: "a positive byte count (e.g. 512M, 2G)")
        }
        return bytes
    }

    private static func resolve(_ environment: [String: String]) -> Int {
        do { return try requested(environment: environment) ?? defaultBytes } catch {
            FileHandle.standardError.write(Data("strata: warning: \(error); using half the physical memory\n".utf8))
            return defaultBytes
        }
    }
}
