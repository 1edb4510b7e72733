/// Helpers on shapes and strides shared by every op.
enum Shape {
    static func count(_ shape: [Int]) -> Int { shape.reduce(1, *) }

    static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = running
            running *= max(shape[d], 1)
        }
        return strides
    }

    /// Strides that view a tensor of `shape` and `strides` as `newShape` (same count) without moving
    /// elements, or nil when there are none. Each run of old dims that are laid out one inside the other
    /// (`strides[d − 1] = shape[d]·strides[d]`) is one chunk of memory with a uniform step; the new dims
    /// must tile the chunks exactly, in order. Reference: PyTorch's `computeStride` (`TensorUtils.cpp`).
    static func viewStrides(shape: [Int], strides: [Int], as newShape: [Int]) -> [Int]? {
        guard !shape.isEmpty, count(shape) > 0 else { return nil }
        var newStrides = [Int](repeating: 0, count: newShape.count)
        var newDim = newShape.count - 1
        var chunkStride = strides[shape.count - 1]
        var (chunkCount, viewCount) = (1, 1)
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            chunkCount *= shape[d]
            // The chunk ends at d unless the dim before continues it (size-1 dims never break a chunk).
            guard d == 0 || (shape[d - 1] != 1 && strides[d - 1] != chunkCount * chunkStride) else { continue }
            while newDim >= 0 && (viewCount < chunkCount || newShape[newDim] == 1) {
                newStrides[newDim] = viewCount * chunkStride
                viewCount *= newShape[newDim]
                newDim -= 1
            }
            guard viewCount == chunkCount else { return nil }
            if d > 0 {
                chunkStride = strides[d - 1]
                (chunkCount, viewCount) = (1, 1)
            }
        }
        return newDim == -1 ? newStrides : nil
    }

    /// Row-major density; dimensions of size 1 may have any stride.
    static func isContiguous(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) where shape[d] != 1 {
            if shape[d] == 0 { return true }
            if strides[d] != expected { return false }
            expected *= shape[d]
        }
        return true
    }

    /// NumPy broadcasting of two shapes; stops with a message naming the op and both shapes.
    static func broadcast(_ a: [Int], _ b: [Int], op: String) -> [Int] {
        let rank = max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            require(x == y || x == 1 || y == 1, "\(op): shapes \(a) and \(b) are not broadcastable")
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// Strides that read a tensor of `shape`/`strides` as if it had `target` shape (stride 0 on broadcast dims).
    static func broadcastStrides(shape: [Int], strides: [Int], to target: [Int]) -> [Int] {
        let lead = target.count - shape.count
        var out = [Int](repeating: 0, count: target.count)
        for i in 0..<shape.count where shape[i] != 1 || target[lead + i] == 1 {
            out[lead + i] = shape[i] == 1 ? 0 : strides[i]
        }
        return out
    }

    /// Merges neighbouring dimensions that every operand walks contiguously, so loops run over as few
    /// and as long rows as possible. Returns the merged shape and each operand's merged strides.
    static func coalesce(_ shape: [Int], _ strides: [[Int]]) -> (shape: [Int], strides: [[Int]]) {
        guard !shape.isEmpty else { return ([1], strides.map { _ in [0] }) }
        var outShape = [shape[0]]
        var outStrides = strides.map { [$0[0]] }
        for d in 1..<shape.count {
            let mergeable = strides.indices.allSatisfy { k in
                outStrides[k][outStrides[k].count - 1] == strides[k][d] * shape[d]
            }
            if shape[d] == 1 { continue }
            if outShape[outShape.count - 1] == 1 {
                outShape[outShape.count - 1] = shape[d]
                for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][d] }
            } else if mergeable {
                outShape[outShape.count - 1] *= shape[d]
                for k in strides.indices { outStrides[k][outStrides[k].count - 1] = strides[k][d] }
            } else {
                outShape.append(shape[d])
                for k in strides.indices { outStrides[k].append(strides[k][d]) }
            }
        }
        return (outShape, outStrides)
    }

    /// Calls `body` once per innermost row of a strided walk over `shape`, with each operand's element
    /// offset of the row's start. The row length and inner strides are the last entries of `shape`/`strides`.
    /// Rows are split across threads when there are enough elements.
    static func forEachRow(_ shape: [Int], _ strides: [[Int]], grain: Int = 32_768,
                           _ body: (_ offsets: UnsafeBufferPointer<Int>) -> Void) {
        let rank = shape.count
        let rowLength = shape[rank - 1]
        let rows = count(shape) / max(rowLength, 1)
        guard rowLength > 0, rows > 0 else { return }
        let operands = strides.count
        parallelFor(rows, grain: max(1, grain / rowLength)) { range in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: operands) { offsets in
                for row in range {
                    var rest = row
                    for k in 0..<operands { offsets[k] = 0 }
                    for d in stride(from: rank - 2, through: 0, by: -1) {
                        let index = rest % shape[d]
                        rest /= shape[d]
                        for k in 0..<operands { offsets[k] += index * strides[k][d] }
                    }
                    body(UnsafeBufferPointer(offsets))
                }
            }
        }
    }
}
