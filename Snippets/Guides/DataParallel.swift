// Data-parallel training over Open MPI: run it with `mpirun -np 2 .build/release/DataParallel`.
import Strata
import StrataDistributed
import StrataTraining

// snippet.start
let group = try MPIProcessGroup.start()                 // joins MPI_COMM_WORLD: rank, size
Strata.threads = group.threadsPerRank                   // the host's cores shared among its ranks
Strata.seed(0)                                          // every rank builds the same model…
// snippet.end

// snippet.fit
let x = Tensor.normal([4096, 8]), y = x.sum(dim: 1, keepDims: true)   // the same data on every rank
let model = Sequential { Linear(8, 64); ReLU(); Linear(64, 1) }
let optimizer = SGD(model.parameters(), learningRate: 0.01, momentum: 0.9)
let trainer = try Trainer(                              // …and the trainer broadcasts rank 0's weights
    model: model, loss: { output, batch in Loss.mse(output, batch.targets) }, optimizer: optimizer,
    train: DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 64, shuffle: true, seed: 1,
                      shard: DataShard(index: group.rank, count: group.size)),   // this rank's part of each epoch
    epochs: 2, callbacks: [ProgressLogger(every: 0)],   // prints on rank 0 only
    processGroup: group)                                // gradients averaged over the ranks every step
let records = try trainer.fit()
if trainer.isPrimary { print("\(group.size) ranks, final loss \(records.last!.loss)") }
group.finish()
// snippet.end
