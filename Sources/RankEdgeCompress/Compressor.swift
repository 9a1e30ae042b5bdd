import Foundation
import RankEdge

/// A compression run: choose layers, choose ranks by the policy, snap them to this CPU, factor the
/// trained weights, rewrite the graph, merge, and measure what changed. Graph in, graph out; every
/// new node's provenance says what it came from.
public struct Compressor: Sendable {
    public var options: CompressionOptions
    public var data: CompressionData?
    /// Progress lines for steps that take more than a moment.
    public var progress: @Sendable (String) -> Void

    public init(options: CompressionOptions, data: CompressionData? = nil, progress: @escaping @Sendable (String) -> Void = { _ in }) {
        self.options = options; self.data = data; self.progress = progress
    }

    var meter: LatencyMeter { LatencyMeter(threads: options.threads, rounds: options.latencyRounds) }

    public func run(_ graph: Graph) throws(CompressError) -> (graph: Graph, report: CompressionReport) {
        try checkOptions()
        do { try graph.validate() } catch { throw .badGraph("\(error)") }
        let (layers, skipped) = try LayerSelection.candidates(in: graph, include: options.include, exclude: options.exclude)
        let analyses = layers.map { LayerAnalysis($0, hooiIterations: options.hooiIterations) }
        progress("\(layers.count) layers to consider, \(skipped.count) left as they are; policy \(options.policy)")

        var sweeps: [RankSweep] = []
        var curves: [AccuracyCurve] = []
        var extras: [String: LayerExtras] = [:]
        var pruning: PruningReport?
        var choices = try chooseRanks(analyses, graph: graph, sweeps: &sweeps, curves: &curves, extras: &extras, pruning: &pruning)

        // Snapping, then the parameter check every decomposition must pass.
        if case .multiple(let n) = options.snap {
            for i in choices.indices where choices[i].isKept && choices[i].selection == nil {
                let before = choices[i].ranks
                // Branched cores also need multiples of the branch count: round to both at once.
                let step = leastCommonMultiple(n, choices[i].branches)
                choices[i].ranks = ClosedFormRanks.multiple(before, of: step, full: analyses[i].fullRanks(choices[i].method))
                if before != choices[i].ranks {
                    choices[i].note += "; rounded to multiples of \(step)" + (step != n ? " (\(n) and \(choices[i].branches) branches)" : "")
                }
            }
        }
        for i in choices.indices where choices[i].isKept && choices[i].selection == nil {
            if let problem = unfactorable(choices[i], analysis: analyses[i]) { choices[i].keepOriginal(problem); continue }
            let after = analyses[i].params(choices[i].method, ranks: choices[i].ranks, branches: choices[i].branches)
            if after >= analyses[i].originalWeightParams {
                choices[i].keepOriginal("no parameter saving at ranks \(choices[i].ranks.map(String.init).joined(separator: "/"))")
            }
        }
        if options.snap == .latency {
            let snapper = LatencySnap(meter: meter, minRankFraction: options.minRankFraction)
            for i in choices.indices where choices[i].isKept && choices[i].selection == nil && !choices[i].latencySnapped {
                progress("snap \(i + 1)/\(choices.count) \(analyses[i].layer.name): timing ranks \(choices[i].ranks.map(String.init).joined(separator: "/")) and below")
                let (snapped, sweep) = try snapper.snap(choices[i], analysis: analyses[i], original: graph)
                choices[i] = snapped
                sweeps.append(sweep)
            }
        }

        // Factor the trained weights and rewrite the graph.
        var out = graph
        var rows: [LayerReport] = []
        var factorizations: [Factorization?] = []
        for (i, analysis) in analyses.enumerated() {
            let layer = analysis.layer
            var choice = choices[i]
            var factorization: Factorization?
            if choice.isKept {
                progress("factor \(i + 1)/\(analyses.count) \(layer.name): \(choice.method.rawValue) ranks \(choice.ranks.map(String.init).joined(separator: "/"))")
                do {
                    if let selection = choice.selection {
                        factorization = selection.factor(layer.weight, geometry: layer.geometry)
                    } else {
                    let source = choice.transformedWeight.map { LayerAnalysis(layer.with(weight: $0), hooiIterations: options.hooiIterations) } ?? analysis
                    factorization = try source.factor(choice.method, ranks: choice.ranks, branches: choice.branches)
                    if let e = choice.transformError { factorization!.relativeError = e }
                    }
                } catch {
                    choice.keepOriginal("decomposition failed: \(error)")
                }
            }
            if let f = factorization { out.substitute(layer.name, with: f) }
            factorizations.append(factorization)
            rows.append(layerRow(analysis, choice: choice, factorization: factorization, extras: extras[layer.name]))
        }
        rows += skipped.map { skippedRow($0, graph: graph) }

        var merges: [MergeReport] = []
        if options.merge != .none {
            merges = LayerMerging(mode: options.merge).merge(&out)
            progress("merged \(merges.count) pairs of layers")
        }
        do { try out.validate() } catch { throw .badGraph("the compressed graph is invalid: \(error)") }

        try measureLayers(&rows, analyses: analyses, factorizations: factorizations, original: graph)
        out.metadata["rankedge.compress.policy"] = options.policy.description
        out.metadata["rankedge.compress.source"] = graph.name
        var report = try summarize(original: graph, compressed: out, rows: rows, sweeps: sweeps, curves: curves, merges: merges)
        report.pruning = pruning
        return (out, report)
    }

    private func checkOptions() throws(CompressError) {
        if options.policy.needsData && data == nil {
            throw .needsData("--rank \(options.policy) needs labelled images: give --data")
        }
        guard options.branches >= 1 else { throw .badOption("--branches must be at least 1") }
        if options.branches > 1, let m = options.method, m != .tucker2 {
            throw .badOption("--branches needs --method tucker2 (or auto), not \(m.rawValue)")
        }
        guard options.minRankFraction > 0 && options.minRankFraction <= 1 else {
            throw .badOption("--min-rank-fraction must be in (0, 1]")
        }
        if let h = options.hooiIterations, h < 0 { throw .badOption("--hooi-iterations must be non-negative") }
        guard options.threads >= 1 else { throw .badOption("--threads must be at least 1") }
    }

    /// Why a choice cannot be factored as asked (a branched core needs every rank within the full
    /// rank and divisible by the branch count), or nil.
    func unfactorable(_ choice: LayerChoice, analysis: LayerAnalysis) -> String? {
        let full = analysis.fullRanks(choice.method)
        let ranks = choice.ranks.map(String.init).joined(separator: "/")
        if zip(choice.ranks, full).contains(where: { $0 > $1 || $0 < 1 }) {
            return "ranks \(ranks) outside 1…\(full.map(String.init).joined(separator: "/"))"
                + (choice.branches > 1 ? " (\(choice.branches) branches need ranks divisible by \(choice.branches))" : "")
        }
        if choice.branches > 1, choice.ranks.contains(where: { $0 % choice.branches != 0 }) {
            return "ranks \(ranks) not divisible by \(choice.branches) branches"
        }
        return nil
    }

    /// The method a layer uses: 1×1 and linear layers always take SVD; otherwise the one asked for,
    /// Tucker-2 by default, or (auto) each applicable one for the latency race.
    func methods(for analysis: LayerAnalysis) -> [DecompositionMethod] {
        if analysis.applicableMethods == [.svd] { return [.svd] }
        if let m = options.method { return analysis.applicableMethods.contains(m) ? [m] : [analysis.defaultMethod] }
        return options.branches > 1 ? [.tucker2] : analysis.applicableMethods
    }

    private func chooseRanks(_ analyses: [LayerAnalysis], graph: Graph, sweeps: inout [RankSweep], curves: inout [AccuracyCurve],
                             extras: inout [String: LayerExtras], pruning: inout PruningReport?) throws(CompressError) -> [LayerChoice] {
        switch options.policy {
        case .ratio, .energy:
            var out: [LayerChoice] = []
            for (i, analysis) in analyses.enumerated() {
                progress("ranks \(i + 1)/\(analyses.count) \(analysis.layer.name)")
                out.append(try closedFormChoice(analysis, graph: graph))
            }
            return out
        case .utilized(let epsilon):
            return try UtilizedRankSearch(compressor: self, epsilon: epsilon).choose(analyses, graph: graph, curves: &curves, extras: &extras)
        case .perturbation(let sparsity, let score, let blocks):
            let (choices, report) = try PerturbationPruning(compressor: self, sparsity: sparsity, score: score, blocks: blocks)
                .choose(analyses, graph: graph, extras: &extras)
            pruning = report
            return choices
        case .budgetMACs(let f):
            return try BudgetSearch(compressor: self, fraction: f, target: .macs)
                .choose(analyses, graph: graph, curves: &curves, sweeps: &sweeps, extras: &extras)
        case .budgetLatency(let f):
            return try BudgetSearch(compressor: self, fraction: f, target: .latency)
                .choose(analyses, graph: graph, curves: &curves, sweeps: &sweeps, extras: &extras)
        }
    }

    /// Ratio and energy: ranks from the weights; under auto, the fastest method at those ranks.
    private func closedFormChoice(_ analysis: LayerAnalysis, graph: Graph) throws(CompressError) -> LayerChoice {
        var candidates: [LayerChoice] = []
        for method in methods(for: analysis) {
            var ranks: [Int]
            let note: String
            switch options.policy {
            case .ratio(let alpha, let beta):
                ranks = ClosedFormRanks.ratio(analysis, method: method, alpha: alpha, beta: beta)
                note = "ratio \(formatRatio(alpha))"
            case .energy(let e):
                do { ranks = try ClosedFormRanks.energy(analysis, method: method, fraction: e) } catch {
                    var c = LayerChoice(method: method, ranks: [], note: "energy")
                    c.keepOriginal("decomposition failed: \(error)")
                    candidates.append(c)
                    continue
                }
                note = "energy \(e)"
            default: preconditionFailure("closed-form ranks for \(options.policy)")
            }
            let branches = method == .tucker2 ? options.branches : 1
            if branches > 1 { ranks = ClosedFormRanks.branchable(ranks, branches: branches) }
            candidates.append(LayerChoice(method: method, ranks: ranks, branches: branches, note: note))
        }
        return try fastest(candidates, analysis: analysis, graph: graph)
    }

    /// Of several candidate forms (auto), the one measuring fastest on this CPU among those saving
    /// parameters; a single candidate is returned as it is.
    func fastest(_ candidates: [LayerChoice], analysis: LayerAnalysis, graph: Graph) throws(CompressError) -> LayerChoice {
        let viable = candidates.filter { $0.isKept && analysis.params($0.method, ranks: $0.ranks, branches: $0.branches) < analysis.originalWeightParams }
        guard viable.count > 1 else { return viable.first ?? candidates[0] }
        let graphs = viable.map {
            IsolatedLayer.graph(analysis.layer, original: graph,
                                factorization: analysis.placeholder($0.method, ranks: $0.ranks, branches: $0.branches))
        }
        let ms = try meter.medians(graphs)
        let best = ms.indices.min { ms[$0] < ms[$1] }!
        var choice = viable[best]
        let timings = zip(viable, ms).map { "\($0.method.rawValue) \(fmtMs($1))" }.joined(separator: ", ")
        choice.note += "; auto: \(timings) ms"
        return choice
    }
}

func leastCommonMultiple(_ a: Int, _ b: Int) -> Int {
    var (x, y) = (a, b)
    while y != 0 { (x, y) = (y, x % y) }
    return a / x * b
}

/// Per-layer figures a policy measured that the report shows.
struct LayerExtras: Sendable {
    var utilization: Double?
    var valAccuracyDrop: Double?
}
