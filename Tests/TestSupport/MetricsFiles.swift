import Foundation
import Testing

/// The rows of a metrics file (`MetricsLogger`'s CSV, or JSON Lines read with Foundation's own parser), each as
/// column → text (`""` for a missing value), expecting the CSV header and every row to have exactly `columns`.
public func metricsRows(_ url: URL, columns: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: String]] {
    let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init)
    var rows: [[String: String]] = []
    if url.pathExtension == "csv" {
        #expect(lines.first == columns.joined(separator: ","), sourceLocation: sourceLocation)
        for line in lines.dropFirst() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(fields.count == columns.count, "\(line)", sourceLocation: sourceLocation)
            rows.append(Dictionary(uniqueKeysWithValues: zip(columns, fields)))
        }
    } else {
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                                      sourceLocation: sourceLocation)
            #expect(Set(object.keys) == Set(columns), "\(line)", sourceLocation: sourceLocation)
            rows.append(object.mapValues { $0 is NSNull ? "" : "\($0)" })
        }
    }
    return rows
}
