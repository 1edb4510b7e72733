import Foundation

// Shapes: B = batch, C = channels, H = height, W = width. One example's input is `exampleShape`, e.g. [C, H, W].

/// A finite, indexable collection of examples that builds the batch of any subset of them: what a `DataLoader`
/// reads. `TensorDataset` holds examples of any dtypes as two tensors; `Dataset` refines it for labelled images.
public protocol BatchDataset: Sendable {
    /// The number of examples.
    var count: Int { get }
    /// Examples `indices`, in that order, as one batch: inputs `[B, …]` and targets `[B, …]`.
    func batch(_ indices: [Int]) -> (inputs: Tensor, targets: Tensor)
}

/// A finite, indexable collection of labelled examples that can copy any subset of them into a batch.
///
/// Batches are assembled by `gather`, which writes straight into the batch's buffers from the dataset's
/// contiguous store, rather than by one call per example.
public protocol Dataset: BatchDataset {
    /// The number of examples.
    var count: Int { get }
    /// The shape of one example's input, e.g. `[1, 28, 28]`.
    var exampleShape: [Int] { get }
    /// Labels lie in `0..<classCount`.
    var classCount: Int { get }
    /// The label of example `index`.
    func label(at index: Int) -> Int
    /// Writes the inputs of examples `indices` (row `r` ← example `indices[r]`) and their labels.
    /// - Parameters:
    ///   - indices: the examples to write, in order.
    ///   - inputs: `indices.count × exampleShape.product` floats, row-major.   // [B, …exampleShape]
    ///   - labels: `indices.count` labels.                                      // [B]
    func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>)
}

extension Dataset {
    /// The number of floats in one example's input.
    public var exampleSize: Int { exampleShape.reduce(1, *) }

    /// Example `index` as a float32 input of `exampleShape` and its label.
    public func example(at index: Int) -> (input: Tensor, label: Int) {
        let input = Tensor(uninitialized: exampleShape, dtype: .float32)
        var label: Int64 = 0
        withUnsafeMutablePointer(to: &label) { labelPointer in
            gather([index], inputs: UnsafeMutableBufferPointer(start: input.pointer(Float.self), count: input.count),
                   labels: UnsafeMutableBufferPointer(start: labelPointer, count: 1))
        }
        return (input, Int(label))
    }

    /// Examples `indices` as float32 inputs `[B, …exampleShape]` and int64 labels `[B]`.
    public func batch(_ indices: [Int]) -> (inputs: Tensor, targets: Tensor) {
        let inputs = Tensor(uninitialized: [indices.count] + exampleShape, dtype: .float32)
        let labels = Tensor(uninitialized: [indices.count], dtype: .int64)
        gather(indices,
               inputs: UnsafeMutableBufferPointer(start: inputs.pointer(Float.self), count: inputs.count),
               labels: UnsafeMutableBufferPointer(start: labels.pointer(Int64.self), count: labels.count))
        return (inputs, labels)
    }

    /// How many examples carry each label: element `k` counts label `k`.
    public func labelCounts() -> [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for i in 0..<count { counts[label(at: i)] += 1 }
        return counts
    }

    /// Splits the examples at random into a training and a validation subset, the same way for the same seed.
    ///
    /// The validation subset holds `round(validationFraction · count)` examples; both subsets list their
    /// indices in increasing order, and together they cover every example once.
    public func randomSplit(validationFraction: Double, seed: UInt64) -> (train: DatasetSubset<Self>, validation: DatasetSubset<Self>) {
        require((0...1).contains(validationFraction),
                     "randomSplit: validationFraction \(validationFraction) is outside [0, 1]")
        var generator = RandomGenerator(seed: seed)
        let order = randomPermutation(count, generator: &generator)
        let validationCount = Int((validationFraction * Double(count)).rounded())
        return (DatasetSubset(self, indices: order[validationCount...].sorted()),
                DatasetSubset(self, indices: order[..<validationCount].sorted()))
    }
}

/// The examples of `base` at `indices`, in that order.
public struct DatasetSubset<Base: Dataset>: Dataset {
    /// The dataset the examples come from.
    public let base: Base
    /// Indices into `base`.
    public let indices: [Int]

    /// The examples of `base` at `indices`.
    public init(_ base: Base, indices: [Int]) {
        require(indices.allSatisfy { (0..<base.count).contains($0) },
                     "DatasetSubset: an index lies outside 0..<\(base.count)")
        self.base = base
        self.indices = indices
    }

    public var count: Int { indices.count }
    public var exampleShape: [Int] { base.exampleShape }
    public var classCount: Int { base.classCount }
    public func label(at index: Int) -> Int { base.label(at: indices[index]) }
    public func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>) {
        base.gather(indices.map { self.indices[$0] }, inputs: inputs, labels: labels)
    }
}

/// Any dataset behind one concrete type, so a `DataLoader` can hold whichever dataset a run chose.
public struct AnyDataset: Dataset {
    /// The wrapped dataset.
    public let base: any Dataset
    /// Wraps `base`.
    public init(_ base: any Dataset) { self.base = base }
    public var count: Int { base.count }
    public var exampleShape: [Int] { base.exampleShape }
    public var classCount: Int { base.classCount }
    public func label(at index: Int) -> Int { base.label(at: index) }
    public func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>) {
        base.gather(indices, inputs: inputs, labels: labels)
    }
}

/// Images stored as one contiguous byte array, `[N, …exampleShape]`, with one label byte each.
///
/// Bytes (not floats) keep CIFAR-10's 50,000 training images at 150 MB rather than 600 MB; `gather`
/// scales them to [0, 1] as it copies: `x = byte / 255`.
struct ImageStore: Sendable {
    let pixels: [UInt8]   // [N, …exampleShape]
    let labels: [UInt8]   // [N]
    let exampleShape: [Int]
    let classCount: Int

    var count: Int { labels.count }

    func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels out: UnsafeMutableBufferPointer<Int64>) {
        let size = exampleShape.reduce(1, *)
        require(inputs.count >= indices.count * size && out.count >= indices.count,
                     "gather: buffers of \(inputs.count) and \(out.count) elements cannot hold \(indices.count) examples of \(exampleShape)")
        pixels.withUnsafeBufferPointer { source in
            for (row, index) in indices.enumerated() {
                require(index >= 0 && index < count, "gather: index \(index) outside 0..<\(count)")
                let s = source.baseAddress! + index * size, d = inputs.baseAddress! + row * size
                for k in 0..<size { d[k] = Float(s[k]) / 255 }
                out[row] = Int64(labels[index])
            }
        }
    }
}

/// A uniformly random permutation of `0..<n` (Fisher–Yates), reproducible from the generator's state.
func randomPermutation(_ n: Int, generator: inout RandomGenerator) -> [Int] {
    var order = Array(0..<n)
    guard n > 1 else { return order }
    for i in stride(from: n - 1, to: 0, by: -1) {
        order.swapAt(i, generator.index(below: i + 1))
    }
    return order
}

extension RandomGenerator {
    /// A uniform integer in `0..<bound`, unbiased (Lemire's multiply-and-reject), so orders never depend on the
    /// standard library's implementation.
    ///
    /// reference: D. Lemire, "Fast Random Integer Generation in an Interval" (2019).
    mutating func index(below bound: Int) -> Int {
        require(bound > 0, "index(below:): bound must be positive, got \(bound)")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }
}

/// Hashes several values into one seed (SplitMix64's finaliser, chained), so (seed, epoch, batch) pairs
/// give independent generators.
func mixSeed(_ values: UInt64...) -> UInt64 {
    var h: UInt64 = 0x243F_6A88_85A3_08D3
    for v in values {
        var z = h ^ v
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        h = (z ^ (z >> 31)) &+ 0x9E37_79B9_7F4A_7C15
    }
    return h
}
