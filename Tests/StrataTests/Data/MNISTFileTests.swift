import Foundation
import Strata
import Testing

/// MNIST loading from small hand-built IDX files, including every way a file can be malformed.
@Suite struct MNISTFileTests {
    static let trainImages = "train-images-idx3-ubyte", trainLabels = "train-labels-idx1-ubyte"

    /// Writes a train split; `gzip` compresses both files and adds `.gz` to their names.
    func makeTrain(images: [UInt8], labels: [UInt8], gzip: Bool = false) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        let suffix = gzip ? ".gz" : ""
        try dir.write(Self.trainImages + suffix, gzip ? gzipped(images) : images)
        try dir.write(Self.trainLabels + suffix, gzip ? gzipped(labels) : labels)
        return dir
    }

    func loadError(images: [UInt8], labels: [UInt8], gzip: Bool,
                   sourceLocation: SourceLocation = #_sourceLocation) throws -> (DatasetError?, TemporaryDirectory) {
        let dir = try makeTrain(images: images, labels: labels, gzip: gzip)
        return (datasetError(sourceLocation: sourceLocation) { _ = try MNIST(directory: dir.url) }, dir)
    }

    static let goodImages = idx(dims: [2, 28, 28], body: imageBody(2))
    static let goodLabels = idx(dims: [2], body: [3, 9])

    @Test(arguments: [false, true])
    func loadsValidFilesRawAndGzipped(gzip: Bool) throws {
        let dir = try makeTrain(images: Self.goodImages, labels: Self.goodLabels, gzip: gzip)
        defer { dir.cleanup() }
        let mnist = try MNIST(directory: dir.url)
        #expect(mnist.count == 2)
        #expect(mnist.exampleShape == [1, 28, 28])
        let (input, label) = mnist.example(at: 1)
        #expect(input.shape == [1, 28, 28] && input.dtype == .float32)
        #expect(label == 9)
        // Pixel k of image 1 is (7 + k) mod 256, scaled by 1/255.
        let pixels = input.scalars(as: Float.self)
        #expect(pixels[0] == 7 / 255 && pixels[248] == 255 / 255 && pixels[249] == 0 && pixels[783] == Float((7 + 783) % 256) / 255)
        let (inputs, labels) = mnist.batch([1, 0])
        #expect(inputs.shape == [2, 1, 28, 28] && labels.shape == [2] && labels.dtype == .int64)
        #expect(labels.scalars(as: Int64.self) == [9, 3])
        #expect(mnist.imagesFile.lastPathComponent == Self.trainImages + (gzip ? ".gz" : ""))
        // Fashion-MNIST reads the same files; only the meaning of the labels differs.
        let fashion = try MNIST(directory: dir.url, kind: .fashionMNIST)
        #expect(fashion.label(at: 1) == 9 && fashion.classNames[9] == "Ankle boot" && mnist.classNames[9] == "9")
    }

    @Test func detectsCompressionByMagicNotExtension() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        // Gzipped bytes under the plain name, raw bytes under the .gz name.
        try dir.write(Self.trainImages, gzipped(Self.goodImages))
        try dir.write(Self.trainLabels + ".gz", Self.goodLabels)
        let mnist = try MNIST(directory: dir.url)
        #expect(mnist.count == 2 && mnist.label(at: 0) == 3)
    }

    @Test func readsFilesGzippedByTheGzipTool() throws {
        let dir = try makeTrain(images: Self.goodImages, labels: Self.goodLabels)
        defer { dir.cleanup() }
        #expect(try run("/bin/gzip", ["-9", dir.file(Self.trainImages).path, dir.file(Self.trainLabels).path]).status == 0)
        let mnist = try MNIST(directory: dir.url)
        #expect(mnist.imagesFile.lastPathComponent == Self.trainImages + ".gz")
        #expect(mnist.batch([0, 1]).inputs.scalars(as: Float.self) == imageBody(2).map { Float($0) / 255 })
    }

    @Test func missingFilesAreNamed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(datasetError { _ = try MNIST(directory: dir.url) } == .missingFile(dir.file(Self.trainImages)))
        try dir.write(Self.trainImages, Self.goodImages)
        #expect(datasetError { _ = try MNIST(directory: dir.url) } == .missingFile(dir.file(Self.trainLabels)))
        let testError = datasetError { _ = try MNIST(directory: dir.url, split: .test) }
        #expect(testError == .missingFile(dir.file("t10k-images-idx3-ubyte")))
        #expect(testError?.description.contains("t10k-images-idx3-ubyte") == true)
    }

    @Test(arguments: [false, true])
    func badMagic(gzip: Bool) throws {
        let (error, dir) = try loadError(images: idx(dims: [2, 28, 28], body: imageBody(2), magicHigh: [1, 0]),
                                         labels: Self.goodLabels, gzip: gzip)
        defer { dir.cleanup() }
        let file = dir.file(Self.trainImages + (gzip ? ".gz" : ""))
        #expect(error == .badMagic(file, magic: 0x0100_0803))
        #expect(error?.description.contains(file.lastPathComponent) == true)
    }

    @Test(arguments: [false, true])
    func unknownDTypeCode(gzip: Bool) throws {
        // 0x0D is IDX's float code: valid IDX, but not MNIST.
        let (error, dir) = try loadError(images: Self.goodImages, labels: idx(type: 0x0D, dims: [2], body: [3, 9]), gzip: gzip)
        defer { dir.cleanup() }
        #expect(error == .unsupportedDTypeCode(dir.file(Self.trainLabels + (gzip ? ".gz" : "")), code: 0x0D))
    }

    @Test(arguments: [false, true])
    func truncatedHeader(gzip: Bool) throws {
        let suffix = gzip ? ".gz" : ""
        // Two bytes: not even the magic number.
        var (error, dir) = try loadError(images: [0, 0], labels: Self.goodLabels, gzip: gzip)
        #expect(error == .truncatedHeader(dir.file(Self.trainImages + suffix), expectedBytes: 4, actualBytes: 2))
        dir.cleanup()
        // Rank 3 needs 16 header bytes; only one dimension follows the magic.
        (error, dir) = try loadError(images: Array(Self.goodImages[0..<8]), labels: Self.goodLabels, gzip: gzip)
        #expect(error == .truncatedHeader(dir.file(Self.trainImages + suffix), expectedBytes: 16, actualBytes: 8))
        dir.cleanup()
    }

    @Test(arguments: [false, true])
    func truncatedData(gzip: Bool) throws {
        // The header declares 2 images (1568 bytes); one image and a half follow.
        let images = Array(Self.goodImages.dropLast(392))
        let (error, dir) = try loadError(images: images, labels: Self.goodLabels, gzip: gzip)
        defer { dir.cleanup() }
        #expect(error == .truncatedData(dir.file(Self.trainImages + (gzip ? ".gz" : "")), expectedBytes: 1568, actualBytes: 1176))
    }

    @Test(arguments: [false, true])
    func headerClaimingBillionsOfBytesIsTruncatedNotAllocated(gzip: Bool) throws {
        // 4e9 labels declared, 2 present: the reader sizes its buffer by the file, not the header.
        let (error, dir) = try loadError(images: Self.goodImages, labels: idx(dims: [4_000_000_000], body: [3, 9]), gzip: gzip)
        defer { dir.cleanup() }
        #expect(error == .truncatedData(dir.file(Self.trainLabels + (gzip ? ".gz" : "")), expectedBytes: 4_000_000_000, actualBytes: 2))
    }

    @Test func trailingBytesRaw() throws {
        let (error, dir) = try loadError(images: Self.goodImages, labels: Self.goodLabels + [0, 0, 0], gzip: false)
        defer { dir.cleanup() }
        #expect(error == .trailingBytes(dir.file(Self.trainLabels), count: 3))
    }

    @Test func gzipInflatingPastTheDeclaredSizeStops() throws {
        // The header declares 2 labels (10 bytes in all); the stream holds 5 labels.
        let (error, dir) = try loadError(images: Self.goodImages, labels: Self.goodLabels + [1, 2, 3], gzip: true)
        defer { dir.cleanup() }
        #expect(error == .gzipExceedsDeclaredSize(dir.file(Self.trainLabels + ".gz"), declaredBytes: 10))
    }

    @Test func bytesAfterTheGzipStream() throws {
        let dir = try makeTrain(images: Self.goodImages, labels: Self.goodLabels, gzip: true)
        defer { dir.cleanup() }
        try dir.write(Self.trainLabels + ".gz", gzipped(Self.goodLabels) + [0xAB, 0xCD])
        #expect(datasetError { _ = try MNIST(directory: dir.url) } == .trailingBytes(dir.file(Self.trainLabels + ".gz"), count: 2))
    }

    @Test(arguments: [false, true])
    func dimensionProductOverflow(gzip: Bool) throws {
        // (2³² − 1)³ ≈ 7.9e28 does not fit in Int64.
        let dims: [UInt32] = [.max, .max, .max]
        let (error, dir) = try loadError(images: idx(dims: dims, body: []), labels: Self.goodLabels, gzip: gzip)
        defer { dir.cleanup() }
        #expect(error == .dimensionOverflow(dir.file(Self.trainImages + (gzip ? ".gz" : "")), dimensions: dims.map { Int($0) }))
    }

    @Test(arguments: [false, true])
    func unexpectedImageShape(gzip: Bool) throws {
        let suffix = gzip ? ".gz" : ""
        var (error, dir) = try loadError(images: idx(dims: [2, 28, 27], body: [UInt8](repeating: 0, count: 2 * 28 * 27)),
                                         labels: Self.goodLabels, gzip: gzip)
        #expect(error == .unexpectedShape(dir.file(Self.trainImages + suffix), shape: [2, 28, 27], expected: "[n, 28, 28]"))
        dir.cleanup()
        (error, dir) = try loadError(images: idx(dims: [2, 784], body: imageBody(2)), labels: Self.goodLabels, gzip: gzip)
        #expect(error == .unexpectedShape(dir.file(Self.trainImages + suffix), shape: [2, 784], expected: "[n, 28, 28]"))
        dir.cleanup()
        (error, dir) = try loadError(images: Self.goodImages, labels: idx(dims: [2, 1], body: [3, 9]), gzip: gzip)
        #expect(error == .unexpectedShape(dir.file(Self.trainLabels + suffix), shape: [2, 1], expected: "[n]"))
        dir.cleanup()
    }

    @Test func imageLabelCountMismatch() throws {
        let (error, dir) = try loadError(images: Self.goodImages, labels: idx(dims: [3], body: [1, 2, 3]), gzip: false)
        defer { dir.cleanup() }
        #expect(error == .countMismatch(images: dir.file(Self.trainImages), imageCount: 2, labels: dir.file(Self.trainLabels), labelCount: 3))
        #expect(error?.description.contains(Self.trainImages) == true && error?.description.contains(Self.trainLabels) == true)
    }

    @Test(arguments: [false, true])
    func labelOutOfRange(gzip: Bool) throws {
        let (error, dir) = try loadError(images: Self.goodImages, labels: idx(dims: [2], body: [9, 10]), gzip: gzip)
        defer { dir.cleanup() }
        #expect(error == .labelOutOfRange(dir.file(Self.trainLabels + (gzip ? ".gz" : "")), index: 1, label: 10, classCount: 10))
    }

    @Test func corruptGzip() throws {
        let dir = try makeTrain(images: Self.goodImages, labels: Self.goodLabels, gzip: true)
        defer { dir.cleanup() }
        let file = dir.file(Self.trainImages + ".gz")
        let good = gzipped(Self.goodImages)
        // A flipped byte in the deflate data, and then the compressed stream cut in half.
        var flipped = good
        flipped[good.count / 2] ^= 0xFF
        try dir.write(file.lastPathComponent, flipped)
        let flippedError = datasetError { _ = try MNIST(directory: dir.url) }
        guard case .corruptGzip(file, _)? = flippedError else { Issue.record("got \(String(describing: flippedError))"); return }
        try dir.write(file.lastPathComponent, Array(good[..<(good.count / 2)]))
        let cutError = datasetError { _ = try MNIST(directory: dir.url) }
        guard case .corruptGzip(file, let reason)? = cutError else { Issue.record("got \(String(describing: cutError))"); return }
        #expect(reason.contains("ends early"))
        #expect(cutError!.description.contains(file.lastPathComponent))
    }

    @Test func gzipTrailerSizeDisagreesWithInflatedSize() throws {
        let dir = try makeTrain(images: Self.goodImages, labels: Self.goodLabels, gzip: true)
        defer { dir.cleanup() }
        // ISIZE is the last 4 bytes, little-endian: 10 inflated bytes. Claim 11; the CRC stays right.
        var labels = gzipped(Self.goodLabels)
        #expect(Array(labels.suffix(4)) == [10, 0, 0, 0])
        labels[labels.count - 4] = 11
        try dir.write(Self.trainLabels + ".gz", labels)
        let error = datasetError { _ = try MNIST(directory: dir.url) }
        #expect(error == .gzipSizeMismatch(dir.file(Self.trainLabels + ".gz"), trailerSize: 11, inflatedSize: 10))
    }

    @Test func gzipRoundTripAndLimit() throws {
        let bytes = (0..<100_000).map { UInt8($0 % 251) }
        let file = URL(fileURLWithPath: "/nowhere/x.gz")
        let compressed = Gzip.compress(bytes)
        #expect(Gzip.isGzip(compressed) && !Gzip.isGzip(Data(bytes)))
        #expect(try [UInt8](Gzip.decompress(compressed, file: file)) == bytes)
        #expect(datasetError { _ = try Gzip.decompress(compressed, file: file, limit: 99_999) }
                == .gzipExceedsDeclaredSize(file, declaredBytes: 99_999))
    }
}
