import Foundation

/// One chart as a standalone SVG document: a plot area with linear axes on round-number ticks,
/// either line series over a numeric x axis or grouped bars over named categories, dashed
/// reference lines with labels, a legend, a title and axis labels.
///
/// Drawn by hand so the compressor needs nothing beyond Foundation. Non-finite numbers are dropped
/// here rather than trusted to callers, because one "nan" in an attribute makes the file invalid.
struct SVGChart {
    struct Point {
        var x: Double
        var y: Double
    }

    struct LineSeries {
        var name: String
        var color: String
        var points: [Point]
    }

    struct BarSeries {
        var name: String
        var color: String
        /// One per category; a non-finite value draws no bar.
        var values: [Double]
    }

    /// A labelled dashed line across the plot at `value` (of y when horizontal, of x when vertical).
    struct ReferenceLine {
        var value: Double
        var label: String
        var color: String
    }

    enum Content {
        case lines([LineSeries])
        case bars(categories: [String], series: [BarSeries])
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var content: Content
    var horizontalLines: [ReferenceLine] = []
    /// Line charts only; a point of a series at the same x gets a ring in the line's colour.
    var verticalLines: [ReferenceLine] = []
    /// Times and counts read honestly only from zero; accuracies near 90 % would flatten into a line.
    var yFromZero = true
    /// Values the y axis reaches even with no data there, such as 100 for a percentage of a whole.
    var yCovers: [Double] = []

    func render() -> String {
        let frame = PlotFrame(self)
        var svg = SVGWriter()
        svg.add("title", [:], text: title)
        svg.add("rect", ["class": "background", "width": "100%", "height": "100%", "fill": "white"])
        drawAxes(&svg, frame)
        switch content {
        case .lines(let series): drawLines(series, &svg, frame)
        case .bars(let categories, let series): drawBars(categories, series, &svg, frame)
        }
        drawReferenceLines(&svg, frame)
        drawLegend(&svg, frame)
        return svg.document(width: frame.width, height: frame.height)
    }

    /// Text for XML content and attributes: markup characters as entities, and the control
    /// characters XML 1.0 forbids dropped, since layer names are arbitrary text from a model file.
    static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    private func drawAxes(_ svg: inout SVGWriter, _ frame: PlotFrame) {
        svg.text(title, x: frame.width / 2, y: 26, anchor: "middle", size: 15, bold: true)
        for tick in frame.yScale.ticks {
            let y = frame.py(tick)
            svg.line(x1: frame.left, y1: y, x2: frame.right, y2: y, color: "#e3e3e3", width: 1)
            svg.text(frame.yScale.label(tick), x: frame.left - 6, y: y + 4, anchor: "end")
        }
        if case .lines = content {
            for tick in frame.xScale.ticks {
                let x = frame.px(tick)
                svg.line(x1: x, y1: frame.bottom, x2: x, y2: frame.bottom + 5, color: "#333", width: 1)
                svg.text(frame.xScale.label(tick), x: x, y: frame.bottom + 18, anchor: "middle")
            }
        }
        svg.line(x1: frame.left, y1: frame.top, x2: frame.left, y2: frame.bottom, color: "#333", width: 1)
        svg.line(x1: frame.left, y1: frame.bottom, x2: frame.right, y2: frame.bottom, color: "#333", width: 1)
        svg.text(xLabel, x: (frame.left + frame.right) / 2, y: frame.height - 12, anchor: "middle", size: 13)
        let middle = (frame.top + frame.bottom) / 2
        svg.text(yLabel, x: 18, y: middle, anchor: "middle", size: 13, rotation: -90)
    }

    private func drawLines(_ series: [LineSeries], _ svg: inout SVGWriter, _ frame: PlotFrame) {
        for line in series {
            let pixels = line.points.filter { $0.x.isFinite && $0.y.isFinite }.map { (frame.px($0.x), frame.py($0.y)) }
            if pixels.count >= 2 {
                let points = pixels.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " ")
                svg.add("polyline", [
                    "class": "series", "points": points, "fill": "none",
                    "stroke": line.color, "stroke-width": "2", "stroke-linejoin": "round",
                ])
            }
            for (x, y) in pixels {
                svg.add("circle", ["class": "marker", "cx": number(x), "cy": number(y), "r": "3.5", "fill": line.color])
            }
        }
    }

    private func drawBars(_ categories: [String], _ series: [BarSeries], _ svg: inout SVGWriter, _ frame: PlotFrame) {
        let band = frame.categoryBand(count: categories.count)
        let barWidth = band * 0.8 / Double(max(series.count, 1))
        let zero = frame.py(0)
        for (index, category) in categories.enumerated() {
            let start = frame.left + band * (Double(index) + 0.1)
            for (position, bars) in series.enumerated() where index < bars.values.count && bars.values[index].isFinite {
                let top = frame.py(bars.values[index])
                svg.add("rect", [
                    "class": "bar", "x": number(start + barWidth * Double(position)), "y": number(min(top, zero)),
                    "width": number(barWidth), "height": number(abs(zero - top)), "fill": bars.color,
                ])
            }
            let center = frame.left + band * (Double(index) + 0.5)
            let label = PlotFrame.shortened(category)
            if frame.rotatesCategories {
                svg.text(label, x: center + 4, y: frame.bottom + 12, anchor: "end", rotation: -40)
            } else {
                svg.text(label, x: center, y: frame.bottom + 18, anchor: "middle")
            }
        }
    }

    /// Horizontal labels sit in the right margin, clear of bars and curves. Vertical ones sit at the
    /// top on a white halo, one row lower each, so two lines at the same rank do not overprint.
    private func drawReferenceLines(_ svg: inout SVGWriter, _ frame: PlotFrame) {
        for line in horizontalLines where line.value.isFinite {
            let y = frame.py(line.value)
            svg.line(x1: frame.left, y1: y, x2: frame.right, y2: y, color: line.color, width: 1.5, dashed: true)
            svg.text(line.label, x: frame.right + 6, y: y + 4, anchor: "start", color: line.color)
        }
        guard case .lines(let series) = content else { return }
        for (row, line) in verticalLines.filter({ $0.value.isFinite }).enumerated() {
            let x = frame.px(line.value)
            svg.line(x1: x, y1: frame.top, x2: x, y2: frame.bottom, color: line.color, width: 1.5, dashed: true)
            let nearRightEdge = x > frame.left + (frame.right - frame.left) * 0.75
            svg.text(line.label, x: nearRightEdge ? x - 4 : x + 4, y: frame.top + 14 + 15 * Double(row),
                     anchor: nearRightEdge ? "end" : "start", color: line.color, halo: true)
            for point in series.flatMap(\.points) where point.x == line.value && point.y.isFinite {
                svg.add("circle", [
                    "class": "highlight", "cx": number(x), "cy": number(frame.py(point.y)), "r": number(7 + 3 * Double(row)),
                    "fill": "none", "stroke": line.color, "stroke-width": "2",
                ])
            }
        }
    }

    private func drawLegend(_ svg: inout SVGWriter, _ frame: PlotFrame) {
        for entry in frame.legend {
            switch content {
            case .lines:
                svg.line(x1: entry.x, y1: entry.y - 4, x2: entry.x + 18, y2: entry.y - 4, color: entry.color, width: 2)
                svg.add("circle", ["class": "legend", "cx": number(entry.x + 9), "cy": number(entry.y - 4), "r": "3.5", "fill": entry.color])
            case .bars:
                svg.add("rect", [
                    "class": "legend", "x": number(entry.x + 3), "y": number(entry.y - 10),
                    "width": "12", "height": "12", "fill": entry.color,
                ])
            }
            svg.text(entry.name, x: entry.x + 24, y: entry.y, anchor: "start")
        }
    }
}

/// A linear axis on round numbers: bounds and ticks at multiples of 1, 2, 2.5 or 5 × 10^k.
struct NiceScale {
    let lower: Double
    let upper: Double
    let step: Double

    init(covering values: [Double], fromZero: Bool, integerSteps: Bool = false, targetTicks: Int = 6) {
        let finite = values.filter(\.isFinite)
        var low = finite.min() ?? 0
        var high = finite.max() ?? 1
        if fromZero {
            low = min(low, 0)
            high = max(high, 0)
        }
        if high <= low {
            // A single value: widen the axis around it so it is drawn inside, not on the frame.
            if fromZero && low == 0 {
                high = 1
            } else {
                let pad = low == 0 ? 1 : abs(low) * 0.1
                low -= pad
                high += pad
            }
        }
        let raw = (high - low) / Double(max(targetTicks - 1, 1))
        let magnitude = pow(10, log10(raw).rounded(.down))
        let multiples: [Double] = integerSteps ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]
        var step = (multiples.first { $0 * magnitude >= raw } ?? 10) * magnitude
        if integerSteps { step = max(step, 1) }
        self.step = step
        // The slack keeps a bound that is already a multiple from gaining an empty extra step.
        lower = (low / step + 1e-9).rounded(.down) * step
        upper = (high / step - 1e-9).rounded(.up) * step
    }

    var ticks: [Double] {
        let count = Int(((upper - lower) / step).rounded()) + 1
        return (0..<count).map { lower + Double($0) * step }
    }

    func fraction(_ value: Double) -> Double { (value - lower) / (upper - lower) }

    /// Parameter counts run to millions; "2.5M" fits a margin that "2500000" does not.
    func label(_ value: Double) -> String {
        if abs(value) < step * 1e-6 { return "0" }
        let largest = max(abs(lower), abs(upper))
        let (divisor, suffix) = largest >= 1e6 ? (1e6, "M") : largest >= 1e4 ? (1e3, "k") : (1.0, "")
        let scaledStep = step / divisor
        var decimals = 0
        while decimals < 6 {
            let shifted = scaledStep * pow(10, Double(decimals))
            if abs(shifted - shifted.rounded()) < 1e-6 { break }
            decimals += 1
        }
        return String(format: "%.\(decimals)f", value / divisor) + suffix
    }
}

/// Where everything goes: margins are sized from the text they must hold, since SVG has no layout.
private struct PlotFrame {
    struct LegendEntry {
        var name: String
        var color: String
        var x: Double
        var y: Double
    }

    /// Rough advance of a 12 px sans-serif character; good enough to size margins and wrap legends.
    static let characterWidth = 7.0
    static let plotHeight = 300.0
    static let minimumWidth = 720.0

    let width: Double
    let height: Double
    let left: Double
    let top: Double
    let right: Double
    let bottom: Double
    let xScale: NiceScale
    let yScale: NiceScale
    let rotatesCategories: Bool
    let legend: [LegendEntry]

    init(_ chart: SVGChart) {
        var xValues = chart.verticalLines.map(\.value)
        var yValues = chart.horizontalLines.map(\.value) + chart.yCovers
        var categoryCount = 0
        var widestCategory = 0
        var seriesNames: [(String, String)] = []
        switch chart.content {
        case .lines(let series):
            for line in series {
                let points = line.points.filter { $0.x.isFinite && $0.y.isFinite }
                xValues += points.map(\.x)
                yValues += points.map(\.y)
            }
            seriesNames = series.map { ($0.name, $0.color) }
        case .bars(let categories, let series):
            yValues += series.flatMap(\.values)
            categoryCount = categories.count
            widestCategory = categories.map { Self.shortened($0).count }.max() ?? 0
            seriesNames = series.map { ($0.name, $0.color) }
        }
        xScale = NiceScale(covering: xValues, fromZero: false, integerSteps: true)
        let yScale = NiceScale(covering: yValues, fromZero: chart.yFromZero)
        self.yScale = yScale

        let widestTick = yScale.ticks.map { yScale.label($0).count }.max() ?? 1
        let widestReference = chart.horizontalLines.filter(\.value.isFinite).map(\.label.count).max() ?? 0
        let rightMargin = max(28, 14 + Double(widestReference) * Self.characterWidth)
        let minimumBand = 10 + 12 * Double(max(seriesNames.count, 1))
        var left = 40 + Double(widestTick) * Self.characterWidth
        // Wide enough for the title (bold 15 px) and for every category's bars.
        let minimumWidth = max(Self.minimumWidth, 40 + Double(chart.title.count) * 9)
        var plotWidth = max(minimumWidth - left - rightMargin, Double(categoryCount) * minimumBand)
        let band = categoryCount > 0 ? plotWidth / Double(categoryCount) : plotWidth
        rotatesCategories = Double(widestCategory) * Self.characterWidth > band * 0.95
        if rotatesCategories {
            // A label rotated by 40° reaches left of its bar by about cos 40° of its length.
            left = max(left, Double(widestCategory) * Self.characterWidth * 0.77 - band / 2 + 8)
            plotWidth = max(minimumWidth - left - rightMargin, Double(categoryCount) * minimumBand)
        }
        self.left = left
        width = left + plotWidth + rightMargin
        right = left + plotWidth

        // One legend row holds entries until the next would pass the plot's right edge.
        var entries: [LegendEntry] = []
        var row = 0
        if seriesNames.count >= 2 {
            var x = left
            for (name, color) in seriesNames {
                let entryWidth = 24 + Double(name.count) * Self.characterWidth + 20
                if x > left && x + entryWidth > right {
                    x = left
                    row += 1
                }
                entries.append(LegendEntry(name: name, color: color, x: x, y: 54 + 18 * Double(row)))
                x += entryWidth
            }
        }
        legend = entries
        top = entries.isEmpty ? 46 : 64 + 18 * Double(row)
        bottom = top + Self.plotHeight
        let tickLabelHeight = rotatesCategories ? 16 + Double(widestCategory) * Self.characterWidth * 0.64 : 24
        height = bottom + tickLabelHeight + 30
    }

    func px(_ x: Double) -> Double { left + xScale.fraction(x) * (right - left) }
    func py(_ y: Double) -> Double { bottom - yScale.fraction(y) * (bottom - top) }
    func categoryBand(count: Int) -> Double { (right - left) / Double(max(count, 1)) }

    /// Long layer names keep their informative end ("…layer4.1.conv2").
    static func shortened(_ label: String) -> String {
        label.count > 24 ? "…" + label.suffix(23) : label
    }
}

/// Collects elements and wraps them into the document.
private struct SVGWriter {
    private var elements: [String] = []

    mutating func add(_ name: String, _ attributes: KeyValuePairs<String, String>, text: String? = nil) {
        add(name, attributes.map { ($0.key, $0.value) }, text: text)
    }

    mutating func add(_ name: String, _ attributes: [(String, String)], text: String? = nil) {
        var tag = "<" + name
        for (key, value) in attributes { tag += " \(key)=\"\(SVGChart.escaped(value))\"" }
        if let text {
            elements.append(tag + ">" + SVGChart.escaped(text) + "</" + name + ">")
        } else {
            elements.append(tag + "/>")
        }
    }

    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, color: String, width: Double, dashed: Bool = false) {
        var attributes = [
            ("x1", number(x1)), ("y1", number(y1)), ("x2", number(x2)), ("y2", number(y2)),
            ("stroke", color), ("stroke-width", number(width)),
        ]
        if dashed { attributes += [("class", "reference"), ("stroke-dasharray", "6 4")] }
        add("line", attributes)
    }

    /// `halo` paints a white outline under the glyphs so the text reads over grid and data lines.
    mutating func text(_ content: String, x: Double, y: Double, anchor: String, size: Double = 12,
                       color: String = "#222", bold: Bool = false, rotation: Double? = nil, halo: Bool = false) {
        var attributes = [("x", number(x)), ("y", number(y)), ("text-anchor", anchor), ("fill", color)]
        if size != 12 { attributes.append(("font-size", number(size))) }
        if bold { attributes.append(("font-weight", "bold")) }
        if let rotation { attributes.append(("transform", "rotate(\(number(rotation)) \(number(x)) \(number(y)))")) }
        if halo { attributes += [("stroke", "white"), ("stroke-width", "3"), ("paint-order", "stroke")] }
        add("text", attributes, text: content)
    }

    func document(width: Double, height: Double) -> String {
        let (w, h) = (number(width), number(height))
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <svg xmlns="http://www.w3.org/2000/svg" width="\(w)" height="\(h)" viewBox="0 0 \(w) \(h)" \
            font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">
            \(elements.joined(separator: "\n"))
            </svg>

            """
    }
}

/// Pixel coordinates: a tenth of a pixel is finer than any screen shows.
private func number(_ value: Double) -> String {
    String(format: "%.1f", value)
}
