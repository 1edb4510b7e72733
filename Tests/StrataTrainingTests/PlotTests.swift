import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Strata
import StrataTraining
import Testing

/// Collects element names, `<text>` contents and parse errors from an SVG.
private final class SVGCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var attributes: [[String: String]] = []
    var texts: [String] = []
    var error: Error?
    private var current = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        elements.append(name)
        self.attributes.append(attributes)
        current = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) { current += string }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" || name == "title" { texts.append(current) }
        current = ""
    }

    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
}

/// Parses `svg`, expecting well-formed XML with an `<svg>` root.
private func parsed(_ svg: String, sourceLocation: SourceLocation = #_sourceLocation) -> SVGCollector {
    let collector = SVGCollector()
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = collector
    let ok = parser.parse()
    #expect(ok && collector.error == nil, "SVG is not well-formed: \(String(describing: collector.error))", sourceLocation: sourceLocation)
    #expect(collector.elements.first == "svg", sourceLocation: sourceLocation)
    return collector
}

/// Ten epochs of a plausible MNIST run.
private func sampleHistory(validation: Bool = true) -> [EpochRecord] {
    (1...10).map { e in
        let t = Double(e)
        return EpochRecord(epoch: e - 1, epochs: 10, globalStep: 100 * e, loss: 0.9 / t + 0.01,
                           metrics: ["accuracy": 1 - 0.12 / t],
                           validation: validation ? Evaluation(loss: 0.7 / t + 0.03, count: 1000, metrics: ["accuracy": 0.985 - 0.08 / t]) : nil,
                           learningRate: 0.01 * pow(0.9, t), seconds: 11.5)
    }
}

private func render(_ records: [EpochRecord], title: String) -> String { SVGPlot.render(records, metric: Accuracy(), title: title) }

@Suite struct PlotTests {
    @Test func svgIsWellFormedWithBothSeriesInBothPanels() {
        let svg = render(sampleHistory(), title: "MNIST · cnn")
        let doc = parsed(svg)
        #expect(doc.attributes[0]["viewBox"] == "0 0 960 460")
        #expect(doc.elements.filter { $0 == "polyline" }.count == 4)   // train and validation, loss and accuracy
        #expect(doc.texts.contains("Train"))
        #expect(doc.texts.contains("Validation"))
        #expect(doc.texts.contains("Loss"))
        #expect(doc.texts.contains("Accuracy (%)"))
        #expect(doc.texts.contains("Epoch"))
        #expect(doc.texts.contains("MNIST · cnn"))
        // Markers carry exact values: validation accuracy at epoch 10 is 98.5 − 0.8 = 97.7 %.
        #expect(doc.texts.contains("Epoch 10: validation accuracy 97.70%"))
        #expect(doc.texts.contains("Epoch 1: train loss 0.91"))
        // 10 circles (train) and 10 squares (validation) per panel.
        #expect(doc.elements.filter { $0 == "circle" }.count == 2 * 10 + 2)   // + the legend's and the ring on the best validation accuracy
        #expect(doc.texts.contains("best 97.70%"))
        // Summary line: best validation accuracy is the last epoch's; 10 × 11.5 s = 1 min 55 s.
        #expect(doc.texts.contains { $0.contains("best validation accuracy 97.70% (epoch 10)") && $0.contains("1 min 55 s") })
    }

    @Test func withoutValidationOnlyTheTrainSeriesIsDrawn() {
        let doc = parsed(render(sampleHistory(validation: false), title: "run"))
        #expect(doc.elements.filter { $0 == "polyline" }.count == 2)
        #expect(!doc.texts.contains("Validation"))
        #expect(doc.texts.contains { $0.contains("final train accuracy 98.80%") })
    }

    @Test func titlesAreEscapedAndDegenerateHistoriesStillRender() {
        let doc = parsed(render(sampleHistory(), title: "loss & <accuracy> \"quoted\""))
        #expect(doc.texts.contains("loss & <accuracy> \"quoted\""))

        let empty = parsed(render([], title: "empty"))
        #expect(empty.texts.contains("no data"))
        #expect(empty.texts.contains("No epochs recorded yet"))

        let one = parsed(render([sampleHistory()[0]], title: "one"))
        #expect(one.elements.contains("circle"))

        var diverged = sampleHistory()
        diverged[4].loss = .nan
        diverged[5].validation?.loss = .infinity
        let svg = render(diverged, title: "diverged")
        let doc2 = parsed(svg)
        #expect(!svg.lowercased().contains("nan") && !svg.contains("inf"))
        #expect(doc2.elements.filter { $0 == "polyline" }.count == 6)   // each loss series broken in two
    }

    @Test func niceTicksAreRound() {
        // Accuracy from 88 % to 98.5 %: steps of 2.
        let ticks = render(sampleHistory(), title: "t")
        let doc = parsed(ticks)
        for label in ["88", "90", "92", "94", "96", "98", "0.0", "0.2", "0.4", "0.6", "0.8", "1.0", "2", "4", "6", "8", "10"] {
            #expect(doc.texts.contains(label), "missing tick \(label)")
        }
    }

    @Test func aMetricThatIsNotAPercentageGetsItsOwnPanelAndItsBestIsTheSmallest() {
        let records = sampleHistory().map { r -> EpochRecord in
            var r = r
            r.metrics = ["mae": r.loss / 2]
            if let loss = r.validation?.loss { r.validation?.metrics = ["mae": loss / 2] }
            return r
        }
        let doc = parsed(SVGPlot.render(records, metric: MeanAbsoluteError(), title: "regression"))
        #expect(doc.texts.contains("MAE") && !doc.texts.contains("Accuracy (%)"))
        // Validation MAE falls every epoch: the best is the last, (0.7 / 10 + 0.03) / 2 = 0.05.
        #expect(doc.texts.contains("best 0.05") && doc.texts.contains { $0.contains("best validation mae 0.0500 (epoch 10)") })
        // Without a metric only the loss is drawn.
        let lossOnly = parsed(SVGPlot.render(records, metric: nil, title: "loss"))
        #expect(lossOnly.elements.filter { $0 == "polyline" }.count == 2 && !lossOnly.texts.contains("MAE"))
    }

    @Test func writeIsAtomic() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plot-\(UInt64.random(in: 0 ... .max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("curves.svg")
        try SVGPlot.write(sampleHistory(), metric: Accuracy(), title: "run", to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == render(sampleHistory(), title: "run"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["curves.svg"])   // no temporary left
        #expect(throws: (any Error).self) {
            try SVGPlot.write(sampleHistory(), metric: Accuracy(), title: "run", to: directory.appendingPathComponent("missing/curves.svg"))
        }
    }
}
