import Foundation
import Synchronization

/// A seedable xoshiro256** generator. Its whole state is this value, so it can be saved and restored.
///
/// reference: Blackman & Vigna, "Scrambled linear pseudorandom number generators" (2018);
/// seeded with SplitMix64 as the authors recommend.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The generator's four 64-bit words.
    public var state: [UInt64]

    static let global = Mutex(RandomGenerator(seed: 0))

    /// A generator seeded from `seed` with SplitMix64.
    public init(seed: UInt64) {
        var mix = seed
        func splitMix() -> UInt64 {
            mix &+= 0x9E37_79B9_7F4A_7C15
            var z = mix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        state = [splitMix(), splitMix(), splitMix(), splitMix()]
    }

    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        let result = ((state[1] &* 5) << 7 | (state[1] &* 5) >> 57) &* 9
        let t = state[1] << 17
        state[2] ^= state[0]
        state[3] ^= state[1]
        state[1] ^= state[2]
        state[0] ^= state[3]
        state[2] ^= t
        state[3] = state[3] << 45 | state[3] >> 19
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A standard normal sample (Box–Muller).
    public mutating func nextNormal() -> Double {
        let u1 = 1 - nextUnit()  // in (0, 1], so the log is finite
        let u2 = nextUnit()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }
}

extension Strata {
    /// Runs `body` with exclusive use of the global generator.
    static func withGlobalGenerator<R>(_ body: (inout RandomGenerator) -> R) -> R {
        RandomGenerator.global.withLock { body(&$0) }
    }
}
