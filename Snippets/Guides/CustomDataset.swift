// Your own data: a labelled dataset read from a CSV file, batched by a
// DataLoader.
import Foundation
import Strata

// snippet.dataset
/// Rows of `feature,feature,…,label` from a CSV file: float32 inputs
/// `[features]` and int64 labels.
struct CSVDataset: Dataset {
    // [count, featureCount], row-major
    let features: [Float]
    let labels: [Int]
    let featureCount: Int, classCount: Int

    init(contentsOf url: URL) throws {
        var features: [Float] = [], labels: [Int] = [], width: Int?
        let text = try String(contentsOf: url, encoding: .utf8)
        for (line, text) in text.split(separator: "\n").enumerated() {
            let fields = text.split(separator: ",")
            guard let label = fields.last.flatMap({ Int($0) }), label >= 0,
                  width == nil || fields.count - 1 == width else {
                // name the file and the row, never trap
                throw CSVError.badRow(url, line: line + 1)
            }
            let row = fields.dropLast().compactMap { Float($0) }
            guard row.count == fields.count - 1 else {
                throw CSVError.badRow(url, line: line + 1)
            }
            width = row.count
            features += row
            labels.append(label)
        }
        (self.features, self.labels) = (features, labels)
        featureCount = width ?? 0
        classCount = (labels.max() ?? -1) + 1
    }

    var count: Int { labels.count }
    var exampleShape: [Int] { [featureCount] }
    func label(at index: Int) -> Int { labels[index] }
    /// Copies examples `indices` straight into the batch's buffers: row `r`
    /// ← example `indices[r]`.
    func gather(_ indices: [Int], inputs: UnsafeMutableBufferPointer<Float>,
                labels out: UnsafeMutableBufferPointer<Int64>) {
        for (r, i) in indices.enumerated() {
            let (row, example) = (r * featureCount, i * featureCount)
            for j in 0..<featureCount {
                inputs[row + j] = features[example + j]
            }
            out[r] = Int64(labels[i])
        }
    }
}

enum CSVError: Error { case badRow(URL, line: Int) }
// snippet.end

// snippet.hide
let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("strata-example-\(UUID().uuidString).csv")
let rows = (0..<100).map { i in
    "\(Double(i) / 100),\(Double(i % 7) / 7),\(i % 3)"
}
try rows.joined(separator: "\n")
    .write(to: url, atomically: true, encoding: .utf8)
// snippet.show

// snippet.load
let dataset = try CSVDataset(contentsOf: url)
// two DatasetSubsets
let (train, validation) =
    dataset.randomSplit(validationFraction: 0.2, seed: 0)
let loader = DataLoader(train, batchSize: 16, shuffle: true, seed: 1,
                        // per column of [B, 2]
                        transforms: [Normalize(mean: [0.5, 0.43],
                                               std: [0.29, 0.29])])
for batch in loader.prefix(2) {
    // prints [16, 2] int64 0 0, then … 0 1
    print(batch.inputs.shape, batch.targets.dtype, batch.epoch, batch.index)
}
// prints 80 20 [34, 33, 33]
print(train.count, validation.count, dataset.labelCounts())
// snippet.end
try FileManager.default.removeItem(at: url)
