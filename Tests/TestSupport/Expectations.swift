import Strata
import Testing

/// Expects `gradcheck` to pass on `function`, reporting the failing elements at the caller.
public func expectGradcheck(_ inputs: [Tensor], _ name: String = "",
                     sourceLocation: SourceLocation = #_sourceLocation,
                     _ function: ([Tensor]) -> Tensor) {
    let result = gradcheck(inputs, function)
    #expect(result.passed, "\(name) \(inputs.map(\.shape)): \(result)", sourceLocation: sourceLocation)
}

/// Expects `tensor` to have `shape` and elements within `atol + rtol·|expected|` of `expected`.
/// The defaults are the Float32 tolerance used throughout the suite (atol 1e-6, rtol 1e-3).
public func expectClose(_ tensor: Tensor, _ expected: [Double], shape: [Int]? = nil,
                 atol: Double = 1e-6, rtol: Double = 1e-3,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    if let shape { #expect(tensor.shape == shape, "shape", sourceLocation: sourceLocation) }
    let actual = tensor.toDoubles()
    #expect(actual.count == expected.count, "\(actual.count) elements, expected \(expected.count)", sourceLocation: sourceLocation)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        let close = a == e || abs(a - e) <= atol + rtol * abs(e)
        #expect(close, "element \(i): \(a) vs expected \(e)", sourceLocation: sourceLocation)
    }
}

/// A float64 tensor of `shape` with normal values from a fixed seed, away from zero by at least `margin`
/// (so kinks such as relu's and abs's are not straddled by finite differences).
public func randomInput(_ shape: [Int], seed: UInt64 = 1, margin: Double = 0.05) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    let values = (0..<shape.reduce(1, *)).map { _ -> Double in
        let v = generator.nextNormal()
        return v >= 0 ? v + margin : v - margin
    }
    return Tensor(values, shape: shape)
}

/// A float64 tensor of `shape` with values in [low, high) from a fixed seed.
public func randomInput(_ shape: [Int], seed: UInt64 = 1, in range: ClosedRange<Double>) -> Tensor {
    var generator = RandomGenerator(seed: seed)
    let values = (0..<shape.reduce(1, *)).map { _ in range.lowerBound + (range.upperBound - range.lowerBound) * generator.nextUnit() }
    return Tensor(values, shape: shape)
}
