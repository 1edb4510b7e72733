import Foundation
import Strata
import Testing

/// CIFAR-10 and CIFAR-100 from small hand-built record files.
@Suite struct CIFARTests {
    /// A record: label bytes, then 3072 pixels where pixel k is `(seed + k) mod 256`.
    func record(_ labels: [UInt8], seed: Int) -> [UInt8] {
        labels + (0..<3072).map { (k: Int) -> UInt8 in UInt8(truncatingIfNeeded: seed + k) }
    }

    /// Writes CIFAR-10's six files; data_batch_b holds two records labelled b and b + 4 (mod 10).
    func makeCIFAR10() throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory()
        for b in 1...5 {
            try dir.write("data_batch_\(b).bin", record([UInt8(b)], seed: b) + record([UInt8((b + 4) % 10)], seed: 10 * b))
        }
        try dir.write("test_batch.bin", record([7], seed: 99))
        return dir
    }

    @Test func cifar10LoadsRecordsInFileOrder() throws {
        let dir = try makeCIFAR10()
        defer { dir.cleanup() }
        let train = try CIFAR10(directory: dir.url, split: .train)
        #expect(train.count == 10 && train.exampleShape == [3, 32, 32] && train.classCount == 10)
        #expect((0..<10).map(train.label(at:)) == [1, 5, 2, 6, 3, 7, 4, 8, 5, 9])
        let (input, label) = train.example(at: 3)  // second record of data_batch_2: seed 20
        #expect(input.shape == [3, 32, 32] && label == 6)
        let pixels = input.scalars(as: Float.self)
        // Channel 1 (green) starts at byte 1024: (20 + 1024) mod 256 = 20.
        #expect(pixels[0] == 20 / 255 && pixels[1024] == 20 / 255 && pixels[235] == 255 / 255 && pixels[3071] == Float((20 + 3071) % 256) / 255)
        let test = try CIFAR10(directory: dir.url, split: .test)
        #expect(test.count == 1 && test.label(at: 0) == 7)
    }

    @Test func cifar10MissingStandardFileIsNamed() throws {
        let dir = try makeCIFAR10()
        defer { dir.cleanup() }
        try FileManager.default.removeItem(at: dir.file("data_batch_3.bin"))
        let error = datasetError { _ = try CIFAR10(directory: dir.url) }
        #expect(error == .missingFile(dir.file("data_batch_3.bin")))
        #expect(error?.description.contains("data_batch_3.bin") == true)
    }

    @Test func cifar10PartialRecord() throws {
        let dir = try makeCIFAR10()
        defer { dir.cleanup() }
        try dir.write("test_batch.bin", record([7], seed: 0) + [1, 2, 3])
        #expect(datasetError { _ = try CIFAR10(directory: dir.url, split: .test) }
                == .partialRecord(dir.file("test_batch.bin"), byteCount: 3076, recordSize: 3073))
    }

    @Test func cifar10LabelOutOfRange() throws {
        let dir = try makeCIFAR10()
        defer { dir.cleanup() }
        try dir.write("data_batch_4.bin", record([2], seed: 0) + record([10], seed: 0))
        #expect(datasetError { _ = try CIFAR10(directory: dir.url) }
                == .labelOutOfRange(dir.file("data_batch_4.bin"), index: 1, label: 10, classCount: 10))
    }

    @Test func cifar10GzippedFileIsDetectedByMagic() throws {
        let dir = try makeCIFAR10()
        defer { dir.cleanup() }
        try dir.write("test_batch.bin", gzipped(record([7], seed: 99)))
        let test = try CIFAR10(directory: dir.url, split: .test)
        #expect(test.count == 1 && test.label(at: 0) == 7)
        #expect(test.example(at: 0).input.scalars(as: Float.self)[0] == Float(99) / 255)
    }

    @Test func cifar100UsesTheFineLabel() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        try dir.write("train.bin", record([3, 42], seed: 1) + record([19, 99], seed: 2) + record([0, 0], seed: 3))
        try dir.write("test.bin", record([5, 57], seed: 4))
        let train = try CIFAR100(directory: dir.url)
        #expect(train.count == 3 && train.classCount == 100 && train.exampleShape == [3, 32, 32])
        #expect((0..<3).map(train.label(at:)) == [42, 99, 0])
        #expect(train.batch([1]).inputs.scalars(as: Float.self)[0] == Float(2) / 255)
        #expect(try CIFAR100(directory: dir.url, split: .test).label(at: 0) == 57)
    }

    @Test func cifar100Errors() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        #expect(datasetError { _ = try CIFAR100(directory: dir.url) } == .missingFile(dir.file("train.bin")))
        try dir.write("train.bin", record([3, 100], seed: 1))
        #expect(datasetError { _ = try CIFAR100(directory: dir.url) }
                == .labelOutOfRange(dir.file("train.bin"), index: 0, label: 100, classCount: 100))
        try dir.write("train.bin", record([20, 5], seed: 1))
        #expect(datasetError { _ = try CIFAR100(directory: dir.url) }
                == .labelOutOfRange(dir.file("train.bin"), index: 0, label: 20, classCount: 20))
        // One CIFAR-10-sized record (3073 bytes) is not a whole number of 3074-byte records.
        try dir.write("train.bin", record([3], seed: 1))
        #expect(datasetError { _ = try CIFAR100(directory: dir.url) }
                == .partialRecord(dir.file("train.bin"), byteCount: 3073, recordSize: 3074))
    }
}

/// A CIFAR file larger than the memory budget is refused before it is read. The file is sparse: its size is
/// real, its disk use is not.
@Suite struct CIFARBudgetTests {
    @Test func aFileBeyondTheMemoryBudgetIsRefusedNamingIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let recordSize = 1 + 3072
        let size = (2 * MemoryBudget.bytes / recordSize) * recordSize
        for name in CIFAR10.fileNames(.train) + CIFAR10.fileNames(.test) { try dir.write(name, [UInt8](repeating: 0, count: recordSize)) }
        let huge = dir.file("data_batch_1.bin")
        let handle = try FileHandle(forWritingTo: huge)
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
        #expect(throws: SizeLimitError("\(huge.path): CIFAR file", .overBudget(bytes: size, budget: MemoryBudget.bytes))) {
            try CIFAR10(directory: dir.url, split: .train)
        }
    }
}
