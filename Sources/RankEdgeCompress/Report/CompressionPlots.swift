import Foundation
import RankEdge

/// The SVG plots of `rankedge compress --plots DIR`: one file per chart, drawn from the report alone.
public enum CompressionPlots {
    /// Writes every plot the report has data for into `directory` (created if missing) and returns
    /// the paths written, in order: latency sweeps, accuracy curves, utilization, stages, layers.
    public static func write(_ report: CompressionReport, to directory: String) throws -> [String] {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var names = PlotFileNames()
        var written: [String] = []
        func save(_ chart: SVGChart, as name: String) throws {
            let path = URL(fileURLWithPath: directory).appendingPathComponent(names.claim(name) + ".svg").path
            try writeAtomically(chart.render(), to: path)
            written.append(path)
        }

        // `--method auto` may sweep one layer with several methods; the method then tells the files apart.
        let sweptTwice = Set(Dictionary(grouping: report.sweeps, by: \.layer).filter { $0.value.count > 1 }.keys)
        for sweep in report.sweeps {
            let name = sweptTwice.contains(sweep.layer) ? "\(sweep.layer)-\(sweep.method)" : sweep.layer
            try save(latencyChart(sweep), as: "latency-" + name)
        }
        for curve in report.accuracyCurves {
            try save(accuracyChart(curve), as: "accuracy-\(curve.layer)-\(curve.parameter)")
        }
        if let chart = utilizationChart(report) { try save(chart, as: "utilization") }
        if !report.stages.isEmpty { try save(stagesChart(report.stages), as: "stages") }
        try save(parametersChart(report.layers), as: "layers")
        if let chart = layerLatencyChart(report.layers) { try save(chart, as: "layers-latency") }
        return written
    }

    static func latencyChart(_ sweep: RankSweep) -> SVGChart {
        let points = zip(sweep.ranks, sweep.ms).map { SVGChart.Point(x: Double($0), y: $1) }
        var marks: [SVGChart.ReferenceLine] = []
        if let cliff = sweep.cliff { marks.append(.init(value: Double(cliff), label: "cliff", color: Palette.cliff)) }
        if let chosen = sweep.chosen { marks.append(.init(value: Double(chosen), label: "chosen", color: Palette.chosen)) }
        return SVGChart(
            title: "\(sweep.layer) (\(sweep.method)): time against rank" + (sweep.chosen == nil ? ", original kept" : ""),
            xLabel: "rank",
            yLabel: "ms (batch 1)",
            content: .lines([.init(name: "measured", color: Palette.compressed, points: points)]),
            horizontalLines: [.init(value: sweep.originalMs, label: "original layer", color: Palette.reference)],
            verticalLines: marks
        )
    }

    static func accuracyChart(_ curve: AccuracyCurve) -> SVGChart {
        let points = zip(curve.ranks, curve.accuracy).map { SVGChart.Point(x: Double($0), y: $1) }
        let marks = curve.chosen.map { [SVGChart.ReferenceLine(value: Double($0), label: "chosen", color: Palette.chosen)] } ?? []
        return SVGChart(
            title: "\(curve.layer): validation accuracy against \(curve.parameter)" + (curve.chosen == nil ? ", original kept" : ""),
            xLabel: curve.parameter,
            yLabel: "validation accuracy (%)",
            content: .lines([.init(name: "accuracy", color: Palette.compressed, points: points)]),
            horizontalLines: [.init(value: curve.baseline, label: "baseline", color: Palette.reference)],
            verticalLines: marks,
            yFromZero: false
        )
    }

    /// Utilization is a fraction in the report and a percentage on the plot. Layers the policy did
    /// not measure get no empty slot.
    static func utilizationChart(_ report: CompressionReport) -> SVGChart? {
        let measured = report.layers.compactMap { layer in layer.utilization.map { (layer.name, $0 * 100) } }
        guard !measured.isEmpty else { return nil }
        let mlu = report.totals.mlu.map { [SVGChart.ReferenceLine(value: $0 * 100, label: "MLU", color: Palette.mlu)] } ?? []
        return SVGChart(
            title: "Layer utilization",
            xLabel: "layer",
            yLabel: "utilization (%)",
            content: .bars(categories: measured.map(\.0), series: [.init(name: "utilization", color: Palette.compressed, values: measured.map(\.1))]),
            horizontalLines: mlu,
            yCovers: [100]
        )
    }

    static func stagesChart(_ stages: [StageTime]) -> SVGChart {
        SVGChart(
            title: "Whole-model time per stage",
            xLabel: "stage",
            yLabel: "ms (batch 1)",
            content: .bars(categories: stages.map(\.stage), series: [
                .init(name: "original", color: Palette.original, values: stages.map(\.msBefore)),
                .init(name: "compressed", color: Palette.compressed, values: stages.map(\.msAfter)),
            ])
        )
    }

    static func parametersChart(_ layers: [LayerReport]) -> SVGChart {
        SVGChart(
            title: "Parameters per layer",
            xLabel: "layer",
            yLabel: "parameters",
            content: .bars(categories: layers.map(\.name), series: [
                .init(name: "original", color: Palette.original, values: layers.map { Double($0.paramsBefore) }),
                .init(name: "compressed", color: Palette.compressed, values: layers.map { Double($0.paramsAfter) }),
            ])
        )
    }

    static func layerLatencyChart(_ layers: [LayerReport]) -> SVGChart? {
        let timed = layers.compactMap { layer -> (String, Double, Double)? in
            guard let before = layer.msBefore, let after = layer.msAfter else { return nil }
            return (layer.name, before, after)
        }
        guard !timed.isEmpty else { return nil }
        return SVGChart(
            title: "Layer time alone",
            xLabel: "layer",
            yLabel: "ms (batch 1)",
            content: .bars(categories: timed.map(\.0), series: [
                .init(name: "original", color: Palette.original, values: timed.map(\.1)),
                .init(name: "compressed", color: Palette.compressed, values: timed.map(\.2)),
            ])
        )
    }
}

/// One colour per meaning across all plots, so "original" looks the same everywhere.
private enum Palette {
    static let original = "#9a9a9a"
    static let compressed = "#1f77b4"
    static let reference = "#555555"
    static let cliff = "#e6550d"
    static let chosen = "#2ca02c"
    static let mlu = "#d62728"
}

/// File names from layer names: only [A-Za-z0-9._-] survive, and a name two layers would share
/// ("a<b" and "a>b") gets a numeric suffix rather than one plot overwriting the other.
struct PlotFileNames {
    private var taken: Set<String> = []

    static func safe(_ name: String) -> String {
        String(String.UnicodeScalarView(name.unicodeScalars.map { scalar in
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": scalar
            default: "_"
            }
        }))
    }

    mutating func claim(_ name: String) -> String {
        let base = Self.safe(name)
        var candidate = base
        var suffix = 2
        while taken.contains(candidate) {
            candidate = "\(base)-\(suffix)"
            suffix += 1
        }
        taken.insert(candidate)
        return candidate
    }
}

/// RankEdge's atomic writer (temporary file beside `path`, fsync, rename): a failed or interrupted
/// run never leaves half a plot, nor, on a signal, the temporary file.
private func writeAtomically(_ text: String, to path: String) throws {
    try writeFileAtomically(Array(text.utf8), to: path)
}
