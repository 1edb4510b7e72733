import Foundation
import Strata
import Testing

@Suite struct EmbeddedMNISTTests {
    @Test func directoryIsFoundFromTheSourcePath() throws {
        let root = try #require(EmbeddedData.packageRoot)
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path))
        #expect(EmbeddedData.mnistDirectory.standardizedFileURL == root.appendingPathComponent("Data/mnist").standardizedFileURL)
    }

    @Test func checksumsMatchTheManifest() throws {
        let directory = EmbeddedData.mnistDirectory
        let manifest = try String(contentsOf: directory.appendingPathComponent("SHA256SUMS"), encoding: .utf8)
        let names = manifest.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true).last.map(String.init) ?? "" }
        #expect(names.sorted() == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                                   "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"])
        let (status, output) = try run("/usr/bin/sha256sum", ["--check", "--strict", "SHA256SUMS"], in: directory)
        #expect(status == 0)
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 4 && lines.allSatisfy { $0.hasSuffix(": OK") }, "\(lines)")
    }

    @Test func trainSplitHas60000ImagesWithTheKnownLabelCounts() throws {
        let train = try EmbeddedMNIST.train.get()
        #expect(train.count == 60_000 && train.exampleShape == [1, 28, 28])
        // The published per-digit counts of MNIST's training set (e.g. torchvision's targets.bincount()).
        #expect(train.labelCounts() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
        // The first training digit is a 5 and the first test digit a 7.
        #expect(train.label(at: 0) == 5)
        let (input, label) = train.example(at: 0)
        let pixels = input.scalars(as: Float.self)
        #expect(label == 5 && input.shape == [1, 28, 28])
        #expect(pixels.min() == 0 && pixels.max() == 1)
        // Image 0 has 166 non-zero pixels and a maximum byte of 255 (counted in Python from gzip.open(f).read()[16:800]).
        #expect(pixels.filter { $0 > 0 }.count == 166)
    }

    @Test func testSplitHas10000Images() throws {
        let test = try EmbeddedMNIST.test.get()
        #expect(test.count == 10_000 && test.label(at: 0) == 7)
        // Counted from the labels file with Python: collections.Counter(gzip.open(f).read()[8:]).
        #expect(test.labelCounts() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
        #expect(test.imagesFile.lastPathComponent == "t10k-images-idx3-ubyte.gz")
    }

    @Test func rawFilesDecodeLikeTheGzippedOnes() throws {
        // Inflate the test labels with the gzip tool and load the raw file next to the gzipped images.
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let source = EmbeddedData.mnistDirectory
        try FileManager.default.copyItem(at: source.appendingPathComponent("t10k-images-idx3-ubyte.gz"), to: dir.file("t10k-images-idx3-ubyte.gz"))
        let (status, raw) = try run("/bin/gzip", ["-dc", source.appendingPathComponent("t10k-labels-idx1-ubyte.gz").path])
        #expect(status == 0 && raw.count == 10_008)
        try raw.write(to: dir.file("t10k-labels-idx1-ubyte"))
        let fromRaw = try MNIST(directory: dir.url, split: .test)
        #expect(fromRaw.labelsFile.lastPathComponent == "t10k-labels-idx1-ubyte")
        let embedded = try EmbeddedMNIST.test.get()
        #expect((0..<10_000).allSatisfy { fromRaw.label(at: $0) == embedded.label(at: $0) })
    }

    @Test func loaderCoversTheTestSplitOnce() throws {
        let test = try EmbeddedMNIST.test.get()
        let loader = DataLoader(test, batchSize: 512, shuffle: true, seed: 1, prefetch: 2)
        var counts = [Int](repeating: 0, count: 10), batches = 0
        for batch in loader {
            #expect(batch.inputs.shape[1...] == [1, 28, 28] && batch.inputs.dtype == .float32)
            for label in batch.targets.scalars(as: Int64.self) { counts[Int(label)] += 1 }
            batches += 1
        }
        #expect(batches == 20 && counts == test.labelCounts())
    }
}
