import Foundation

/// Seeded byte-level mutations: bit flips, byte sets, inserts, deletes, truncation, splices with another seed,
/// and integer-boundary substitutions, both in ASCII numbers (JSON, metadata strings, Netpbm headers) and as
/// binary integers (length fields, IDX dimensions).
enum Mutator {
    /// Integers and non-integers at the edges: what overflows, what a parser might take for an integer, and
    /// what a float conversion traps on.
    static let boundaryLiterals = [
        "0", "1", "-1", "2", "255", "256", "65535", "65536", "16777216", "2147483647", "2147483648", "4294967295",
        "4294967296", "9007199254740992", "9007199254740993", "9223372036854775807", "9223372036854775808",
        "-9223372036854775808", "18446744073709551615", "18446744073709551616", "99999999999999999999999",
        "1e300", "-1e300", "1e-300", "NaN", "nan", "inf", "-inf", "1.5", "0.0", "-0", "1e3", "+1", "0x10", "",
    ]

    static let boundaryIntegers: [UInt64] = [
        0, 1, 2, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 1 << 24, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
        1 << 32, 1 << 53, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF,
    ]

    /// Bytes that change a parser's path: JSON punctuation, sign, exponent, escape, NUL, high bytes.
    static let interestingBytes: [UInt8] = Array("\"{}[]:,-+.eE\\0 \n#".utf8) + [0x00, 0x7F, 0x80, 0xC0, 0xFF]

    /// One to three mutations of `bytes` (`header` bytes long at its start), described for the case's origin.
    static func mutate(_ bytes: [UInt8], header: Int, splices: [[UInt8]], _ random: inout FuzzRandom) -> ([UInt8], String) {
        var data = bytes
        var notes: [String] = []
        for _ in 0..<random.within(1...3) {
            notes.append(mutateOnce(&data, header: min(header, data.count), splices: splices, &random))
        }
        return (data, notes.joined(separator: ", "))
    }

    /// A position biased to the header half of the time.
    private static func position(in data: [UInt8], header: Int, _ random: inout FuzzRandom, inclusiveEnd: Bool = false) -> Int {
        let end = data.count + (inclusiveEnd ? 1 : 0)
        guard end > 0 else { return 0 }
        if header > 0 && random.chance(0.5) { return random.below(min(header + (inclusiveEnd ? 1 : 0), end)) }
        return random.below(end)
    }

    private static func mutateOnce(_ data: inout [UInt8], header: Int, splices: [[UInt8]], _ random: inout FuzzRandom) -> String {
        switch random.below(10) {
        case 0, 1:
            guard !data.isEmpty else { fallthrough }
            let at = position(in: data, header: header, &random), bit = random.below(8)
            data[at] ^= 1 << bit
            return "flip@\(at).\(bit)"
        case 2:
            guard !data.isEmpty else { fallthrough }
            let at = position(in: data, header: header, &random)
            let value = random.chance(0.5) ? random.pick(interestingBytes) : UInt8(random.below(256))
            data[at] = value
            return "set@\(at)=\(value)"
        case 3:
            let at = position(in: data, header: header, &random, inclusiveEnd: true)
            let inserted: [UInt8]
            if !data.isEmpty && random.chance(0.5) {
                let start = random.below(data.count)
                inserted = Array(data[start..<min(data.count, start + random.within(1...16))])
            } else {
                inserted = random.bytes(random.within(1...8))
            }
            data.insert(contentsOf: inserted, at: at)
            return "insert@\(at)+\(inserted.count)"
        case 4:
            guard !data.isEmpty else { fallthrough }
            let at = position(in: data, header: header, &random)
            let count = min(data.count - at, random.within(1...32))
            data.removeSubrange(at..<at + count)
            return "delete@\(at)-\(count)"
        case 5:
            let at = position(in: data, header: header, &random, inclusiveEnd: true)
            data.removeSubrange(at...)
            return "truncate@\(at)"
        case 6:
            guard let other = splices.isEmpty ? nil : random.pick(splices), !other.isEmpty else { fallthrough }
            let cut = position(in: data, header: header, &random, inclusiveEnd: true), from = random.below(other.count)
            data = Array(data[..<cut]) + other[from...]
            return "splice@\(cut)<-\(from)"
        case 7, 8:
            if let note = substituteNumber(&data, header: header, &random) { return note }
            fallthrough
        default:
            return substituteBinary(&data, header: header, &random)
        }
    }

    /// Replaces one run of ASCII digits (with its sign, fraction and exponent) in the header with a boundary
    /// literal, or its value ± 1.
    private static func substituteNumber(_ data: inout [UInt8], header: Int, _ random: inout FuzzRandom) -> String? {
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        var runs: [Range<Int>] = []
        var i = 0
        let end = header > 0 ? header : data.count
        while i < end {
            guard isDigit(data[i]) else { i += 1; continue }
            var start = i
            if start > 0 && data[start - 1] == UInt8(ascii: "-") { start -= 1 }
            while i < data.count, isDigit(data[i]) || data[i] == UInt8(ascii: ".") || data[i] == UInt8(ascii: "e")
                || data[i] == UInt8(ascii: "E") || ((data[i] == UInt8(ascii: "-") || data[i] == UInt8(ascii: "+"))
                    && (data[i - 1] == UInt8(ascii: "e") || data[i - 1] == UInt8(ascii: "E"))) { i += 1 }
            runs.append(start..<i)
        }
        guard !runs.isEmpty else { return nil }
        let run = random.pick(runs)
        let old = String(decoding: data[run], as: UTF8.self)
        var literal = random.pick(boundaryLiterals)
        if random.chance(0.25), let value = Int(old) {
            literal = String(random.chance(0.5) ? value &+ 1 : value &- 1)
        }
        data.replaceSubrange(run, with: Array(literal.utf8))
        return "number@\(run.lowerBound):\(old)->\(literal)"
    }

    /// Writes a boundary integer of 1, 2, 4 or 8 bytes, little- or big-endian, at a header position.
    private static func substituteBinary(_ data: inout [UInt8], header: Int, _ random: inout FuzzRandom) -> String {
        guard !data.isEmpty else {
            data = random.bytes(random.within(1...8))
            return "replace-empty"
        }
        let width = random.pick([1, 2, 4, 8])
        let limit = max(1, (header > 0 ? header : data.count) - width + 1)
        let at = min(random.below(limit), max(0, data.count - width))
        var value = random.pick(boundaryIntegers)
        if random.chance(0.2) { value = ~value }
        let bigEndian = random.chance(0.5)
        for k in 0..<min(width, data.count - at) {
            let shift = bigEndian ? 8 * (width - 1 - k) : 8 * k
            data[at + k] = UInt8(truncatingIfNeeded: value >> UInt64(shift))
        }
        return "int\(width * 8)\(bigEndian ? "be" : "le")@\(at)=\(value)"
    }
}
