// Trains a two-layer perceptron on MNIST for one epoch with
// StrataTraining's Trainer, then reports the test accuracy. Run it with
// `swift run -c release MNISTTraining`; `MNISTTraining 2000` trains on the
// first 2,000 images only.
import Strata
import StrataTraining

let limit = CommandLine.arguments.dropFirst().first.flatMap(Int.init)
Strata.seed(0)
// the repository's MNIST: any directory holding the four IDX files
let directory = EmbeddedData.mnistDirectory
let trainImages = try MNIST(directory: directory, split: .train)
let testImages = try MNIST(directory: directory, split: .test)
let count = min(limit ?? trainImages.count, trainImages.count)
let train = DatasetSubset(trainImages, indices: Array(0..<count))
let model = Sequential {
    Flatten()                                // [B, 1, 28, 28] → [B, 784]
    Linear(784, 128); ReLU()
    Linear(128, 10)                          // logits [B, 10]
}
let optimizer = Adam(model.parameters(), learningRate: 2e-3)
let trainer = try Trainer(
    model: model,
    loss: { logits, batch in Loss.crossEntropy(logits, batch.targets) },
    optimizer: optimizer,
    train: DataLoader(train, batchSize: 64, shuffle: true, seed: 1),
    validation: DataLoader(testImages, batchSize: 1000),
    metrics: [Accuracy()],
    epochs: 1,
    callbacks: [ProgressLogger(every: 100)])
let record = try trainer.fit().last!
print("test accuracy \(record.validation!.metrics["accuracy"]!)")
