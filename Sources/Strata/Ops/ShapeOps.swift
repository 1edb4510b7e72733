/// Ops that rearrange whole blocks of elements: concatenation, stacking, splitting and constant padding.
///
/// Forward kernels copy through `assign(_:)`, which walks coalesced rows and copies contiguous runs with
/// one `update(from:count:)` each. `dim` may be negative everywhere (counting from the end).
/// Float pieces get gradients; int64 and bool pieces are copied without.
extension Tensor {
    // MARK: cat / stack

    /// Concatenates tensors along an existing dimension, as `torch.cat`.
    ///
    /// `[…, n₀, …] ⧺ […, n₁, …] ⧺ … → […, Σnᵢ, …]`: every piece has the first one's rank and dtype, and its
    /// shape outside `dim`. Pieces may be empty along `dim`. The result is a new contiguous tensor.
    /// The gradient of piece `i` is the slice of the output gradient it was copied to.
    public static func cat(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        require(!tensors.isEmpty, "cat: needs at least one tensor")
        let first = tensors[0]
        require(first.rank > 0, "cat: zero-dimensional tensors cannot be concatenated (use stack)")
        let d = first.axis(dim, op: "cat")
        var outShape = first.shape
        outShape[d] = 0
        for t in tensors {
            require(t.dtype == first.dtype,
                         "cat: dtypes \(first.dtype) and \(t.dtype) differ (shapes \(first.shape) and \(t.shape))")
            require(t.rank == first.rank && t.shape.indices.allSatisfy { $0 == d || t.shape[$0] == first.shape[$0] },
                         "cat: shapes \(first.shape) and \(t.shape) differ outside dim \(dim)")
            outShape[d] += t.shape[d]
        }
        let out = Tensor(uninitialized: outShape, dtype: first.dtype)
        let sizes = tensors.map { $0.shape[d] }
        var starts: [Int] = []
        var start = 0
        for (t, n) in zip(tensors, sizes) {
            out.window(d, start, n).assign(t)
            starts.append(start)
            start += n
        }
        return differentiable("cat", inputs: tensors, output: out) { g in   // g: […, Σnᵢ, …]
            zip(starts, sizes).map { g.slice(d, $0..<($0 + $1)) }         // piece i: […, nᵢ, …]
        }
    }

    /// Stacks same-shaped tensors along a new dimension `dim` (in `-(rank+1)...rank`), as `torch.stack`.
    ///
    /// `n × [A, B] → [n, A, B]` for `dim = 0`; built as `cat` of unsqueezed pieces, so gradients come for free.
    public static func stack(_ tensors: [Tensor], dim: Int = 0) -> Tensor {
        require(!tensors.isEmpty, "stack: needs at least one tensor")
        let shape = tensors[0].shape
        for t in tensors {
            require(t.shape == shape, "stack: shapes \(shape) and \(t.shape) differ")
        }
        let d = tensors[0].axis(dim, op: "stack", rank: shape.count + 1)
        return cat(tensors.map { $0.unsqueezed(d) }, dim: d)
    }

    // MARK: split / chunk

    /// Splits into consecutive pieces of the given sizes along `dim`, as `torch.split(x, sizes)`.
    ///
    /// `[…, Σsᵢ, …] → [[…, s₀, …], […, s₁, …], …]`; each piece is a slice view sharing this tensor's storage.
    public func split(sizes: [Int], dim: Int = 0) -> [Tensor] {
        require(rank > 0, "split: cannot split a zero-dimensional tensor")
        let d = axis(dim, op: "split")
        require(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[d],
                     "split: sizes \(sizes) do not add up to \(shape[d]), the size of dim \(dim) of shape \(shape)")
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return slice(d, start..<(start + n))
        }
    }

    /// Splits into pieces of `size` along `dim` (the last may be smaller), as `torch.split(x, size)`.
    ///
    /// `[…, n, …] → ⌈n / size⌉` slice views; an empty dimension gives one empty piece.
    public func split(size: Int, dim: Int = 0) -> [Tensor] {
        require(rank > 0, "split: cannot split a zero-dimensional tensor")
        let d = axis(dim, op: "split")
        let n = shape[d]
        require(size > 0 || n == 0, "split: size \(size) must be positive (dim \(dim) of shape \(shape))")
        if n == 0 { return [slice(d, 0..<0)] }
        let pieces = (n + size - 1) / size
        return split(sizes: (0..<pieces).map { Swift.min(size, n - $0 * size) }, dim: d)
    }

    /// Splits into at most `count` pieces of `⌈n / count⌉` along `dim`, as `torch.chunk`.
    ///
    /// The last piece may be smaller and there may be fewer than `count` pieces (`5` into `4` gives `2, 2, 1`);
    /// an empty dimension gives `count` empty pieces. Each piece is a slice view.
    public func chunk(_ count: Int, dim: Int = 0) -> [Tensor] {
        require(count > 0, "chunk: count \(count) must be positive (shape \(shape))")
        require(rank > 0, "chunk: cannot chunk a zero-dimensional tensor")
        let d = axis(dim, op: "chunk")
        let n = shape[d]
        if n == 0 { return split(sizes: [Int](repeating: 0, count: count), dim: d) }
        return split(size: (n + count - 1) / count, dim: d)
    }

    // MARK: pad

    /// Pads every dimension with `value`: `before` elements in front and `after` behind, as a constant
    /// `torch.nn.functional.pad` but listed from the first dimension.
    ///
    /// `[n₀, n₁, …] → [b₀ + n₀ + a₀, b₁ + n₁ + a₁, …]`. Negative amounts crop. The gradient is the output
    /// gradient padded by the negated amounts (so the padding is cropped away and cropped parts get zero).
    /// - Parameters:
    ///   - padding: `(before, after)` pairs from the first dimension on; dimensions past the list are not padded.
    ///   - value: the fill value of the new elements.
    public func padded(_ padding: [(before: Int, after: Int)], value: Double = 0) -> Tensor {
        require(padding.count <= rank,
                     "pad: \(padding.count) (before, after) pairs for a tensor of shape \(shape); at most one per dim")
        let padding = padding + [(before: Int, after: Int)](repeating: (0, 0), count: rank - padding.count)
        let outShape = zip(shape, padding).map { $0 + $1.before + $1.after }
        require(outShape.allSatisfy { $0 >= 0 }, "pad: padding \(padding) of shape \(shape) gives a negative size \(outShape)")
        let out = Tensor.full(outShape, value, dtype: dtype)
        // Input elements [max(0, −before), n − max(0, −after)) land at output position max(0, before).
        var lengths: [Int] = [], sourceOffset = offset, targetOffset = 0
        for (k, p) in padding.enumerated() {
            let skip = Swift.max(0, -p.before)
            lengths.append(Swift.max(0, shape[k] - skip - Swift.max(0, -p.after)))
            sourceOffset += skip * strides[k]
            targetOffset += Swift.max(0, p.before) * out.strides[k]
        }
        if Shape.count(lengths) > 0 {
            let source = Tensor(storage: storage, shape: lengths, strides: strides, offset: sourceOffset, dtype: dtype)
            let target = Tensor(storage: out.storage, shape: lengths, strides: out.strides, offset: targetOffset, dtype: dtype)
            target.assign(source)
        }
        let negated = padding.map { (before: -$0.before, after: -$0.after) }
        return Tensor.differentiable("pad", inputs: [self], output: out) { g in [g.padded(negated)] }
    }

    /// Pads with `torch.nn.functional.pad`'s flat list, last dimension first:
    /// `[lastBefore, lastAfter, secondLastBefore, secondLastAfter, …]`.
    ///
    /// `x.padded(last: [1, 2])` on `[A, B]` gives `[A, 1 + B + 2]`; dimensions not listed are not padded.
    public func padded(last pads: [Int], value: Double = 0) -> Tensor {
        require(pads.count % 2 == 0 && pads.count / 2 <= rank,
                     "pad: \(pads.count) amounts for a tensor of shape \(shape); need an even number, at most \(2 * rank)")
        var padding = [(before: Int, after: Int)](repeating: (0, 0), count: rank)
        for k in 0..<(pads.count / 2) {
            padding[rank - 1 - k] = (pads[2 * k], pads[2 * k + 1])
        }
        return padded(padding, value: value)
    }

    // MARK: Helpers

    /// Elements `start..<start + length` along `d`, as a view off the tape (for kernels that write into it).
    func window(_ d: Int, _ start: Int, _ length: Int) -> Tensor {
        var s = shape
        s[d] = length
        return Tensor(storage: storage, shape: s, strides: strides,
                      offset: offset + (length == 0 ? 0 : start * strides[d]), dtype: dtype)
    }
}
