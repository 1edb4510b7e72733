/// Reductions over one dimension of a contiguous buffer viewed as `[outer, length, inner]`.

/// An associative reduction: `identity` and `combine`, specialised per element type like `BinaryFunction`.
protocol ReduceFunction {
    static func identity<T: FloatElement>(_: T.Type) -> T
    static func combine<T: FloatElement>(_ a: T, _ b: T) -> T
}

enum SumReduce: ReduceFunction {
    static func identity<T: FloatElement>(_: T.Type) -> T { 0 }
    static func combine<T: FloatElement>(_ a: T, _ b: T) -> T { a + b }
}

enum MaxReduce: ReduceFunction {
    static func identity<T: FloatElement>(_: T.Type) -> T { -T.infinity }
    static func combine<T: FloatElement>(_ a: T, _ b: T) -> T { a > b || a.isNaN ? a : b }
}

enum MinReduce: ReduceFunction {
    static func identity<T: FloatElement>(_: T.Type) -> T { T.infinity }
    static func combine<T: FloatElement>(_ a: T, _ b: T) -> T { a < b || a.isNaN ? a : b }
}

/// Reduces a contiguous `[outer, length, inner]` buffer over its middle dimension into `[outer, inner]`.
///
/// When `inner == 1` each output is one contiguous run, reduced in eight independent lanes (so the
/// compiler vectorises it); otherwise whole rows of `inner` elements are combined at once.
/// The order of combination depends only on the shape, so results are the same on every run.
func reduceMiddle<R: ReduceFunction, T: FloatElement>(_: R.Type, _: T.Type, _ src: UnsafePointer<T>,
                                                      outer: Int, length: Int, inner: Int,
                                                      into dst: UnsafeMutablePointer<T>) {
    if inner == 1 {
        parallelFor(outer, grain: max(1, 32_768 / max(length, 1))) { range in
            for o in range { dst[o] = reduceRun(R.self, src + o * length, length) }
        }
        return
    }
    parallelFor(outer * inner, grain: 32_768 / max(length, 1) + 1) { range in
        // Work is split over flattened (outer, inner) positions; each chunk walks whole inner runs.
        var position = range.lowerBound
        while position < range.upperBound {
            let o = position / inner, start = position % inner
            let end = min(inner, start + (range.upperBound - position))
            let d = dst + o * inner
            let base = src + o * length * inner
            for i in start..<end { d[i] = R.identity(T.self) }
            for r in 0..<length {
                let row = base + r * inner
                for i in start..<end { d[i] = R.combine(d[i], row[i]) }
            }
            position += end - start
        }
    }
}

/// Reduces `count` contiguous elements with eight partial accumulators.
@inline(__always)
func reduceRun<R: ReduceFunction, T: FloatElement>(_: R.Type, _ p: UnsafePointer<T>, _ count: Int) -> T {
    var lanes = SIMD8<T>(repeating: R.identity(T.self))
    var i = 0
    while i + 8 <= count {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<T>.self)
        for l in 0..<8 { lanes[l] = R.combine(lanes[l], v[l]) }
        i += 8
    }
    var result = R.identity(T.self)
    for l in 0..<8 { result = R.combine(result, lanes[l]) }
    while i < count {
        result = R.combine(result, p[i])
        i += 1
    }
    return result
}
