// Data-parallel training over Open MPI: run it with `mpirun -np 2
// .build/release/DataParallel`.
import Strata
import StrataDistributed
import StrataTraining

// snippet.start
// joins MPI_COMM_WORLD: rank, size
let group = try MPIProcessGroup.start()
// the host's cores shared among its ranks
Strata.threads = group.threadsPerRank
// every rank builds the same model…
Strata.seed(0)
// snippet.end

// snippet.fit
// the same data on every rank
let x = Tensor.normal([4096, 8]), y = x.sum(dim: 1, keepDims: true)
let model = Sequential { Linear(8, 64); ReLU(); Linear(64, 1) }
let optimizer = SGD(model.parameters(), learningRate: 0.01, momentum: 0.9)
// …and the trainer broadcasts rank 0's weights
let trainer = try Trainer(
    model: model,
    loss: { output, batch in Loss.mse(output, batch.targets) },
    optimizer: optimizer,
    train: DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 64,
                      shuffle: true, seed: 1,
                      // this rank's part of each epoch
                      shard: DataShard(index: group.rank,
                                       count: group.size)),
    // prints on rank 0 only
    epochs: 2, callbacks: [ProgressLogger(every: 0)],
    // gradients averaged over the ranks every step
    processGroup: group)
let records = try trainer.fit()
if trainer.isPrimary {
    print("\(group.size) ranks, final loss \(records.last!.loss)")
}
group.finish()
// snippet.end
