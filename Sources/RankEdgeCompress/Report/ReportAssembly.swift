import Foundation
import RankEdge

extension Compressor {
    func layerRow(_ analysis: LayerAnalysis, choice: LayerChoice, factorization: Factorization?, extras: LayerExtras?) -> LayerReport {
        let layer = analysis.layer
        let bias = layer.params - layer.weight.count
        let after = factorization.map { $0.params + bias } ?? layer.params
        var reason = choice.keepReason ?? choice.note
        if choice.keepReason != nil && !choice.note.isEmpty { reason = "\(choice.keepReason!) (\(choice.note))" }
        return LayerReport(name: layer.name, op: layer.op, method: choice.ranks.isEmpty ? "none" : choice.method.rawValue,
                           ranks: choice.ranks, branches: choice.branches, kept: factorization != nil, reason: reason,
                           paramsBefore: layer.params, paramsAfter: after, macsBefore: layer.macs, macsAfter: layer.macs,
                           msBefore: nil, msAfter: nil, relativeError: factorization?.relativeError,
                           utilization: extras?.utilization, valAccuracyDrop: extras?.valAccuracyDrop)
    }

    func skippedRow(_ s: SkippedLayer, graph: Graph) -> LayerReport {
        let node = graph.node(named: s.name)!
        let shapes = (try? graph.inferShapes(batch: 1)) ?? [:]
        let macs = shapes[node.outputs[0]].map { graph.macs(of: node, outputShape: $0) } ?? 0
        let params = graph.params(of: node)
        return LayerReport(name: s.name, op: s.op, method: "none", ranks: [], branches: 1, kept: false, reason: s.reason,
                           paramsBefore: params, paramsAfter: params, macsBefore: macs, macsAfter: macs,
                           msBefore: nil, msAfter: nil, relativeError: nil, utilization: nil, valAccuracyDrop: nil)
    }

    /// Each candidate layer alone, before and after, timed in the same alternating rounds; MACs
    /// counted on the same one-layer graphs.
    func measureLayers(_ rows: inout [LayerReport], analyses: [LayerAnalysis], factorizations: [Factorization?],
                       original: Graph) throws(CompressError) {
        for (i, analysis) in analyses.enumerated() {
            progress("time \(i + 1)/\(analyses.count) \(analysis.layer.name)")
            let before = IsolatedLayer.graph(analysis.layer, original: original, factorization: nil)
            var graphs = [before]
            if let f = factorizations[i] {
                let after = IsolatedLayer.graph(analysis.layer, original: original, factorization: f)
                rows[i].macsAfter = IsolatedLayer.cost(after).macs
                graphs.append(after)
            }
            let ms = try meter.medians(graphs)
            rows[i].msBefore = ms[0]
            rows[i].msAfter = ms.count > 1 ? ms[1] : ms[0]
        }
    }

    func summarize(original: Graph, compressed: Graph, rows: [LayerReport], sweeps: [RankSweep], curves: [AccuracyCurve],
                   merges: [MergeReport]) throws(CompressError) -> CompressionReport {
        let before: NodeCost, after: NodeCost
        do { before = try original.cost().total; after = try compressed.cost().total } catch { throw .badGraph("\(error)") }
        progress("timing the whole model before and after (alternating rounds)")
        let ms = try LatencyMeter(threads: options.threads, rounds: 15, runsPerRound: 4).medians([original, compressed])
        let profiler = StageProfiler(threads: options.threads)
        let stagesBefore = try profiler.stages(original), stagesAfter = try profiler.stages(compressed)
        let afterByStage = Dictionary(stagesAfter, uniquingKeysWith: +)
        let stages = stagesBefore.map { StageTime(stage: $0.0, msBefore: $0.1, msAfter: afterByStage[$0.0] ?? 0) }
        var accuracyBefore: Double?, accuracyAfter: Double?
        if let data, data.validation.count > 0 {
            progress("validation accuracy before and after on \(data.validation.count) images")
            let meter = AccuracyMeter(threads: max(options.threads, 2))
            accuracyBefore = try meter.accuracy(original, on: data.validation)
            accuracyAfter = try meter.accuracy(compressed, on: data.validation)
        }
        let order = Dictionary(uniqueKeysWithValues: original.nodes.enumerated().map { ($1.name, $0) })
        let rows = rows.sorted { order[$0.name, default: 0] < order[$1.name, default: 0] }
        let utilizations = rows.compactMap(\.utilization)
        let totals = Totals(paramsBefore: before.params, paramsAfter: after.params, macsBefore: before.macs, macsAfter: after.macs,
                            msBefore: ms[0], msAfter: ms[1], valAccuracyBefore: accuracyBefore, valAccuracyAfter: accuracyAfter,
                            mlu: utilizations.isEmpty ? nil : utilizations.reduce(0, +) / Double(utilizations.count))
        let date = ISO8601DateFormatter().string(from: Date())
        return CompressionReport(model: original.name, policy: options.policy.description, method: options.method?.rawValue ?? "auto",
                                 snap: options.snap.description, merge: options.merge.rawValue, machine: MachineDescription.current,
                                 threads: options.threads, date: date, layers: rows, totals: totals, sweeps: sweeps,
                                 accuracyCurves: curves, stages: stages, merges: merges)
    }
}

/// "AMD EPYC 7B12, avx2" : the CPU model from /proc/cpuinfo and the micro-kernels the runtime picks.
public enum MachineDescription {
    public static var current: String {
        var model = "unknown CPU"
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("model name") || $0.hasPrefix("Model") }),
           let value = line.split(separator: ":", maxSplits: 1).last {
            model = value.trimmingCharacters(in: .whitespaces)
        }
        return "\(model), \(GEMMISA.native.rawValue)"
    }
}
