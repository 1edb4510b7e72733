/// An n-dimensional array with row-major strides, the unit every op consumes and produces.
///
/// Tensors have reference semantics, like PyTorch's: views share their storage with the tensor they
/// came from, and an optimizer updates a parameter's buffer in place. Each tensor that an op produces from
/// inputs that require gradients carries the tape node that made it (`gradFn`), so `backward()` can walk
/// the graph back to the leaves.
///
/// Metadata (shape, strides, dtype) never changes after creation. The buffer's contents are not
/// synchronised: as in PyTorch, do not write a tensor from one thread while another reads it.
public final class Tensor: @unchecked Sendable {
    /// The size of each dimension.
    public let shape: [Int]
    /// The distance, in elements, between neighbours along each dimension. Zero for broadcast dimensions.
    public let strides: [Int]
    /// The element type.
    public let dtype: DType
    /// Element offset of this view's first element inside `storage`.
    let offset: Int
    let storage: TensorStorage
    /// Whether the elements are laid out densely in row-major order from `offset`.
    public let isContiguous: Bool

    /// The tape node that produced this tensor; `nil` for leaves and for results computed without grad.
    var gradFn: GradNode?

    /// Whether gradients flow to this tensor. Only leaves (tensors no op produced) may be marked.
    public var requiresGrad: Bool {
        didSet {
            require(gradFn == nil, "requiresGrad: can only be set on a leaf tensor (this one came from \(gradFn!.op))")
            require(!requiresGrad || dtype.isFloatingPoint, "requiresGrad: only floating-point tensors have gradients, got \(dtype)")
        }
    }

    /// The accumulated gradient of a leaf after `backward()`; `nil` until then.
    public var grad: Tensor?

    init(storage: TensorStorage, shape: [Int], strides: [Int], offset: Int, dtype: DType) {
        self.storage = storage
        self.shape = shape
        self.strides = strides
        self.offset = offset
        self.dtype = dtype
        self.isContiguous = Shape.isContiguous(shape: shape, strides: strides)
        self.requiresGrad = false
    }

    /// A new contiguous tensor whose elements are not initialised. Every caller writes all of them.
    init(uninitialized shape: [Int], dtype: DType) {
        require(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in shape \(shape)")
        let count = Shape.count(shape)
        self.storage = TensorStorage(byteCount: count * dtype.size)
        self.shape = shape
        self.strides = Shape.contiguousStrides(shape)
        self.offset = 0
        self.dtype = dtype
        self.isContiguous = true
        self.requiresGrad = false
    }

    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// The number of elements.
    public var count: Int { Shape.count(shape) }

    /// Whether the tape tracks this tensor: it is a leaf that requires grad or came from one.
    public var isTracked: Bool { requiresGrad || gradFn != nil }

    /// A typed pointer to this view's first element. The caller must know `dtype` is `T`'s.
    @inline(__always)
    func pointer<T>(_: T.Type = T.self) -> UnsafeMutablePointer<T> {
        storage.base.assumingMemoryBound(to: T.self) + offset
    }

    /// Dimension index with negative values counting from the end, checked against `rank`.
    func axis(_ dim: Int, op: String, rank: Int? = nil) -> Int {
        let r = rank ?? self.rank
        let d = dim < 0 ? dim + r : dim
        require(d >= 0 && d < Swift.max(r, 1), "\(op): dim \(dim) out of range for a tensor of shape \(shape)")
        return d
    }
}

extension Tensor: CustomStringConvertible {
    /// The shape, the dtype and, for 16 elements or fewer, the values.
    public var description: String {
        let values = count <= 16 ? toDoubles().map { "\($0)" }.joined(separator: ", ") : "…"
        return "Tensor(shape: \(shape), dtype: \(dtype), [\(values)])"
    }
}
