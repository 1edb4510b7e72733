import RealModule

/// The floating-point element types every kernel is written once for and specialised for: Float (training)
/// and Double (gradient checks).
protocol FloatElement: BLASScalar, Real, SIMDScalar, Codable {
    /// `value` rounded to this type (a loop parameter or a constant given as a Double).
    init(fromDouble value: Double)
    /// The value as a Double.
    var doubleValue: Double { get }
}

extension Float: FloatElement {
    public init(fromDouble value: Double) { self = Float(value) }
    public var doubleValue: Double { Double(self) }
}

extension Double: FloatElement {
    public init(fromDouble value: Double) { self = value }
    public var doubleValue: Double { self }
}
