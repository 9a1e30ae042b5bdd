import Foundation
import Testing
@testable import RankEdgeCompress
#if canImport(FoundationXML)
import FoundationXML
#endif

/// `compress --plots`: which files a report gives, and that each is well-formed SVG with the bars,
/// points and labels it should have, whatever the numbers or layer names.
@Suite struct CompressionPlotTests {
    @Test func writesOnePlotPerChart() throws {
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try CompressionPlots.write(sampleReport(), to: directory)

        let expected: Set = [
            "latency-layer1.0.conv1.svg", "accuracy-layer1.0.conv1-rank.svg", "utilization.svg",
            "stages.svg", "layers.svg", "layers-latency.svg",
        ]
        #expect(Set(paths.map { ($0 as NSString).lastPathComponent }) == expected)
        // Nothing else, in particular no temporary file left from the atomic writes.
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: directory)) == expected)
        for path in paths { #expect(ParsedSVG(path: path) != nil, "\(path) is not well-formed XML") }
    }

    @Test func latencySweepShowsPointsOriginalCliffAndChosen() throws {
        let svg = try writtenPlot("latency-layer1.0.conv1.svg", of: sampleReport())
        #expect(svg.polylinePointCounts == [6])
        #expect(svg.count("circle", class: "marker") == 6)
        #expect(svg.texts.contains("cliff"))
        #expect(svg.texts.contains("chosen"))
        #expect(svg.texts.contains("original layer"))
        #expect(svg.texts.contains("rank"))
        #expect(svg.texts.contains("ms (batch 1)"))
        #expect(svg.count("line", class: "reference") == 3)
        #expect(!svg.title.contains("original kept"))
    }

    @Test func accuracyCurveShowsBaselineAndChosen() throws {
        let svg = try writtenPlot("accuracy-layer1.0.conv1-rank.svg", of: sampleReport())
        #expect(svg.polylinePointCounts == [4])
        #expect(svg.texts.contains("chosen"))
        #expect(svg.texts.contains("baseline"))
        #expect(svg.count("line", class: "reference") == 2)
    }

    @Test func barChartsHaveOneBarPerLayerAndSeries() throws {
        let report = sampleReport()
        let utilization = try writtenPlot("utilization.svg", of: report)
        #expect(utilization.count("rect", class: "bar") == 2)
        #expect(utilization.texts.contains("MLU"))
        #expect(utilization.texts.contains("layer1.0.conv2"))
        #expect(try writtenPlot("stages.svg", of: report).count("rect", class: "bar") == 6)
        #expect(try writtenPlot("layers.svg", of: report).count("rect", class: "bar") == 4)
        #expect(try writtenPlot("layers-latency.svg", of: report).count("rect", class: "bar") == 4)
    }

    /// A NaN time, an infinite original, an empty sweep and an empty report: valid SVG, no "nan"
    /// written, the bad points and bars left out.
    @Test func nonFiniteAndEmptyDataStillGiveValidSVG() throws {
        var report = sampleReport()
        report.sweeps[0].ms[2] = .nan
        report.sweeps[0].originalMs = .infinity
        report.sweeps.append(RankSweep(layer: "layer1.0.conv2", method: "svd", ranks: [], ms: [], originalMs: 1, cliff: nil, chosen: nil))
        report.layers[1].msBefore = .nan
        report.stages[0].msAfter = -.infinity
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try CompressionPlots.write(report, to: directory)

        for path in paths {
            let text = try String(contentsOfFile: path, encoding: .utf8).lowercased()
            #expect(!text.contains("nan") && !text.contains("inf"), "\(path)")
            #expect(ParsedSVG(path: path) != nil, "\(path) is not well-formed XML")
        }
        let sweep = try #require(ParsedSVG(path: directory + "/latency-layer1.0.conv1.svg"))
        #expect(sweep.polylinePointCounts == [5])
        #expect(!sweep.texts.contains("original layer"))
        let empty = try #require(ParsedSVG(path: directory + "/latency-layer1.0.conv2.svg"))
        #expect(empty.polylinePointCounts.isEmpty)
        #expect(empty.title.contains("original kept"))
        #expect(try #require(ParsedSVG(path: directory + "/layers-latency.svg")).count("rect", class: "bar") == 3)
        #expect(try #require(ParsedSVG(path: directory + "/stages.svg")).count("rect", class: "bar") == 5)

        let bare = CompressionReport(
            model: "m", policy: "p", method: "svd", snap: "none", merge: "none", machine: "", threads: 1, date: "",
            layers: [], totals: Totals(paramsBefore: 0, paramsAfter: 0, macsBefore: 0, macsAfter: 0, msBefore: 0, msAfter: 0),
            sweeps: [], accuracyCurves: [], stages: [], merges: []
        )
        let barePaths = try CompressionPlots.write(bare, to: directory + "/bare")
        #expect(barePaths.map { ($0 as NSString).lastPathComponent } == ["layers.svg"])
        #expect(ParsedSVG(path: barePaths[0]) != nil)
    }

    @Test func layerNamesAreEscapedInTextAndMadeSafeInFileNames() throws {
        var report = sampleReport()
        let name = "a<&>\"'b.c/d"
        report.sweeps[0].layer = name
        report.layers[0].name = name
        let directory = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let paths = try CompressionPlots.write(report, to: directory)

        #expect(paths.contains { $0.hasSuffix("/latency-a_____b.c_d.svg") })
        let sweep = try #require(ParsedSVG(path: directory + "/latency-a_____b.c_d.svg"))
        #expect(sweep.title.hasPrefix(name))
        let layers = try #require(ParsedSVG(path: directory + "/layers.svg"))
        #expect(layers.texts.contains(name))
        #expect(SVGChart.escaped("<&>\"'") == "&lt;&amp;&gt;&quot;&apos;")
        #expect(SVGChart.escaped("a\u{1}b\tc") == "ab\tc")
    }

    @Test func fileNamesThatWouldCollideGetSuffixes() {
        var names = PlotFileNames()
        #expect(names.claim("latency-a<b") == "latency-a_b")
        #expect(names.claim("latency-a>b") == "latency-a_b-2")
        #expect(names.claim("latency-a:b") == "latency-a_b-3")
    }

    @Test func writingAgainReplacesThePlots() throws {
        let directory = temporaryDirectory() + "/nested/plots"
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let first = try CompressionPlots.write(sampleReport(), to: directory)
        let second = try CompressionPlots.write(sampleReport(), to: directory)
        #expect(first == second)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).count == first.count)
    }

    @Test func axisTicksAreRoundNumbers() {
        let times = NiceScale(covering: [0.3, 9.7], fromZero: true)
        #expect(times.ticks == [0, 2, 4, 6, 8, 10])
        let ranks = NiceScale(covering: [4, 6], fromZero: false, integerSteps: true)
        #expect(ranks.ticks == [4, 5, 6])
        let params = NiceScale(covering: [2_400_000], fromZero: true)
        #expect(params.label(params.ticks[1]) == "0.5M")
        let single = NiceScale(covering: [], fromZero: true)
        #expect(single.lower == 0 && single.upper == 1)
    }
}

// MARK: - A report and a reader

private func sampleReport() -> CompressionReport {
    func layer(_ name: String, _ before: Int, _ after: Int, ms: (Double, Double), utilization: Double) -> LayerReport {
        LayerReport(
            name: name, op: "conv3x3", method: "svd", ranks: [16], branches: 1, kept: true, reason: "test",
            paramsBefore: before, paramsAfter: after, macsBefore: before * 64, macsAfter: after * 64,
            msBefore: ms.0, msAfter: ms.1, relativeError: 0.1, utilization: utilization, valAccuracyDrop: nil
        )
    }
    return CompressionReport(
        model: "resnet18", policy: "utilized", method: "svd", snap: "latency", merge: "none",
        machine: "test CPU (avx2)", threads: 1, date: "2025-01-01T00:00:00Z",
        layers: [
            layer("layer1.0.conv1", 36_864, 12_288, ms: (0.42, 0.19), utilization: 0.42),
            layer("layer1.0.conv2", 36_864, 18_432, ms: (0.41, 0.27), utilization: 0.77),
        ],
        totals: Totals(
            paramsBefore: 73_728, paramsAfter: 30_720, macsBefore: 73_728 * 64, macsAfter: 30_720 * 64,
            msBefore: 2.5, msAfter: 1.8, valAccuracyBefore: 91.2, valAccuracyAfter: 90.8, mlu: 0.595
        ),
        sweeps: [RankSweep(
            layer: "layer1.0.conv1", method: "svd", ranks: [4, 8, 12, 16, 24, 32],
            ms: [0.08, 0.11, 0.13, 0.19, 0.31, 0.38], originalMs: 0.42, cliff: 12, chosen: 16
        )],
        accuracyCurves: [AccuracyCurve(
            layer: "layer1.0.conv1", parameter: "rank", ranks: [4, 8, 16, 32],
            accuracy: [71.5, 86.0, 90.9, 91.1], baseline: 91.2, chosen: 16
        )],
        stages: [
            StageTime(stage: "stem", msBefore: 0.3, msAfter: 0.3),
            StageTime(stage: "layer1", msBefore: 1.2, msAfter: 0.8),
            StageTime(stage: "layer2", msBefore: 1.0, msAfter: 0.7),
        ],
        merges: []
    )
}

private func temporaryDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("plots-\(UUID().uuidString)").path
}

private func writtenPlot(_ file: String, of report: CompressionReport) throws -> ParsedSVG {
    let directory = temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: directory) }
    _ = try CompressionPlots.write(report, to: directory)
    return try #require(ParsedSVG(path: directory + "/" + file))
}

/// An SVG file read back with Foundation's XML parser; nil when it is not well-formed.
private final class ParsedSVG: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }

    private(set) var elements: [Element] = []
    private var open: [Int] = []

    init?(path: String) {
        guard let parser = XMLParser(contentsOf: URL(fileURLWithPath: path)) else { return nil }
        super.init()
        parser.delegate = self
        guard parser.parse(), elements.first?.name == "svg" else { return nil }
    }

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?,
                qualifiedName: String?, attributes: [String: String] = [:]) {
        open.append(elements.count)
        elements.append(Element(name: name, attributes: attributes))
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let current = open.last { elements[current].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    var texts: [String] { elements.filter { $0.name == "text" }.map(\.text) }
    var title: String { elements.first { $0.name == "title" }?.text ?? "" }

    func count(_ name: String, class cssClass: String) -> Int {
        elements.filter { $0.name == name && $0.attributes["class"] == cssClass }.count
    }

    var polylinePointCounts: [Int] {
        elements.filter { $0.name == "polyline" }.map { ($0.attributes["points"] ?? "").split(separator: " ").count }
    }
}
