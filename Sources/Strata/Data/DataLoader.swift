import Foundation

// Shapes: B = batch size. A batch's inputs are [B, …], its targets [B, …] (a `Dataset`'s: float32
// [B, …exampleShape] and int64 labels [B]).

/// One batch from a `DataLoader`, with where it came from (so a checkpoint can record the position).
public struct Batch: Sendable {
    /// Inputs `[B, …]`, after the loader's transforms.
    public let inputs: Tensor
    /// Targets `[B, …]`: a `Dataset`'s int64 labels `[B]`.
    public let targets: Tensor
    /// The epoch whose order produced this batch.
    public let epoch: Int
    /// The batch's position in its epoch, from 0.
    public let index: Int

    /// A batch of `inputs` and `targets`, batch `index` of epoch `epoch`.
    public init(inputs: Tensor, targets: Tensor, epoch: Int, index: Int) {
        (self.inputs, self.targets, self.epoch, self.index) = (inputs, targets, epoch, index)
    }

    /// The examples in the batch, `B`.
    public var count: Int { inputs.shape.first ?? 1 }
}

/// Splits a dataset into batches, optionally shuffled and augmented, preparing them on a background thread.
///
/// Shuffling is reproducible: epoch `e`'s order is a Fisher–Yates permutation drawn from
/// `RandomGenerator(seed: mix(seed, e))`, and batch `i`'s transforms draw from a generator seeded by
/// `mix(seed, e, i)`. So every batch is a pure function of (seed, epoch, index): prefetching does not change
/// it, and `batches(epoch:startingAt:)` resumes a run exactly where it stopped.
///
/// ```swift
/// let loader = DataLoader(try MNIST(directory: EmbeddedData.mnistDirectory), batchSize: 64, shuffle: true, seed: 1)
/// for epoch in 0..<10 {
///     for batch in loader.batches(epoch: epoch) { … batch.inputs [64, 1, 28, 28], batch.targets [64] … }
/// }
/// ```
public struct DataLoader<D: BatchDataset>: Sequence, Sendable {
    /// The examples batched.
    public let dataset: D
    /// Examples per batch; the last batch may be smaller unless `dropLast`.
    public let batchSize: Int
    /// Whether each epoch visits the examples in its own seeded order.
    public let shuffle: Bool
    /// Determines every epoch's order and every batch's augmentation.
    public let seed: UInt64
    /// Whether a last batch smaller than `batchSize` is dropped.
    public let dropLast: Bool
    /// Applied in order to every batch's inputs.
    public let transforms: [any BatchTransform]
    /// How many batches the background thread may prepare ahead; 0 builds each batch on the caller's thread.
    public let prefetch: Int
    /// The part of every epoch this loader yields (`.whole` outside data-parallel runs).
    public let shard: DataShard

    /// A loader over `dataset`.
    /// - Parameters:
    ///   - dataset: the examples.
    ///   - batchSize: examples per batch (the last may be smaller unless `dropLast`).
    ///   - shuffle: whether each epoch visits the examples in a fresh seeded order (else in index order).
    ///   - seed: determines every epoch's order and every batch's augmentation.
    ///   - dropLast: drop a final partial batch.
    ///   - transforms: applied to each batch's inputs, in order.
    ///   - prefetch: batches prepared ahead on a background thread (0 to disable).
    ///   - shard: this rank's part of every epoch in a data-parallel run.
    public init(_ dataset: D, batchSize: Int, shuffle: Bool = false, seed: UInt64 = 0, dropLast: Bool = false,
                transforms: [any BatchTransform] = [], prefetch: Int = 2, shard: DataShard = .whole) {
        require(batchSize > 0, "DataLoader: batchSize must be positive, got \(batchSize)")
        require(prefetch >= 0, "DataLoader: prefetch must be non-negative, got \(prefetch)")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.seed = seed
        self.dropLast = dropLast
        self.transforms = transforms
        self.prefetch = prefetch
        self.shard = shard
    }

    /// The examples this loader yields per epoch: the dataset's count, or `⌈count / shard.count⌉` for a shard.
    public var examplesPerEpoch: Int { shard.count == 1 ? dataset.count : (dataset.count + shard.count - 1) / shard.count }

    /// Batches per epoch: `⌊n / B⌋` with `dropLast`, else `⌈n / B⌉`, for `n = examplesPerEpoch`.
    public var batchesPerEpoch: Int {
        dropLast ? examplesPerEpoch / batchSize : (examplesPerEpoch + batchSize - 1) / batchSize
    }

    /// The examples epoch `epoch` visits, in order: a seeded permutation (or `0..<count` unshuffled), then this
    /// loader's shard of it.
    public func order(epoch: Int) -> [Int] {
        var order = Array(0..<dataset.count)
        if shuffle {
            var generator = RandomGenerator(seed: mixSeed(seed, UInt64(bitPattern: Int64(epoch))))
            order = randomPermutation(dataset.count, generator: &generator)
        }
        guard shard.count > 1, !order.isEmpty else { return order }
        return (0..<examplesPerEpoch).map { order[(shard.index + $0 * shard.count) % order.count] }
    }

    /// Builds batch `index` of `epoch` on the calling thread, given that epoch's `order`.
    public func batch(_ index: Int, epoch: Int, order: [Int]) -> Batch {
        require(index >= 0 && index < batchesPerEpoch, "DataLoader: batch \(index) outside 0..<\(batchesPerEpoch)")
        let start = index * batchSize
        let (batchInputs, targets) = dataset.batch(Array(order[start..<Swift.min(start + batchSize, order.count)]))
        var inputs = batchInputs
        if !transforms.isEmpty {
            // Each shard draws its own augmentation; a whole-epoch loader keeps the seeding it always had.
            let batchSeed = mixSeed(seed, UInt64(bitPattern: Int64(epoch)), UInt64(index))
            var generator = RandomGenerator(seed: shard.count == 1 ? batchSeed : mixSeed(batchSeed, UInt64(shard.index)))
            for transform in transforms { inputs = transform.apply(inputs, generator: &generator) }
        }
        return Batch(inputs: inputs, targets: targets, epoch: epoch, index: index)
    }

    /// The batches of `epoch` from batch `start` on (to resume a run mid-epoch).
    public func batches(epoch: Int, startingAt start: Int = 0) -> EpochBatches<D> {
        require(start >= 0 && start <= batchesPerEpoch, "DataLoader: start batch \(start) outside 0...\(batchesPerEpoch)")
        return EpochBatches(loader: self, epoch: epoch, start: start)
    }

    /// Iterates epoch 0.
    public func makeIterator() -> BatchIterator<D> { batches(epoch: 0).makeIterator() }
}

/// The batches of one epoch of a `DataLoader`, from a starting batch.
public struct EpochBatches<D: BatchDataset>: Sequence, Sendable {
    /// The loader the batches come from.
    public let loader: DataLoader<D>
    /// The epoch whose order is used.
    public let epoch: Int
    /// The first batch yielded.
    public let start: Int

    /// The batches left: `batchesPerEpoch − start`.
    public var underestimatedCount: Int { loader.batchesPerEpoch - start }

    /// Starts the epoch (and, with prefetching, its background thread).
    public func makeIterator() -> BatchIterator<D> { BatchIterator(loader: loader, epoch: epoch, start: start) }
}

/// Yields an epoch's batches in order; with `prefetch > 0` a background thread builds them ahead.
///
/// The thread stops when the epoch ends or when the iterator is released (e.g. after `break`).
public final class BatchIterator<D: BatchDataset>: IteratorProtocol {
    private let loader: DataLoader<D>
    private let epoch: Int
    private let order: [Int]
    private var position: Int
    private let end: Int
    private let queue: PrefetchQueue?

    init(loader: DataLoader<D>, epoch: Int, start: Int) {
        self.loader = loader
        self.epoch = epoch
        order = loader.order(epoch: epoch)
        position = start
        end = loader.batchesPerEpoch
        guard loader.prefetch > 0, start < end else { queue = nil; return }
        let queue = PrefetchQueue(capacity: loader.prefetch)
        self.queue = queue
        let (order, end) = (order, end)
        let thread = Thread {
            for index in start..<end {
                guard queue.push(loader.batch(index, epoch: epoch, order: order)) else { return }
            }
            queue.finish()
        }
        thread.name = "Strata.DataLoader.prefetch"
        thread.start()
    }

    deinit { queue?.cancel() }

    /// The next batch of the epoch, or nil after the last.
    public func next() -> Batch? {
        guard position < end else { return nil }
        defer { position += 1 }
        if let queue { return queue.pop() }
        return loader.batch(position, epoch: epoch, order: order)
    }
}

/// A bounded first-in-first-out hand-off between the prefetch thread and the consumer.
private final class PrefetchQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Batch] = []
    private let capacity: Int
    private var finished = false
    private var cancelled = false

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room, then appends; returns false if the consumer has gone.
    func push(_ batch: Batch) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while items.count >= capacity && !cancelled { condition.wait() }
        guard !cancelled else { return false }
        items.append(batch)
        condition.broadcast()
        return true
    }

    /// Waits for a batch; nil once the producer has finished and the queue is empty.
    func pop() -> Batch? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        guard !items.isEmpty else { return nil }
        let batch = items.removeFirst()
        condition.broadcast()
        return batch
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.broadcast()
        condition.unlock()
    }
}

/// One rank's part of every epoch in a data-parallel run of `count` ranks, as PyTorch's `DistributedSampler`
/// (with `drop_last=False`) deals it: the epoch's order is extended by repeating its beginning to a multiple of
/// `count` examples, and rank `index` takes positions `index`, `index + count`, `index + 2·count`, ….
///
/// Every rank therefore has `⌈n / count⌉` examples and the same number of batches, the shards are disjoint
/// but for the few repeated examples, and batch `i` of all the ranks together holds the same examples as batch
/// `i` of one process whose batch is `count` times larger (when `count` divides the dataset and that batch).
public struct DataShard: Equatable, Sendable {
    /// This rank, `0..<count`.
    public let index: Int
    /// The number of ranks.
    public let count: Int

    /// Shard `index` of `count`.
    public init(index: Int, count: Int) {
        require(count >= 1 && (0..<count).contains(index), "DataShard: index \(index) outside 0..<\(count)")
        (self.index, self.count) = (index, count)
    }

    /// The whole epoch: one process.
    public static let whole = DataShard(index: 0, count: 1)
}
