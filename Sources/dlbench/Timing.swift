import Foundation

/// How a step is timed: `warmup` untimed calls, then `steps` calls timed one by one; the median counts.
struct Timing {
    static let defaultWarmup = 5
    static let defaultSteps = 30

    var warmup: Int
    var steps: Int

    /// Median wall time of one call of `body`, in seconds.
    func median(_ body: () -> Void) -> Double {
        for _ in 0..<warmup { body() }
        return Self.median((0..<steps).map { _ in Self.seconds(body) })
    }

    /// Wall time of one call of `body`, in seconds, on the monotonic clock.
    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// The middle value; the mean of the two middle values for an even count (as Python's `statistics.median`).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
}
