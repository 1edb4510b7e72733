import Foundation
import Strata

/// Renders a run's epochs as a self-contained SVG: a loss panel and a panel of one metric side by side (percent
/// for a percentage), train and validation curves with markers, gridlines at round tick values, a legend and a
/// summary line.
///
/// The SVG has a `viewBox` and scales to its container (`max-width: 100%`); every marker carries a `<title>`
/// tooltip with the exact values. Non-finite values (a diverged loss) are left out, breaking the line.
public enum SVGPlot {
    /// The SVG text for `records` (in epoch order) and `metric`'s panel, headed by `title`.
    public static func render(_ records: [EpochRecord], metric: (any Metric)?, title: String) -> String {
        var svg = SVGBuilder()
        svg.text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        let (width, height) = (960.0, 460.0)
        svg.open("svg", ["xmlns": "http://www.w3.org/2000/svg", "viewBox": "0 0 \(fmt(width)) \(fmt(height))",
                         "width": fmt(width), "height": fmt(height), "role": "img", "aria-label": title,
                         "style": "max-width:100%;height:auto",
                         "font-family": "Inter, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"])
        svg.element("title", [:], text: title)
        svg.element("rect", ["x": "0", "y": "0", "width": fmt(width), "height": fmt(height), "rx": "10", "fill": "#ffffff"])
        svg.element("text", ["x": "32", "y": "40", "font-size": "21", "font-weight": "600", "fill": "#111827"], text: title)
        svg.element("text", ["x": "32", "y": "64", "font-size": "13.5", "fill": "#6b7280"], text: subtitle(records, metric: metric))
        legend(&svg, hasValidation: records.contains { $0.validation != nil }, right: width - 32, y: 40)

        let loss = Panel(title: "Loss", train: records.map { ($0.epoch + 1, $0.loss) },
                         validation: records.compactMap { r in r.validation.map { (r.epoch + 1, $0.loss) } },
                         valueLabel: "loss", percent: false, higherIsBetter: false)
        loss.draw(&svg, frame: (x: 92, y: 110, width: 350, height: 280))
        if let metric {
            let scale = metric.isPercentage ? 100.0 : 1
            // Abbreviations in capitals (MSE, MAE), words capitalised (Accuracy, Perplexity).
            let name = metric.name.count <= 3 ? metric.name.uppercased() : metric.name.prefix(1).uppercased() + metric.name.dropFirst()
            let panel = Panel(title: name + (metric.isPercentage ? " (%)" : ""),
                              train: records.map { ($0.epoch + 1, scale * ($0.metrics[metric.name] ?? .nan)) },
                              validation: records.compactMap { r in r.validation.map { (r.epoch + 1, scale * ($0.metrics[metric.name] ?? .nan)) } },
                              valueLabel: metric.name, percent: metric.isPercentage, higherIsBetter: metric.higherIsBetter)
            panel.draw(&svg, frame: (x: 568, y: 110, width: 350, height: 280))
        }
        svg.close("svg")
        return svg.text
    }

    /// Renders `records` and writes them to `url` atomically (readers see the old chart or the new one).
    public static func write(_ records: [EpochRecord], metric: (any Metric)?, title: String, to url: URL) throws {
        try AtomicFile.write(Array(render(records, metric: metric, title: title).utf8), to: url)
    }

    /// "10 epochs · best validation accuracy 98.92% (epoch 8) · final train loss 0.0213 · 1 m 32 s".
    private static func subtitle(_ epochs: [EpochRecord], metric: (any Metric)?) -> String {
        guard let last = epochs.last else { return "No epochs recorded yet" }
        var parts = ["\(epochs.count) epoch\(epochs.count == 1 ? "" : "s")"]
        if let metric {
            let validated = epochs.compactMap { r in r.validation?.metrics[metric.name].flatMap { $0.isFinite ? (r.epoch + 1, $0) : nil } }
            let final = last.metrics[metric.name] ?? .nan
            if let best = validated.max(by: { metric.higherIsBetter ? $0.1 < $1.1 : $0.1 > $1.1 }) {
                parts.append("best validation \(metric.name) \(metric.format(best.1)) (epoch \(best.0))")
            } else if final.isFinite {
                parts.append("final train \(metric.name) \(metric.format(final))")
            }
        }
        if last.loss.isFinite { parts.append("final train loss \(String(format: "%.4g", last.loss))") }
        parts.append("lr \(String(format: "%.3g", last.learningRate))")
        let seconds = epochs.reduce(0) { $0 + ($1.seconds.isFinite ? $1.seconds : 0) }
        let whole = Int(seconds.rounded())
        parts.append(whole >= 3600 ? "\(whole / 3600) h \(whole % 3600 / 60) min"
                     : whole >= 60 ? "\(whole / 60) min \(whole % 60) s" : String(format: "%.1f s", seconds))
        return parts.joined(separator: "  ·  ")
    }

    private static func legend(_ svg: inout SVGBuilder, hasValidation: Bool, right: Double, y: Double) {
        var items = [Series.train]
        if hasValidation { items.append(.validation) }
        var x = right - Double(items.count) * 118 + 10
        for item in items {
            svg.element("line", ["x1": fmt(x), "y1": fmt(y - 5), "x2": fmt(x + 28), "y2": fmt(y - 5),
                                 "stroke": item.color, "stroke-width": "2.5", "stroke-linecap": "round"])
            item.marker(&svg, x: x + 14, y: y - 5, radius: 4)
            svg.element("text", ["x": fmt(x + 36), "y": fmt(y), "font-size": "14", "fill": "#374151"], text: item.label)
            x += 118
        }
    }
}

/// The two series: colour (colour-blind safe blue/orange), marker shape and label.
private enum Series {
    case train, validation

    var color: String { self == .train ? "#2563eb" : "#ea580c" }
    var label: String { self == .train ? "Train" : "Validation" }

    /// A circle for train, a square for validation, so the series differ without colour too.
    func marker(_ svg: inout SVGBuilder, x: Double, y: Double, radius: Double, tooltip: String? = nil) {
        let shape: (String, [String: String]) = self == .train
            ? ("circle", ["cx": fmt(x), "cy": fmt(y), "r": fmt(radius)])
            : ("rect", ["x": fmt(x - radius * 0.9), "y": fmt(y - radius * 0.9), "width": fmt(radius * 1.8), "height": fmt(radius * 1.8), "rx": "1"])
        let style = ["fill": color, "stroke": "#ffffff", "stroke-width": "1.5"]
        if let tooltip {
            svg.open(shape.0, shape.1.merging(style) { a, _ in a })
            svg.element("title", [:], text: tooltip)
            svg.close(shape.0)
        } else {
            svg.element(shape.0, shape.1.merging(style) { a, _ in a })
        }
    }
}

/// One chart: axes, gridlines, ticks and the two series.
private struct Panel {
    let title: String
    let train: [(Int, Double)]
    let validation: [(Int, Double)]
    let valueLabel: String
    let percent: Bool
    let higherIsBetter: Bool

    func draw(_ svg: inout SVGBuilder, frame: (x: Double, y: Double, width: Double, height: Double)) {
        let (left, top, width, height) = frame
        let (right, bottom) = (left + width, top + height)
        svg.element("text", ["x": fmt(left), "y": fmt(top - 16), "font-size": "15", "font-weight": "600", "fill": "#1f2937"], text: title)

        let epochs = (train.map(\.0) + validation.map(\.0))
        let values = (train + validation).map(\.1).filter(\.isFinite)
        guard let firstEpoch = epochs.min(), let lastEpoch = epochs.max(), let low = values.min(), let high = values.max() else {
            svg.element("rect", ["x": fmt(left), "y": fmt(top), "width": fmt(width), "height": fmt(height), "fill": "#f9fafb", "stroke": "#e5e7eb"])
            svg.element("text", ["x": fmt(left + width / 2), "y": fmt(top + height / 2), "font-size": "14", "fill": "#9ca3af",
                                 "text-anchor": "middle"], text: "no data")
            return
        }
        // x: whole epochs, with half an epoch of margin so the end markers are not cut by the frame.
        let xTicks = plotNiceTicks(low: Double(firstEpoch), high: Double(lastEpoch), target: 8, integer: true)
        let xMargin = firstEpoch == lastEpoch ? 1 : Swift.max(0.4, 0.02 * Double(lastEpoch - firstEpoch))
        let (xLow, xHigh) = (Double(firstEpoch) - xMargin, Double(lastEpoch) + xMargin)
        // y: round bounds around the data plus a 6% margin, so no point sits on the frame; a loss axis starts at 0
        // when the data comes near it, an accuracy axis stays within [0, 100].
        var (yLow, yHigh) = (low, high)
        if yHigh - yLow < 1e-12 { (yLow, yHigh) = (yLow - Swift.max(abs(yLow) * 0.1, percent ? 1 : 0.1), yHigh + Swift.max(abs(yHigh) * 0.1, percent ? 1 : 0.1)) }
        let margin = 0.06 * (yHigh - yLow)
        (yLow, yHigh) = (yLow - margin, yHigh + margin)
        if !percent && low >= 0 && (yLow < 0 || low < 0.35 * high) { yLow = 0 }
        if percent { (yLow, yHigh) = (Swift.max(yLow, 0), Swift.min(yHigh, 100)) }
        let yTicks = plotNiceTicks(low: yLow, high: yHigh, target: 6, integer: false)
        let yMin = yTicks.values.first!, yMax = yTicks.values.last!
        func px(_ epoch: Double) -> Double { left + (epoch - xLow) / (xHigh - xLow) * width }
        func py(_ value: Double) -> Double { bottom - (value - yMin) / (yMax - yMin) * height }

        svg.element("rect", ["x": fmt(left), "y": fmt(top), "width": fmt(width), "height": fmt(height), "fill": "#fbfcfe"])
        for v in yTicks.values {
            svg.element("line", ["x1": fmt(left), "y1": fmt(py(v)), "x2": fmt(right), "y2": fmt(py(v)), "stroke": "#e5e7eb", "stroke-width": "1"])
            svg.element("text", ["x": fmt(left - 10), "y": fmt(py(v) + 4.5), "font-size": "12.5", "fill": "#4b5563", "text-anchor": "end"],
                        text: tickLabel(v, step: yTicks.step))
        }
        for v in xTicks.values where v >= xLow && v <= xHigh {
            svg.element("line", ["x1": fmt(px(v)), "y1": fmt(top), "x2": fmt(px(v)), "y2": fmt(bottom), "stroke": "#f0f1f4", "stroke-width": "1"])
            svg.element("line", ["x1": fmt(px(v)), "y1": fmt(bottom), "x2": fmt(px(v)), "y2": fmt(bottom + 5), "stroke": "#9ca3af", "stroke-width": "1"])
            svg.element("text", ["x": fmt(px(v)), "y": fmt(bottom + 20), "font-size": "12.5", "fill": "#4b5563", "text-anchor": "middle"],
                        text: tickLabel(v, step: 1))
        }
        svg.element("line", ["x1": fmt(left), "y1": fmt(bottom), "x2": fmt(right), "y2": fmt(bottom), "stroke": "#9ca3af", "stroke-width": "1.2"])
        svg.element("line", ["x1": fmt(left), "y1": fmt(top), "x2": fmt(left), "y2": fmt(bottom), "stroke": "#9ca3af", "stroke-width": "1.2"])
        svg.element("text", ["x": fmt(left + width / 2), "y": fmt(bottom + 42), "font-size": "13", "fill": "#374151", "text-anchor": "middle"], text: "Epoch")
        svg.element("text", ["x": fmt(left - 58), "y": fmt(top + height / 2), "font-size": "13", "fill": "#374151", "text-anchor": "middle",
                             "transform": "rotate(-90 \(fmt(left - 58)) \(fmt(top + height / 2)))"], text: percent ? "Accuracy (%)" : "Loss")

        let pointCount = Swift.max(train.count, validation.count)
        let radius = pointCount > 60 ? 0 : pointCount > 25 ? 2.5 : 3.8
        for (series, points) in [(Series.train, train), (Series.validation, validation)] where !points.isEmpty {
            // Consecutive finite points form one polyline; a non-finite value breaks the line.
            var runs: [[(Int, Double)]] = [[]]
            for point in points {
                if point.1.isFinite { runs[runs.count - 1].append(point) } else if !runs[runs.count - 1].isEmpty { runs.append([]) }
            }
            svg.open("g", ["fill": "none", "stroke": series.color, "stroke-width": "2.4", "stroke-linejoin": "round", "stroke-linecap": "round"])
            for run in runs where run.count > 1 {
                svg.element("polyline", ["points": run.map { "\(fmt(px(Double($0.0)))),\(fmt(py($0.1)))" }.joined(separator: " ")])
            }
            svg.close("g")
            for (epoch, value) in points where value.isFinite && (radius > 0 || points.count == 1) {
                let shown = percent ? String(format: "%.2f%%", value) : String(format: "%.4g", value)
                series.marker(&svg, x: px(Double(epoch)), y: py(value), radius: Swift.max(radius, 3.8),
                              tooltip: "Epoch \(epoch): \(series.label.lowercased()) \(valueLabel) \(shown)")
            }
        }
        // The metric's best validation value, ringed and labelled: the number a reader looks for first.
        if valueLabel != "loss", let best = validation.filter({ $0.1.isFinite }).max(by: { higherIsBetter ? $0.1 < $1.1 : $0.1 > $1.1 }) {
            let (x, y) = (px(Double(best.0)), py(best.1))
            svg.element("circle", ["cx": fmt(x), "cy": fmt(y), "r": "8", "fill": "none", "stroke": Series.validation.color,
                                   "stroke-width": "1.5", "stroke-opacity": "0.7"])
            // Validation usually runs below train, so the label goes under the point unless that leaves the frame.
            let above = bottom - y < 30
            svg.element("text", ["x": fmt(Swift.min(x, right - 4)), "y": fmt(above ? y - 14 : y + 25), "font-size": "12.5", "font-weight": "600",
                                 "fill": "#c2410c", "text-anchor": x > right - 60 ? "end" : "middle",
                                 "stroke": "#ffffff", "stroke-width": "4", "stroke-linejoin": "round", "paint-order": "stroke"],
                        text: percent ? String(format: "best %.2f%%", best.1) : String(format: "best %.4g", best.1))
        }
    }
}

/// Round tick values covering `low...high`: the finest step of 1, 2 or 5 × 10ᵏ giving at most `target + 2` ticks.
func plotNiceTicks(low: Double, high: Double, target: Int, integer: Bool) -> (values: [Double], step: Double) {
    let span = Swift.max(high - low, 1e-12)
    let base = pow(10, (log10(span / Double(Swift.max(target, 1)))).rounded(.down))
    var step = 10 * base
    search: for scale in [1.0, 10, 100] {
        for factor in [1.0, 2, 5] {
            let candidate = integer ? Swift.max(1, (factor * scale * base).rounded(.up)) : factor * scale * base
            if (high / candidate).rounded(.up) - (low / candidate).rounded(.down) + 1 <= Double(target + 2) {
                step = candidate
                break search
            }
        }
    }
    let first = (low / step).rounded(.down) * step, last = (high / step).rounded(.up) * step
    var values: [Double] = []
    var v = first
    while v <= last + step * 1e-9 && values.count < 100 {
        values.append(abs(v) < step * 1e-9 ? 0 : v)
        v = first + Double(values.count) * step
    }
    return (values, step)
}

/// A tick value with just enough decimals for its step (`0.25`, `1.5`, `98`).
private func tickLabel(_ value: Double, step: Double) -> String {
    let decimals = step >= 1 ? 0 : Swift.min(6, Int((-log10(step)).rounded(.up)) + (abs(step * pow(10, (-log10(step)).rounded(.up)) - 2.5) < 1e-9 ? 1 : 0))
    return String(format: "%.\(decimals)f", value)
}

/// Coordinates with at most two decimals, and no trailing zeros.
private func fmt(_ value: Double) -> String {
    let rounded = (value * 100).rounded() / 100
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}

/// Accumulates SVG text, escaping attribute values and text.
private struct SVGBuilder {
    var text = ""
    private var depth = 0

    mutating func open(_ name: String, _ attributes: [String: String]) {
        text += indent + "<\(name)\(render(attributes))>\n"
        depth += 1
    }

    mutating func close(_ name: String) {
        depth -= 1
        text += indent + "</\(name)>\n"
    }

    mutating func element(_ name: String, _ attributes: [String: String], text content: String? = nil) {
        if let content {
            text += indent + "<\(name)\(render(attributes))>\(escape(content))</\(name)>\n"
        } else {
            text += indent + "<\(name)\(render(attributes))/>\n"
        }
    }

    private var indent: String { String(repeating: "  ", count: depth) }

    /// Attributes in a fixed order (`xmlns` and geometry first), so the output is deterministic.
    private func render(_ attributes: [String: String]) -> String {
        let order = ["xmlns", "viewBox", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "points"]
        let sorted = attributes.keys.sorted { a, b in
            let (ia, ib) = (order.firstIndex(of: a) ?? order.count, order.firstIndex(of: b) ?? order.count)
            return ia != ib ? ia < ib : a < b
        }
        return sorted.map { " \($0)=\"\(escape(attributes[$0]!))\"" }.joined()
    }

    private func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

/// Rewrites an SVG plot of the run's loss and first metric after every epoch (rank 0 only); a resumed run's
/// plot starts at the resumed epoch.
public final class PlotWriter: TrainingCallback {
    /// Where the SVG is written.
    public let url: URL
    /// The plot's title.
    public let title: String
    /// The epochs plotted so far.
    public private(set) var records: [EpochRecord] = []

    /// Writes the plot to `url`, titled `title`.
    public init(url: URL, title: String) { (self.url, self.title) = (url, title) }

    public func epochDidEnd(_ trainer: Trainer, _ record: EpochRecord) throws {
        guard trainer.isPrimary else { return }
        records.append(record)
        do { try SVGPlot.write(records, metric: trainer.metrics.first, title: title, to: url) } catch {
            throw TrainingError.logWriteFailed(url, reason: "\(error)")
        }
    }
}
