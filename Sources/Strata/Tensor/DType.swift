/// The element type of a tensor.
///
/// `float32` is the training type, `float64` the checking type (gradcheck uses it), `int64` holds labels
/// and indices as in PyTorch, and `bool` holds masks (one byte per element).
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
    /// 32-bit float (training), 64-bit float (checking), 64-bit integer (labels, indices), boolean (masks).
    case float32, float64, int64, bool

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32: 4
        case .float64: 8
        case .int64: 8
        case .bool: 1
        }
    }

    /// Whether the type is `float32` or `float64`.
    public var isFloatingPoint: Bool { self == .float32 || self == .float64 }

    /// The dtype's name, as PyTorch spells it (`float32`).
    public var description: String { rawValue }
}

/// A Swift type that can be a tensor element.
public protocol TensorScalar: Sendable {
    /// The dtype of tensors of this element.
    static var dtype: DType { get }
    /// `value` converted to this type (truncated for `Int64`, nonzero for `Bool`).
    init(fromDouble value: Double)
    /// The value as a Double.
    var doubleValue: Double { get }
}

// Float's and Double's conversions are their `FloatElement` ones (Kernels/FloatElement.swift).
extension Float: TensorScalar {
    /// `.float32`.
    public static var dtype: DType { .float32 }
}

extension Double: TensorScalar {
    /// `.float64`.
    public static var dtype: DType { .float64 }
}

extension Int64: TensorScalar {
    /// `.int64`.
    public static var dtype: DType { .int64 }
    /// `value` truncated toward zero.
    public init(fromDouble value: Double) { self = Int64(value) }
    /// The value as a Double.
    public var doubleValue: Double { Double(self) }
}

/// A boolean mask element, stored as one byte (0 or 1) so buffers match PyTorch's and safetensors' `BOOL`.
extension Bool: TensorScalar {
    /// `.bool`.
    public static var dtype: DType { .bool }
    /// Whether `value` is nonzero.
    public init(fromDouble value: Double) { self = value != 0 }
    /// 1 for `true`, 0 for `false`.
    public var doubleValue: Double { self ? 1 : 0 }
}

extension FloatElement {
    /// The dtype of a kernel's element type, for generic code that makes tensors of it. `FloatElement` is
    /// internal and only Float and Double conform, so its size tells them apart.
    static var dtype: DType { MemoryLayout<Self>.size == MemoryLayout<Float>.size ? .float32 : .float64 }
}
