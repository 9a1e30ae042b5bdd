import Foundation
import RankEdge

/// `budget:macs=F` and `budget:latency=F`: reach F of the original MACs (or measured latency) with
/// the least validation-accuracy loss. Each layer's sensitivity curve (accuracy drop, MACs and
/// measured time at a grid of ranks, that layer alone decomposed) is measured once and cached in a
/// file; a greedy allocation then buys the cheapest accuracy per unit saved until the budget is met,
/// assuming drops add up. A drop too small to see on the validation images (one image is
/// 100/N points) is not free: each option's drop is floored at zero and charged one image's worth
/// times its squared relative weight error, so among "free" moves the most faithful come first.
///
/// A latency budget is checked on the whole compressed model, since layers timed alone do not add
/// up to the model (factored layers lose more of their fixed costs inside it): the amount to save
/// is bisected over up to six allocations, each measured against the original, and the slowest one
/// within the budget is kept. With `--snap latency`, every allocation is snapped (Algorithm 1)
/// before it is measured, so the budget holds for the model written.
struct BudgetSearch {
    enum Target: String { case macs, latency }
    let compressor: Compressor
    let fraction: Double
    let target: Target
    /// Ranks as fractions of each mode's full rank.
    static let grid: [Double] = [0.125, 0.25, 0.375, 0.5, 0.625, 0.75]
    /// Whole-model allocations a latency budget may measure.
    static let attempts = 6
    /// A measured fraction this close under the target ends the search.
    static let closeEnough = 0.03

    func choose(_ analyses: [LayerAnalysis], graph: Graph, curves: inout [AccuracyCurve], sweeps: inout [RankSweep],
                extras: inout [String: LayerExtras]) throws(CompressError) -> [LayerChoice] {
        let validation = compressor.data!.validation
        var cache = SensitivityCache(path: compressor.options.sensitivityCache, graph: graph, validation: validation,
                                     settings: "threads=\(compressor.options.threads) method=\(compressor.options.method?.rawValue ?? "auto") "
                                         + "hooi=\(compressor.options.hooiIterations.map(String.init) ?? "fit") val=\(validation.count)")
        var options: [[Option]] = []
        for (i, analysis) in analyses.enumerated() {
            compressor.progress("budget: sensitivity of \(analysis.layer.name) (\(i + 1)/\(analyses.count))")
            options.append(try sensitivity(analysis, graph: graph, cache: &cache))
            let o = options[i]
            curves.append(AccuracyCurve(layer: analysis.layer.name, parameter: "rank", ranks: o.map { $0.ranks[0] },
                                        accuracy: o.map { cache.baseline - $0.drop }, baseline: cache.baseline, chosen: nil))
        }
        try cache.save()
        let resolution = 100 / Double(max(validation.count, 1))

        let originalCost: [Double] = analyses.map { target == .macs ? Double($0.layer.macs) : measuredOriginal($0, cache) }
        let total: Double
        if target == .macs {
            do { total = Double(try graph.cost().total.macs) } catch { throw .badGraph("\(error)") }
        } else {
            total = try compressor.meter.medians([graph])[0]
        }
        var needed = total * (1 - fraction)
        var snapper: LatencySnap? = nil
        if compressor.options.snap == .latency {
            snapper = LatencySnap(meter: compressor.meter, minRankFraction: compressor.options.minRankFraction)
        }
        var snapped: [String: (LayerChoice, RankSweep)] = [:]

        // The choices an allocation makes, snapped when asked (each layer and rank is snapped once).
        func choices(_ picks: [Int?]) throws(CompressError) -> [LayerChoice] {
            var out: [LayerChoice] = []
            for (i, pick) in picks.enumerated() {
                guard let p = pick else {
                    var c = LayerChoice(method: analyses[i].defaultMethod, ranks: [], note: "budget \(target.rawValue)=\(fraction)")
                    c.keepOriginal("the budget is met without it")
                    out.append(c)
                    continue
                }
                let o = options[i][p]
                var c = LayerChoice(method: o.method, ranks: o.ranks,
                                    note: String(format: "budget %@=%g: %.2f points for %.0f %% of its %@", target.rawValue, fraction, o.drop,
                                                 100 * (1 - o.cost(target) / max(originalCost[i], 1e-12)), target.rawValue))
                if let snapper {
                    let key = "\(analyses[i].layer.name) \(o.ranks)"
                    if snapped[key] == nil {
                        compressor.progress("budget: snapping \(analyses[i].layer.name) at ranks \(o.ranks.map(String.init).joined(separator: "/"))")
                        snapped[key] = try snapper.snap(c, analysis: analyses[i], original: graph)
                    }
                    c = snapped[key]!.0
                    c.latencySnapped = true
                }
                out.append(c)
            }
            return out
        }

        var picks = allocate(options, originalCost: originalCost, needed: needed, resolution: resolution)
        var chosen = try choices(picks)
        if target == .latency {
            var best: (fraction: Double, picks: [Int?], choices: [LayerChoice])?
            var fastest: (fraction: Double, picks: [Int?], choices: [LayerChoice])?
            var (low, high): (Double, Double?) = (0, nil)
            for attempt in 1...Self.attempts {
                var candidate = graph
                for (i, c) in chosen.enumerated() where c.isKept {
                    candidate.substitute(analyses[i].layer.name, with: analyses[i].placeholder(c.method, ranks: c.ranks, branches: c.branches))
                }
                let ms = try compressor.meter.medians([graph, candidate])
                let measured = ms[1] / ms[0]
                compressor.progress(String(format: "budget: allocation %d (saving %.0f %% by the layers' own times) measures %.3f ms against %.3f ms: %.2f of the original, target %.2f",
                                           attempt, 100 * needed / total, ms[1], ms[0], measured, fraction))
                if fastest == nil || measured < fastest!.fraction { fastest = (measured, picks, chosen) }
                if measured <= fraction {
                    if best == nil || measured > best!.fraction { best = (measured, picks, chosen) }
                    high = needed
                    if measured >= fraction - Self.closeEnough { break }
                } else {
                    low = needed
                }
                // Bisect the amount to save; until one allocation is fast enough, add the shortfall.
                let next = high.map { (low + $0) / 2 } ?? min(total, needed + (measured - fraction) * total)
                let nextPicks = allocate(options, originalCost: originalCost, needed: next, resolution: resolution)
                if nextPicks == picks && high != nil { break }
                needed = next
                picks = nextPicks
                chosen = try choices(picks)
            }
            let kept = best ?? fastest!
            (picks, chosen) = (kept.picks, kept.choices)
            if best == nil {
                compressor.progress(String(format: "budget: no allocation reached %.2f of the original; the fastest measured %.2f", fraction, kept.fraction))
            }
        }
        sweeps += Set(chosen.indices.compactMap { i in picks[i].map { "\(analyses[i].layer.name) \(options[i][$0].ranks)" } })
            .sorted().compactMap { snapped[$0]?.1 }
        for (i, p) in picks.enumerated() where chosen[i].isKept {
            if let p { extras[analyses[i].layer.name] = LayerExtras(utilization: nil, valAccuracyDrop: options[i][p].drop) }
        }
        return chosen
    }

    struct Option: Codable {
        var method: DecompositionMethod
        var ranks: [Int]
        var macs: Int
        var ms: Double
        var originalMs: Double
        var drop: Double
        /// ‖W − Ŵ‖_F / ‖W‖_F at these ranks.
        var relativeError: Double
        func cost(_ t: Target) -> Double { t == .macs ? Double(macs) : ms }
        /// The drop the allocation charges: never below zero, plus `resolution` (one validation
        /// image, in points) times the squared weight error, for drops too small to measure.
        func charge(resolution: Double) -> Double { max(0, drop) + resolution * relativeError * relativeError }
    }

    private func measuredOriginal(_ a: LayerAnalysis, _ cache: SensitivityCache) -> Double {
        cache.entries[a.layer.name]?.first?.originalMs ?? 0
    }

    /// The layer decomposed at each grid rank: MACs, time beside the original, validation drop.
    private func sensitivity(_ analysis: LayerAnalysis, graph: Graph, cache: inout SensitivityCache) throws(CompressError) -> [Option] {
        if let cached = cache.entries[analysis.layer.name] { return cached }
        let layer = analysis.layer
        // Under auto, the default form (Tucker-2 for k×k): a latency race per grid rank would
        // multiply the curves' cost by the number of methods.
        let method = compressor.options.method == nil ? analysis.defaultMethod : compressor.methods(for: analysis).first!
        let full = analysis.fullRanks(method)
        var rankSets: [[Int]] = []
        for f in Self.grid {
            let r = full.map { max(1, Int((Double($0) * f).rounded())) }
            if analysis.params(method, ranks: r) < analysis.originalWeightParams && !rankSets.contains(r) { rankSets.append(r) }
        }
        guard !rankSets.isEmpty else { cache.entries[layer.name] = []; return [] }
        let data = compressor.data!
        let evaluator = try SuffixAccuracy(graph, from: layer.name, samples: data.validation, threads: max(2, compressor.options.threads))
        let base = try evaluator.accuracy(evaluator.suffix.graph)
        if cache.baseline.isNaN { cache.baseline = try AccuracyMeter(threads: max(2, compressor.options.threads)).accuracy(graph, on: data.validation) }
        var graphs = [IsolatedLayer.graph(layer, original: graph, factorization: nil)]
        var out: [Option] = []
        for ranks in rankSets {
            let f: Factorization
            do { f = try analysis.factor(method, ranks: ranks) } catch { continue }
            var g = evaluator.suffix.graph
            g.substitute(layer.name, with: f)
            let drop = base - (try evaluator.accuracy(g))
            let isolated = IsolatedLayer.graph(layer, original: graph, factorization: f)
            graphs.append(isolated)
            out.append(Option(method: method, ranks: ranks, macs: IsolatedLayer.cost(isolated).macs, ms: 0, originalMs: 0, drop: drop,
                              relativeError: f.relativeError))
        }
        if target == .latency || cache.path != nil {
            let ms = try compressor.meter.medians(graphs)
            for i in out.indices { out[i].ms = ms[i + 1]; out[i].originalMs = ms[0] }
        }
        cache.entries[layer.name] = out
        return out
    }

    /// Greedy: repeatedly take the move (a layer to a cheaper option) with the least added drop per
    /// unit of cost saved, until `needed` is saved or no move saves anything.
    private func allocate(_ options: [[Option]], originalCost: [Double], needed: Double, resolution: Double) -> [Int?] {
        var picks = [Int?](repeating: nil, count: options.count)
        var saved = 0.0
        func cost(_ i: Int, _ p: Int?) -> Double { p.map { options[i][$0].cost(target) } ?? originalCost[i] }
        func drop(_ i: Int, _ p: Int?) -> Double { p.map { options[i][$0].charge(resolution: resolution) } ?? 0 }
        while saved < needed {
            var best: (i: Int, p: Int, rate: Double, gain: Double)?
            for i in options.indices {
                for p in options[i].indices {
                    let gain = cost(i, picks[i]) - cost(i, p)
                    guard gain > 0 else { continue }
                    let rate = (drop(i, p) - drop(i, picks[i])) / gain
                    if best == nil || rate < best!.rate || (rate == best!.rate && gain > best!.gain) { best = (i, p, rate, gain) }
                }
            }
            guard let b = best else { break }
            saved += b.gain
            picks[b.i] = b.p
        }
        return picks
    }
}

/// Per-layer sensitivity curves kept between runs, keyed by the graph's name, a checksum of its
/// weights and of the validation images and labels, the settings that change the curves and the
/// CPU: another budget fraction on the same model and data reads them back.
struct SensitivityCache {
    let path: String?
    let key: String
    var entries: [String: [BudgetSearch.Option]] = [:]
    var baseline = Double.nan

    private struct File: Codable { var key: String; var baseline: Double; var layers: [String: [BudgetSearch.Option]] }

    init(path: String?, graph: Graph, validation: LabeledSamples, settings: String) {
        self.path = path
        let weights = Fingerprint.weights(of: graph)
        var data = Fingerprint()
        data.add(validation.images)
        data.add(validation.labels)
        key = "\(graph.name) weights \(weights) data \(data) \(settings) \(MachineDescription.current)"
        if let path, let data = FileManager.default.contents(atPath: path),
           let file = try? JSONDecoder().decode(File.self, from: data), file.key == key {
            entries = file.layers
            baseline = file.baseline
        }
    }

    func save() throws(CompressError) {
        guard let path else { return }
        do {
            let data = try JSONEncoder().encode(File(key: key, baseline: baseline, layers: entries))
            try writeFileAtomically([UInt8](data), to: path)
        } catch { throw .badOption("cannot write the sensitivity cache \(path): \(error)") }
    }
}

/// FNV-1a over the bytes that decide a cached result.
struct Fingerprint: CustomStringConvertible {
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    private mutating func mix(_ v: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { hash = (hash ^ ((v >> UInt64(shift)) & 0xff)) &* 0x100_0000_01b3 }
    }
    mutating func add(_ values: [Float]) { mix(UInt64(values.count)); for v in values { mix(UInt64(v.bitPattern)) } }
    mutating func add(_ values: [Int]) { mix(UInt64(values.count)); for v in values { mix(UInt64(bitPattern: Int64(v))) } }
    mutating func add(_ s: String) { for b in s.utf8 { mix(UInt64(b)) } }
    var description: String { String(hash, radix: 16) }

    /// Every weight of a graph, by name.
    static func weights(of graph: Graph) -> Fingerprint {
        var f = Fingerprint()
        for name in graph.weights.keys.sorted() { f.add(name); f.add(graph.weights[name]!.data) }
        return f
    }
}
