import Strata
import Testing

/// DataLoader batching, seeded shuffling, dropLast, resuming and prefetching; randomSplit.
@Suite struct DataLoaderTests {
    /// The example ids (input[0]) of every batch of `epoch`, batch by batch.
    func ids<D: Dataset>(_ loader: DataLoader<D>, epoch: Int, start: Int = 0) -> [[Int]] {
        loader.batches(epoch: epoch, startingAt: start).map { batch in
            batch.inputs.select(1, 0).toDoubles().map { Int($0) }
        }
    }

    @Test func unshuffledBatchesInIndexOrder() {
        let loader = DataLoader(CountingDataset(count: 7), batchSize: 3, prefetch: 0)
        #expect(loader.batchesPerEpoch == 3)
        let batches = Array(loader)
        #expect(batches.map(\.inputs.shape) == [[3, 2], [3, 2], [1, 2]])
        #expect(batches.map(\.index) == [0, 1, 2] && batches.allSatisfy { $0.epoch == 0 })
        expectClose(batches[1].inputs, [3, -3, 4, -4, 5, -5], shape: [3, 2])
        #expect(batches[1].targets.dtype == .int64 && batches[1].targets.scalars(as: Int64.self) == [0, 1, 2])
    }

    @Test func dropLastCounts() {
        let dataset = CountingDataset(count: 10)
        let keep = DataLoader(dataset, batchSize: 3, shuffle: true, seed: 1)
        let drop = DataLoader(dataset, batchSize: 3, shuffle: true, seed: 1, dropLast: true)
        #expect(keep.batchesPerEpoch == 4 && drop.batchesPerEpoch == 3)
        #expect(ids(keep, epoch: 0).map(\.count) == [3, 3, 3, 1])
        #expect(ids(drop, epoch: 0).map(\.count) == [3, 3, 3])
        // Same order either way; dropLast only omits the tail.
        #expect(ids(drop, epoch: 0) == Array(ids(keep, epoch: 0).prefix(3)))
        #expect(DataLoader(CountingDataset(count: 9), batchSize: 3, dropLast: true).batchesPerEpoch == 3)
        #expect(DataLoader(CountingDataset(count: 2), batchSize: 3, dropLast: true).map { $0 }.isEmpty)
    }

    @Test func shufflingIsASeededPermutationPerEpoch() {
        let loader = DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 42)
        let epoch0 = ids(loader, epoch: 0).flatMap { $0 }
        #expect(epoch0.sorted() == Array(0..<50))
        #expect(epoch0 != Array(0..<50))
        #expect(epoch0 == loader.order(epoch: 0))
        // Same seed and epoch: same order, from a fresh loader too.
        #expect(ids(DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 42), epoch: 0).flatMap { $0 } == epoch0)
        let epoch1 = ids(loader, epoch: 1).flatMap { $0 }
        #expect(epoch1.sorted() == Array(0..<50) && epoch1 != epoch0)
        #expect(DataLoader(CountingDataset(count: 50), batchSize: 8, shuffle: true, seed: 43).order(epoch: 0) != epoch0)
        // Labels travel with their examples.
        for batch in loader.batches(epoch: 1) {
            let ids = batch.inputs.select(1, 0).toDoubles().map { Int64($0) }
            #expect(batch.targets.scalars(as: Int64.self) == ids.map { $0 % 3 })
        }
    }

    @Test(arguments: [(10, 2), (11, 2), (7, 3), (2, 4)])
    func shardsSplitEachEpochAsDistributedSamplerDoes(count: Int, ranks: Int) {
        let dataset = CountingDataset(count: count)
        let whole = DataLoader(dataset, batchSize: 3, shuffle: true, seed: 5)
        let shards = (0..<ranks).map { DataLoader(dataset, batchSize: 3, shuffle: true, seed: 5, shard: DataShard(index: $0, count: ranks)) }
        let perRank = (count + ranks - 1) / ranks
        for epoch in 0..<2 {
            let order = whole.order(epoch: epoch)
            // Rank r takes positions r, r + ranks, … of the epoch's order, padded by wrapping to its start.
            let padded = (0..<perRank * ranks).map { order[$0 % count] }
            for (rank, shard) in shards.enumerated() {
                #expect(shard.examplesPerEpoch == perRank && shard.batchesPerEpoch == (perRank + 2) / 3)
                #expect(ids(shard, epoch: epoch).flatMap { $0 } == stride(from: rank, to: padded.count, by: ranks).map { padded[$0] })
            }
            // Together the shards visit every example, and only the padding twice.
            let visits = shards.flatMap { $0.order(epoch: epoch) }
            #expect(Set(visits) == Set(0..<count) && visits.count == perRank * ranks)
        }
    }

    @Test func batchIOfTwoShardsHoldsBatchIOfOneLoaderWithTwiceTheBatch() {
        let dataset = CountingDataset(count: 64)
        let whole = DataLoader(dataset, batchSize: 8, shuffle: true, seed: 9)
        let halves = (0..<2).map { DataLoader(dataset, batchSize: 4, shuffle: true, seed: 9, shard: DataShard(index: $0, count: 2)) }
        let (a, b) = (ids(halves[0], epoch: 1), ids(halves[1], epoch: 1))
        for (index, batch) in ids(whole, epoch: 1).enumerated() {
            #expect(Set(batch) == Set(a[index] + b[index]))
        }
    }

    @Test func prefetchYieldsTheSameBatchesAsBuildingInline() {
        let dataset = CountingDataset(count: 103)
        let transforms: [any BatchTransform] = [Normalize(mean: [1, 0], std: [2, 1])]
        let inline = DataLoader(dataset, batchSize: 10, shuffle: true, seed: 7, transforms: transforms, prefetch: 0)
        let ahead = DataLoader(dataset, batchSize: 10, shuffle: true, seed: 7, transforms: transforms, prefetch: 3)
        for epoch in 0..<2 {
            let a = inline.batches(epoch: epoch).map { ($0.inputs.toDoubles(), $0.targets.toDoubles(), $0.index) }
            let b = ahead.batches(epoch: epoch).map { ($0.inputs.toDoubles(), $0.targets.toDoubles(), $0.index) }
            #expect(a.count == 11 && b.count == 11)
            for (x, y) in zip(a, b) { #expect(x == y) }
        }
    }

    @Test func augmentationIsAFunctionOfSeedEpochAndBatch() {
        // Flip images whose two pixels differ; the flip choice must not depend on prefetching or resume.
        struct TwoPixels: Dataset {
            var count: Int { 64 }
            var exampleShape: [Int] { [1, 1, 2] }
            var classCount: Int { 1 }
            func label(at index: Int) -> Int { 0 }
            func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>, labels: UnsafeMutableBufferPointer<Int64>) {
                for (r, i) in indices.enumerated() { (inputs[2 * r], inputs[2 * r + 1], labels[r]) = (Float(i), -1, 0) }
            }
        }
        let make = { (prefetch: Int) in
            DataLoader(TwoPixels(), batchSize: 16, shuffle: true, seed: 9, transforms: [RandomHorizontalFlip()], prefetch: prefetch)
        }
        let full = make(2).batches(epoch: 3).map { $0.inputs.toDoubles() }
        #expect(full == make(0).batches(epoch: 3).map { $0.inputs.toDoubles() })
        #expect(Array(full.dropFirst(2)) == make(2).batches(epoch: 3, startingAt: 2).map { $0.inputs.toDoubles() })
        let flipped = full.flatMap { $0 }.enumerated().filter { $0.offset % 2 == 0 && $0.element == -1 }.count
        #expect(flipped > 10 && flipped < 54)
    }

    @Test func resumingMidEpochContinuesExactly() {
        let loader = DataLoader(CountingDataset(count: 40), batchSize: 6, shuffle: true, seed: 3)
        let full = ids(loader, epoch: 2)
        #expect(ids(loader, epoch: 2, start: 4) == Array(full[4...]))
        #expect(loader.batches(epoch: 2, startingAt: 4).map(\.index) == [4, 5, 6])
        #expect(ids(loader, epoch: 2, start: loader.batchesPerEpoch).isEmpty)
    }

    @Test func stoppingEarlyReleasesThePrefetchThread() {
        let loader = DataLoader(CountingDataset(count: 1000), batchSize: 10, shuffle: true, prefetch: 2)
        for _ in 0..<20 {
            let iterator = loader.batches(epoch: 0).makeIterator()
            #expect(iterator.next()?.index == 0)
        }
        var taken = 0
        for batch in loader.batches(epoch: 1) {
            taken += 1
            if batch.index == 4 { break }
        }
        #expect(taken == 5)
    }

    @Test func randomSplitPartitionsTheIndices() {
        let dataset = CountingDataset(count: 103)
        let (train, validation) = dataset.randomSplit(validationFraction: 0.2, seed: 11)
        // round(0.2 · 103) = 21.
        #expect(validation.count == 21 && train.count == 82)
        #expect((train.indices + validation.indices).sorted() == Array(0..<103))
        #expect(train.indices == train.indices.sorted() && validation.indices != Array(0..<21))
        let again = dataset.randomSplit(validationFraction: 0.2, seed: 11)
        #expect(again.train.indices == train.indices && again.validation.indices == validation.indices)
        #expect(dataset.randomSplit(validationFraction: 0.2, seed: 12).validation.indices != validation.indices)
        // A subset gathers the base's examples at its indices.
        let (inputs, labels) = validation.batch([0, 1])
        expectClose(inputs.select(1, 0), validation.indices[0..<2].map(Double.init))
        #expect(labels.scalars(as: Int64.self) == validation.indices[0..<2].map { Int64($0 % 3) })
        #expect(validation.labelCounts().reduce(0, +) == 21)
        let loader = DataLoader(train, batchSize: 10, shuffle: true, seed: 1)
        #expect(loader.map { $0.inputs.select(1, 0).toDoubles().map { Int($0) } }.flatMap { $0 }.sorted() == train.indices)
    }
}
