import Strata

/// The real MNIST files in the repository's Data/mnist, decoded once per test process.
public enum EmbeddedMNIST {
    public static let train = Result { try MNIST(directory: EmbeddedData.mnistDirectory, split: .train) }
    public static let test = Result { try MNIST(directory: EmbeddedData.mnistDirectory, split: .test) }
}
