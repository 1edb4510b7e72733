/// Views share storage with their source: permute/transpose, slicing, expand, squeeze, unsqueeze and reshape
/// (when the strides allow; see `reshaped`) never copy elements. Each records a pullback that maps the
/// gradient back.
extension Tensor {
    /// A view with the same elements in row-major order and a new shape; one dimension may be `-1`.
    /// As `torch.reshape`, a strided tensor is viewed too when the new shape only splits or merges dims
    /// that are laid out one inside the other (splitting the last dim of a column slice, for example);
    /// otherwise the elements are copied.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        let resolved = Shape.resolve(newShape, count: count, op: "reshape", from: shape)
        if resolved == shape { return self }
        if !isContiguous, let viewStrides = Shape.viewStrides(shape: shape, strides: strides, as: resolved) {
            return reshapedView(resolved, strides: viewStrides)
        }
        let source = contiguous()
        let view = Tensor(storage: source.storage, shape: resolved, strides: Shape.contiguousStrides(resolved),
                          offset: source.offset, dtype: dtype)
        let original = shape
        return Tensor.differentiable("reshape", inputs: [source], output: view) { g in [g.reshaped(original)] }
    }

    /// Flattens dimensions `start...end` into one, as `torch.flatten`.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        guard rank > 0 else { return reshaped([1]) }
        let s = axis(start, op: "flatten"), e = axis(end, op: "flatten")
        require(s <= e, "flatten: start dim \(start) is after end dim \(end) for shape \(shape)")
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Reorders dimensions: result dimension `i` is this tensor's dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        let order = order.map { axis($0, op: "permute") }
        require(order.count == rank && Set(order).count == rank,
                     "permute: \(order) is not a permutation of the \(rank) dims of shape \(shape)")
        let view = Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] },
                          offset: offset, dtype: dtype)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, d) in order.enumerated() { inverse[d] = i }
        return Tensor.differentiable("permute", inputs: [self], output: view) { g in [g.permuted(inverse)] }
    }

    /// Swaps two dimensions (by default the last two): a view, no copy.
    public func transposed(_ dim0: Int = -2, _ dim1: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(axis(dim0, op: "transpose"), axis(dim1, op: "transpose"))
        return permuted(order)
    }

    /// Inserts a dimension of size 1 at `dim` (which may be `rank`).
    public func unsqueezed(_ dim: Int) -> Tensor {
        let d = axis(dim, op: "unsqueeze", rank: rank + 1)
        var newShape = shape
        newShape.insert(1, at: d)
        return reshapedView(newShape, strides: { var s = strides; s.insert(d < rank ? strides[d] * shape[d] : 1, at: d); return s }())
    }

    /// Removes dimension `dim` if it has size 1, or every size-1 dimension when `dim` is `nil`.
    public func squeezed(_ dim: Int? = nil) -> Tensor {
        if rank == 0 {
            if let dim { _ = axis(dim, op: "squeeze") }
            return self
        }
        let dims: [Int] = dim.map { d in
            let a = axis(d, op: "squeeze")
            return shape[a] == 1 ? [a] : []
        } ?? shape.indices.filter { shape[$0] == 1 }
        let keep = shape.indices.filter { !dims.contains($0) }
        return reshapedView(keep.map { shape[$0] }, strides: keep.map { strides[$0] })
    }

    /// A view that repeats size-1 dimensions to `newShape` without copying (stride 0), as `torch.expand`.
    public func expanded(to newShape: [Int]) -> Tensor {
        require(Shape.broadcast(shape, newShape, op: "expand") == newShape,
                     "expand: shape \(shape) cannot be expanded to \(newShape)")
        if newShape == shape { return self }
        let view = Tensor(storage: storage, shape: newShape,
                          strides: Shape.broadcastStrides(shape: shape, strides: strides, to: newShape),
                          offset: offset, dtype: dtype)
        let original = shape
        return Tensor.differentiable("expand", inputs: [self], output: view) { g in [g.sum(toShape: original)] }
    }

    /// Elements `range` along `dim`, as a view (`x[:, 2:5]` in PyTorch).
    public func slice(_ dim: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        let d = axis(dim, op: "slice")
        require(range.lowerBound >= 0 && range.upperBound <= shape[d] && step >= 1,
                     "slice: range \(range) step \(step) out of bounds for dim \(dim) of shape \(shape)")
        var newShape = shape, newStrides = strides
        newShape[d] = (range.count + step - 1) / step
        newStrides[d] = strides[d] * step
        let view = Tensor(storage: storage, shape: newShape, strides: newStrides,
                          offset: offset + (range.isEmpty ? 0 : range.lowerBound * strides[d]), dtype: dtype)
        let original = shape
        return Tensor.differentiable("slice", inputs: [self], output: view) { g in
            [Tensor.sliceBackward(g, shape: original, dim: d, range: range, step: step)]
        }
    }

    /// Element `index` along `dim`, with that dimension removed (`x[:, 3]`).
    public func select(_ dim: Int, _ index: Int) -> Tensor {
        let d = axis(dim, op: "select")
        let i = index < 0 ? index + shape[d] : index
        require(i >= 0 && i < shape[d], "select: index \(index) out of range for dim \(dim) of shape \(shape)")
        return slice(d, i..<(i + 1)).squeezed(d)
    }

    /// Zeros of `shape` with `g` written into the sliced positions.
    static func sliceBackward(_ g: Tensor, shape: [Int], dim: Int, range: Range<Int>, step: Int) -> Tensor {
        let full = Tensor.zeros(shape, dtype: g.dtype)
        var windowStrides = full.strides
        windowStrides[dim] *= step
        let window = Tensor(storage: full.storage, shape: g.shape, strides: windowStrides,
                            offset: range.isEmpty ? 0 : range.lowerBound * full.strides[dim], dtype: g.dtype)
        window.assign(g)
        return full
    }

    /// A view with new shape and strides over the same elements, recording a reshape back for gradients.
    private func reshapedView(_ newShape: [Int], strides newStrides: [Int]) -> Tensor {
        let view = Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset, dtype: dtype)
        let original = shape
        return Tensor.differentiable("reshape", inputs: [self], output: view) { g in [g.reshaped(original)] }
    }

    /// Overwrites this tensor's elements with `source`'s (broadcast to this shape, converted to this dtype),
    /// in place and off the tape, as PyTorch's `copy_` under `no_grad`.
    public func copy(from source: Tensor) {
        // Several elements sharing one location (an expanded view) would be written by racing threads.
        require(!zip(shape, strides).contains { $0 > 1 && $1 == 0 },
                "copy: destination of shape \(shape) (strides \(strides)) has elements sharing memory; source shape \(source.shape)")
        assign(source.to(dtype))
    }
}

extension Shape {
    /// Fills in a `-1` dimension and checks the element count, naming the op and both shapes.
    static func resolve(_ shape: [Int], count: Int, op: String, from original: [Int]) -> [Int] {
        let unknown = shape.indices.filter { shape[$0] == -1 }
        require(unknown.count <= 1 && shape.allSatisfy { $0 >= -1 }, "\(op): invalid shape \(shape)")
        var resolved = shape
        if let u = unknown.first {
            let known = shape.filter { $0 != -1 }.reduce(1, *)
            require(known > 0 && count % known == 0, "\(op): cannot view shape \(original) as \(shape)")
            resolved[u] = count / known
        }
        require(Shape.count(resolved) == count, "\(op): cannot view shape \(original) (\(count) elements) as \(shape)")
        return resolved
    }
}
