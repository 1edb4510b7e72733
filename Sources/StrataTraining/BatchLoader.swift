import Strata

/// The batches of every epoch, the same on every call and from any position: what a `Trainer` reads.
///
/// `DataLoader` is one. Another source (a token stream cut into windows, batches built on the fly) conforms by
/// making batch `i` of epoch `e` a pure function of `(e, i)`, which exact resumption relies on.
public protocol BatchLoader: Sendable {
    /// The sequence of batches one call to `batches(epoch:startingAt:)` returns.
    associatedtype Epoch: Sequence<Batch>
    /// Batches per epoch.
    var batchesPerEpoch: Int { get }
    /// The examples in batch `index` (`0..<batchesPerEpoch`) of every epoch.
    func exampleCount(ofBatch index: Int) -> Int
    /// Epoch `epoch`'s batches from batch `start` on.
    func batches(epoch: Int, startingAt start: Int) -> Epoch
}

extension DataLoader: BatchLoader {
    /// `batchSize`, or what is left of `examplesPerEpoch` for the last batch.
    public func exampleCount(ofBatch index: Int) -> Int { Swift.min(batchSize, examplesPerEpoch - index * batchSize) }
}
