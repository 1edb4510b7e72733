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

// MARK: Selections (max/min with indices)

/// Picks one element of a run, as max or min do. `prefers` is strict, so the first of equal elements is
/// kept (PyTorch's tie rule), and a NaN is preferred to any number so it propagates like PyTorch's.
protocol ArgReduceFunction {
    static func prefers<T: FloatElement>(_ candidate: T, over best: T) -> Bool
}

enum MaxArgReduce: ArgReduceFunction {
    static func prefers<T: FloatElement>(_ candidate: T, over best: T) -> Bool {
        candidate > best || (candidate.isNaN && !best.isNaN)
    }
}

enum MinArgReduce: ArgReduceFunction {
    static func prefers<T: FloatElement>(_ candidate: T, over best: T) -> Bool {
        candidate < best || (candidate.isNaN && !best.isNaN)
    }
}

/// Selects over the middle dimension of a contiguous `[outer, length, inner]` buffer (`length ≥ 1`),
/// writing the chosen values and their int64 positions along that dimension, both `[outer, inner]`.
func argReduceMiddle<R: ArgReduceFunction, T: FloatElement>(_: R.Type, _: T.Type, _ src: UnsafePointer<T>,
                                                            outer: Int, length: Int, inner: Int,
                                                            values: UnsafeMutablePointer<T>,
                                                            indices: UnsafeMutablePointer<Int64>) {
    require(length >= 1, "argReduceMiddle: empty reduction")
    if inner == 1 {
        parallelFor(outer, grain: max(1, 32_768 / length)) { range in
            for o in range {
                let run = src + o * length
                var best = run[0], index = 0
                for j in 1..<length where R.prefers(run[j], over: best) {
                    best = run[j]
                    index = j
                }
                values[o] = best
                indices[o] = Int64(index)
            }
        }
        return
    }
    parallelFor(outer * inner, grain: 32_768 / length + 1) { range in
        // As in `reduceMiddle`: chunks of flattened (outer, inner) positions, each walking whole rows.
        var position = range.lowerBound
        while position < range.upperBound {
            let o = position / inner, start = position % inner
            let end = min(inner, start + (range.upperBound - position))
            let base = src + o * length * inner
            let v = values + o * inner, ix = indices + o * inner
            for i in start..<end {
                v[i] = base[i]
                ix[i] = 0
            }
            for r in 1..<length {
                let row = base + r * inner
                for i in start..<end where R.prefers(row[i], over: v[i]) {
                    v[i] = row[i]
                    ix[i] = Int64(r)
                }
            }
            position += end - start
        }
    }
}

/// Writes `src` (`[outer, inner]`) into a zeroed contiguous `[outer, length, inner]` buffer at the
/// positions `indices` (`[outer, inner]`) along the middle dimension: the gradient of a selection.
func scatterMiddle<T: FloatElement>(_: T.Type, _ src: UnsafePointer<T>, indices: UnsafePointer<Int64>,
                                    outer: Int, length: Int, inner: Int, into dst: UnsafeMutablePointer<T>) {
    for o in 0..<outer {
        let s = src + o * inner, ix = indices + o * inner, d = dst + o * length * inner
        for i in 0..<inner { d[Int(ix[i]) * inner + i] = s[i] }
    }
}
