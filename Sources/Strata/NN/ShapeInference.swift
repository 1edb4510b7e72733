/// A layer that says, without running, what shape it returns and how many FLOPs it spends for an input
/// shape (Keras's `compute_output_shape`). Every built-in layer conforms, next to its forward pass; a
/// model spec reader, a model summary and `dltrain info` ask the layers rather than keep rules of their own.
///
/// Shapes are full shapes, batch included, exactly as `callAsFunction` takes them (`[N, C, H, W]` for a
/// `Conv2d`, or the unbatched `[C, H, W]` where the layer accepts it). FLOPs are counted for that whole input:
/// `2 ×` the multiply-adds of the matrix products (linear layers, attention's projections and scores),
/// convolutions and recurrences, while element-wise ops, normalisation, pooling, lookups and bias additions
/// count 0 — the convention of `bench/reference_torch.py`. Ask with a batch of one for FLOPs per sample.
///
/// A layer implements the one requirement, `inferShape(for:)`, which answers both; `outputShape(for:)` and
/// `flops(for:)` read one half. It checks the input against the layer's settings and throws a `ShapeError`
/// naming the layer and the shape when it does not fit. Its arithmetic is overflow-checked, and it checks
/// that the output's element count fits in `Int`, so a shape or setting read from an untrusted file (a padding
/// near `Int.max`, a shape whose product overflows) is refused with `ShapeError.Kind.overflow`, never
/// trapped on.
///
/// The rule follows dtypes too (`outputDType(for:)`): by default a layer takes floating-point values of its
/// parameters' dtype and returns that dtype; `Embedding` takes int64 indices, `Flatten` any dtype.
///
/// A container answers by asking its children: `Sequential` folds its layers' rules.
public protocol ShapeInferring {
    /// The shape `callAsFunction` returns for an input of shape `input`, and the FLOPs of that forward pass
    /// over the whole input.
    /// - Throws: `ShapeError` when the input does not fit the layer or a size or count overflows.
    func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int)

    /// The dtype `callAsFunction` returns for an input of dtype `input`.
    /// - Throws: `ShapeError` of kind `.dtype` (its `input` shape left empty) when the layer cannot take `input`.
    func outputDType(for input: DType) throws(ShapeError) -> DType
}

extension ShapeInferring {
    /// A floating-point `input` of the layer's parameters' dtype (any floating-point dtype for a layer without
    /// parameters), returned as is.
    public func outputDType(for input: DType) throws(ShapeError) -> DType {
        let layer = String(describing: type(of: self))
        guard input.isFloatingPoint else {
            throw ShapeError(layer: layer, input: [], kind: .dtype, reason: "needs floating-point values, not \(input)")
        }
        if let parameter = (self as? any Module)?.parameters().first, parameter.dtype != input {
            throw ShapeError(layer: layer, input: [], kind: .dtype, reason: "needs \(parameter.dtype) values (its parameters' dtype), not \(input)")
        }
        return input
    }

    /// The output shape, dtype and FLOPs of a forward pass over an input of `shape` and `dtype`: both halves of
    /// the rule, the dtype first.
    public func infer(shape: [Int], dtype: DType) throws(ShapeError) -> (shape: [Int], dtype: DType, flops: Int) {
        let outputDType: DType
        do { outputDType = try self.outputDType(for: dtype) } catch {
            var located = error
            located.input = shape
            throw located
        }
        let (outputShape, flops) = try inferShape(for: shape)
        return (outputShape, outputDType, flops)
    }

    /// The shape `callAsFunction` returns for an input of shape `input`.
    public func outputShape(for input: [Int]) throws(ShapeError) -> [Int] { try inferShape(for: input).outputShape }

    /// The FLOPs of one forward pass over an input of shape `input` (the whole batch).
    public func flops(for input: [Int]) throws(ShapeError) -> Int { try inferShape(for: input).flops }
}

/// An input shape a layer cannot take, or a size that overflows, from `ShapeInferring`.
public struct ShapeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What does not fit.
    public enum Kind: Equatable, Sendable {
        /// The input has the wrong number of dimensions.
        case rank
        /// A dimension disagrees with the layer: channels, features, embedding size, a sequence longer than
        /// the layer's maximum, an image of another size, or a negative dimension.
        case size
        /// A window (kernel, dilated and with its padding) is longer than the input, so the output is empty.
        case window
        /// A setting of the layer cannot work for any input: a stride, kernel or dilation below 1, a negative
        /// padding, a pooling padding above half the kernel, a dim out of range.
        case setting
        /// A size or FLOP count does not fit in `Int`.
        case overflow
        /// A layer inside a container has no shape rule (does not conform to `ShapeInferring`).
        case unsupported
        /// The input's dtype is not one the layer takes (float values into an `Embedding`, indices into a `Linear`).
        case dtype
    }

    /// The layer's type, as `"Conv2d"`.
    public var layer: String
    /// Where the layer sits below the one asked, as a dotted module name (`"2"` for `Sequential`'s third
    /// layer, `"encoder.layers.0"`); empty when it is the layer asked.
    public var path: String
    /// The input shape the failing layer was given.
    public var input: [Int]
    public var kind: Kind
    /// PyTorch's name for the layer setting the input disagrees with (`"in_channels"`, `"kernel_size"`,
    /// `"normalized_shape"`), when one does; a spec reader reports it as the field at fault.
    public var argument: String?
    /// What is wrong, with the numbers involved.
    public var reason: String

    public init(layer: String, path: String = "", input: [Int], kind: Kind, argument: String? = nil, reason: String) {
        (self.layer, self.path, self.input, self.kind, self.argument, self.reason) = (layer, path, input, kind, argument, reason)
    }

    /// `Conv2d at 3: input [1, 3, 2, 2]: …`; a setting refused before any input (`stateShapes`) reads
    /// `Conv2d: …`.
    public var description: String {
        let place = "\(layer)\(path.isEmpty ? "" : " at \(path)")"
        return kind == .setting && input.isEmpty ? "\(place): \(reason)" : "\(place): input \(input): \(reason)"
    }

    /// This error as seen from a container that holds the failing layer under `name`.
    public func nested(under name: String) -> ShapeError {
        var error = self
        error.path = path.isEmpty ? name : "\(name).\(path)"
        return error
    }
}

/// The checks a layer's shape rule makes, each throwing a `ShapeError` that names the layer and its input.
struct ShapeRule {
    let layer: String
    let input: [Int]

    /// Starts the rule for `layer` over `input`, whose dimensions must all be non-negative.
    init(_ layer: AnyObject, _ input: [Int]) throws(ShapeError) {
        self.layer = String(describing: type(of: layer))
        self.input = input
        if let bad = input.first(where: { $0 < 0 }) { throw error(.size, nil, "dimension \(bad) is negative") }
        do { _ = try CheckedSize.product(input, "input") } catch {
            throw self.error(.overflow, nil, "the input has more elements than fit in Int")
        }
    }

    func error(_ kind: ShapeError.Kind, _ argument: String?, _ reason: String) -> ShapeError {
        ShapeError(layer: layer, input: input, kind: kind, argument: argument, reason: reason)
    }

    /// Requires the input's rank to be one of `ranks`; `layout` names the dims (`"[N, C, H, W]"`).
    func rank(_ ranks: [Int], _ layout: String) throws(ShapeError) {
        guard ranks.contains(input.count) else { throw error(.rank, nil, "must be \(layout), not rank \(input.count)") }
    }

    /// Requires the input's rank to be at least `minimum`.
    func rank(atLeast minimum: Int, _ layout: String) throws(ShapeError) {
        guard input.count >= minimum else { throw error(.rank, nil, "must be \(layout), not rank \(input.count)") }
    }

    /// Requires dimension `dim` (negative counts from the end) to be `expected`, the layer's `argument`.
    func dimension(_ dim: Int, is expected: Int, argument: String) throws(ShapeError) {
        let d = dim < 0 ? dim + input.count : dim
        guard input[d] == expected else {
            throw error(.size, argument, "dimension \(d) is \(input[d]), but the layer's \(argument) is \(expected)")
        }
    }

    /// `shape`, once its element count is known to fit in `Int` (so a tensor of that shape could exist).
    func output(_ shape: [Int]) throws(ShapeError) -> [Int] {
        do { _ = try CheckedSize.product(shape, "output") } catch {
            throw self.error(.overflow, nil, "the output shape \(shape) has more elements than fit in Int")
        }
        return shape
    }

    /// Requires a setting of the layer to hold.
    func setting(_ condition: Bool, _ argument: String, _ reason: @autoclosure () -> String) throws(ShapeError) {
        guard condition else { throw error(.setting, argument, reason()) }
    }

    /// `values` multiplied, or `.overflow`.
    func product(_ values: Int...) throws(ShapeError) -> Int { try product(values) }

    func product(_ values: some Sequence<Int>) throws(ShapeError) -> Int {
        do { return try CheckedSize.product(values, "product") } catch { throw overflow() }
    }

    /// `values` added, or `.overflow`.
    func sum(_ values: Int...) throws(ShapeError) -> Int {
        var total = 0
        for value in values {
            do { total = try CheckedSize.add(total, value, "sum") } catch { throw overflow() }
        }
        return total
    }

    /// The output length of a window along `axis` (`"height"`), through `ShapeArithmetic.windowOutputSize`.
    func window(_ size: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1, axis: String) throws(ShapeError) -> Int {
        do {
            return try ShapeArithmetic.windowOutputSize(size, kernel: kernel, stride: stride, padding: padding, dilation: dilation)
        } catch {
            throw windowError(error, axis: axis, "size \(size), kernel \(kernel), stride \(stride), padding \(padding), dilation \(dilation)")
        }
    }

    /// The output length of a transposed convolution along `axis`, through
    /// `ShapeArithmetic.transposedWindowOutputSize`.
    func transposedWindow(_ size: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int, dilation: Int,
                          axis: String) throws(ShapeError) -> Int {
        do {
            return try ShapeArithmetic.transposedWindowOutputSize(size, kernel: kernel, stride: stride, padding: padding,
                                                                  outputPadding: outputPadding, dilation: dilation)
        } catch {
            throw windowError(error, axis: axis, "size \(size), kernel \(kernel), stride \(stride), padding \(padding), output padding \(outputPadding), dilation \(dilation)")
        }
    }

    private func windowError(_ failure: ShapeArithmetic.Failure, axis: String, _ numbers: String) -> ShapeError {
        switch failure {
        case .overflow: error(.overflow, "kernel_size", "the \(axis) window's size overflows (\(numbers))")
        case .invalidWindow: error(.setting, "kernel_size", "the \(axis) window's settings are out of range (\(numbers)): kernel, stride and dilation must be at least 1, padding at least 0")
        case .windowDoesNotFit: error(.window, "kernel_size", "the \(axis) window does not fit: the output would be empty (\(numbers))")
        }
    }

    private func overflow() -> ShapeError { error(.overflow, nil, "a size or FLOP count overflows Int") }
}

/// The rule of a layer that returns its input's shape and does no multiply-adds (activations, dropout,
/// normalisation). The conforming layer's own checks, if any, go in `checkInput`.
protocol ShapePreserving: ShapeInferring, AnyObject {
    func checkInput(_ rule: ShapeRule) throws(ShapeError)
}

extension ShapePreserving {
    func checkInput(_ rule: ShapeRule) throws(ShapeError) {}

    /// The input's shape, after the layer's checks; no multiply-adds.
    public func inferShape(for input: [Int]) throws(ShapeError) -> (outputShape: [Int], flops: Int) {
        try checkInput(ShapeRule(self, input))
        return (input, 0)
    }
}

// MARK: - A layer's state before it exists

/// One tensor a layer's `init` makes, described before anything is allocated: its state-dict name, shape and
/// dtype. A layer whose sizes can come from outside (a model spec, a checkpoint's input shape) lists them with a
/// static `stateShapes(…)` taking its `init`'s settings, so a caller can check the settings and size the whole
/// model against `MemoryBudget` before building any of it. The `init` asks the same function, so a setting it
/// would refuse is one `stateShapes` throws for first.
public struct StateEntry: Equatable, Sendable {
    /// The name in the layer's state dict (`weight`, `running_mean`, `self_attn.in_proj_weight`).
    public var name: String
    public var shape: [Int]
    public var dtype: DType

    public init(_ name: String, _ shape: [Int], _ dtype: DType) {
        (self.name, self.shape, self.dtype) = (name, shape, dtype)
    }
}

extension Array where Element == StateEntry {
    /// The entries under the child name `prefix` (`"encoder.layers.0"`).
    public func nested(under prefix: String) -> [StateEntry] {
        map { StateEntry("\(prefix).\($0.name)", $0.shape, $0.dtype) }
    }

    /// The bytes the entries take, overflow-checked (`what` names them in the error).
    public func bytes(_ what: @autoclosure () -> String) throws(SizeLimitError) -> Int {
        var total = 0
        for entry in self {
            total = try CheckedSize.add(total, CheckedSize.multiply(CheckedSize.product(entry.shape, what()), entry.dtype.size, what()), what())
        }
        return total
    }
}

/// The checks of a layer's settings in its `stateShapes`, each throwing a `ShapeError` of kind `.setting`
/// (`.overflow` for a size that does not fit in `Int`) with no input, naming the layer and the argument.
struct SettingRule {
    let layer: String

    init(_ layer: String) { self.layer = layer }

    func error(_ kind: ShapeError.Kind, _ argument: String?, _ reason: String) -> ShapeError {
        ShapeError(layer: layer, input: [], kind: kind, argument: argument, reason: reason)
    }

    /// Requires a setting to hold.
    func check(_ condition: Bool, _ argument: String, _ reason: @autoclosure () -> String) throws(ShapeError) {
        guard condition else { throw error(.setting, argument, reason()) }
    }

    /// Requires each of `values` (the `argument`'s sizes) to be at least `minimum`.
    func size(_ argument: String, _ values: Int..., atLeast minimum: Int) throws(ShapeError) {
        for value in values where value < minimum {
            throw error(.setting, argument, "\(argument) must be at least \(minimum), got \(value)")
        }
    }

    /// The entry `name` of `shape`, once its element count is known to fit in `Int`.
    func entry(_ name: String, _ shape: [Int], _ dtype: DType) throws(ShapeError) -> StateEntry {
        do { _ = try CheckedSize.product(shape, name) } catch {
            throw self.error(.overflow, nil, "\(name) \(shape) has more elements than fit in Int")
        }
        return StateEntry(name, shape, dtype)
    }

    /// `a + b`, or `.overflow` naming `what`.
    func sum(_ a: Int, _ b: Int, what: String) throws(ShapeError) -> Int {
        do { return try CheckedSize.add(a, b, what) } catch { throw self.error(.overflow, nil, "\(what) overflows Int (\(a) + \(b))") }
    }

    /// `values` multiplied, or `.overflow` naming `what`.
    func product(_ values: Int..., what: String) throws(ShapeError) -> Int {
        do { return try CheckedSize.product(values, what) } catch {
            throw self.error(.overflow, nil, "\(what) overflows Int (\(values.map(String.init).joined(separator: " × ")))")
        }
    }
}

/// `body`'s result, for a layer's `init` asking its own `stateShapes`: a setting it refuses is a programmer error
/// in model code, so it stops the program with the error's message (the layer, the argument and the value).
func requireSettings<T>(_ body: () throws -> T) -> T {
    do { return try body() } catch { fatalError("\(error)") }
}
