import Foundation
import Testing
import RankEdge
@testable import RankEdgeCompress

/// The data-driven policies on synthetic data: random images labelled by the model itself (so its
/// accuracy on them is 100 %). Utilized rank (seed 001), perturbation pruning (seed 004) and the
/// MACs and latency budgets.
@Suite struct DataPolicyTests {
    static func run(_ policy: RankPolicy, method: DecompositionMethod? = nil, data: CompressionData?,
                    configure: (inout CompressionOptions) -> Void = { _ in }) throws -> (Graph, CompressionReport) {
        var options = CompressionOptions(policy: policy)
        options.method = method
        configure(&options)
        return try Compressor(options: options, data: data).run(CT.smallNet())
    }

    static func row(_ r: CompressionReport, _ name: String) -> LayerReport { r.layers.first { $0.name == name }! }
    static let candidates = ["conv2", "conv3", "conv4", "fc1"]

    @Test func syntheticDataIsClassifiedPerfectly() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g)
        #expect(try AccuracyMeter(threads: 2).accuracy(g, on: data.validation) == 100)
        #expect(try AccuracyMeter(threads: 2).accuracy(g, on: data.calibration) == 100)
        #expect(Set(data.validation.labels).count > 1, "more than one class")
    }

    // MARK: utilized rank

    @Test func utilizedRanksUtilizationAndCurves() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 12, validation: 20)
        let epsilon = 0.5
        let (out, report) = try Self.run(.utilized(epsilon: epsilon), data: data)
        try CT.expectConsistent(report, original: g, compressed: out)
        #expect(report.policy == "utilized:0.5")
        #expect(report.totals.valAccuracyBefore == 100)
        #expect(report.totals.valAccuracyAfter != nil)
        var utilizations: [Double] = []
        for name in Self.candidates {
            let row = Self.row(report, name)
            let w = LayerWeight(g.weights["\(name).weight"]!)
            let u = try #require(row.utilization, "\(name)")
            #expect(u > 0 && u <= 1, "\(name): \(u)")
            #expect(row.method == "svd" && row.ranks.count == 1)
            #expect(abs(u - Double(row.ranks[0]) / Double(min(w.fanIn, w.outputs))) < 1e-12)
            // Each layer's transformation alone costs at most ε.
            let drop = try #require(row.valAccuracyDrop)
            #expect(drop <= epsilon + 1e-9, "\(name): \(drop)")
            // Curves over r_in and r_out; the utilized rank is at most min(r_in, r_out).
            let curves = report.accuracyCurves.filter { $0.layer == name }
            #expect(curves.map(\.parameter) == ["r_in", "r_out"])
            for c in curves {
                #expect(c.ranks.count == c.accuracy.count)
                #expect(c.ranks == c.ranks.sorted())
                #expect(c.baseline == 100)
                #expect(c.accuracy.allSatisfy { $0 >= 0 && $0 <= 100 })
            }
            let rIn = try #require(curves.first?.chosen), rOut = try #require(curves.last?.chosen)
            #expect(rIn >= 1 && rIn <= w.fanIn && rOut >= 1 && rOut <= w.outputs)
            #expect(row.ranks[0] <= min(rIn, rOut), "\(name): rank \(row.ranks[0]), r_in \(rIn), r_out \(rOut)")
            #expect(row.reason.contains("utilized rank \(row.ranks[0])"))
            if row.kept {
                #expect(row.ranks[0] * (w.fanIn + w.outputs) < w.fanIn * w.outputs)
            } else {
                #expect(row.reason.contains("saves no parameters"), "\(row.reason)")
            }
            utilizations.append(u)
        }
        // MLU: the mean over the layers that have one.
        let mlu = try #require(report.totals.mlu)
        #expect(abs(mlu - utilizations.reduce(0, +) / Double(utilizations.count)) < 1e-12)
        #expect(report.layers.compactMap(\.utilization).count == Self.candidates.count)
    }

    /// A huge ε lets every layer drop to rank 1 (the search walks down, not up).
    @Test func utilizedWithALooseEpsilonReachesRankOne() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 20)
        let (out, loose) = try Self.run(.utilized(epsilon: 99), data: data) { $0.include = ["conv4", "fc1"] }
        for name in ["conv4", "fc1"] {
            #expect(Self.row(loose, name).ranks == [1], "\(name)")
            #expect(Self.row(loose, name).kept)
        }
        #expect(Self.row(loose, "conv3").reason == "not matched by --include")
        #expect(out.nodes.filter { $0.name.hasSuffix(".svd_v") }.map(\.name) == ["conv4.svd_v", "fc1.svd_v"])
        try CT.expectConsistent(loose, original: g, compressed: out)
    }

    // MARK: perturbation pruning

    static let perturbationCases: [(RankPolicy.PerturbationScore, RankPolicy.Blocking)] = [
        (.relerr, .none), (.magnitude, .none), (.output, .none), (.variance, .none),
        (.relerr, .alds), (.output, .alds), (.magnitude, .square),
    ]

    /// Direct: global pruning reaches the parameter target over the candidate layers, counting the
    /// parameters the factor nodes really hold (uneven groups are padded to the widest).
    @Test(arguments: perturbationCases)
    func pruningReachesTheParameterTarget(score: RankPolicy.PerturbationScore, blocks: RankPolicy.Blocking) throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 12)
        let analyses = try LayerSelection.candidates(in: g).layers.map { LayerAnalysis($0) }
        var extras: [String: LayerExtras] = [:]
        // Output scores run the network once per vector: one sparsity for those.
        for sparsity in score == .output || score == .variance ? [0.6] : [0.3, 0.6] {
            let compressor = Compressor(options: CompressionOptions(policy: .perturbation(sparsity: sparsity, score: score, blocks: blocks)), data: data)
            let choices = try PerturbationPruning(compressor: compressor, sparsity: sparsity, score: score, blocks: blocks)
                .choose(analyses, graph: g, extras: &extras).choices
            #expect(choices.count == analyses.count)
            let before = analyses.reduce(0) { $0 + $1.originalWeightParams }
            var after = 0
            for (c, a) in zip(choices, analyses) {
                let sel = try #require(c.selection)
                #expect(sel.kept.allSatisfy { !$0.isEmpty }, "every block keeps a vector")
                #expect(c.ranks == sel.kept.map(\.count))
                let held = sel.factor(a.layer.weight, geometry: a.layer.geometry).params
                #expect(held >= sel.idealParams)
                after += c.isKept ? held : a.originalWeightParams
                if c.isKept {
                    #expect(held < a.originalWeightParams, "\(a.layer.name) decomposed into \(held) of \(a.originalWeightParams) parameters")
                } else {
                    #expect(held >= a.originalWeightParams)
                }
                if blocks == .alds && a.layer.name == "conv3" { #expect(sel.partition.inputGroups == 4) }
                if blocks == .square && a.layer.name == "conv3" { #expect(sel.partition.inputGroups == 6) }
            }
            #expect(Double(after) <= (1 - sparsity) * Double(before) + 1, "\(score)/\(blocks) at \(sparsity): \(after) of \(before)")
        }
    }

    @Test(arguments: [(RankPolicy.PerturbationScore.relerr, RankPolicy.Blocking.none), (.output, .none), (.variance, .alds), (.magnitude, .square)])
    func perturbationEndToEnd(score: RankPolicy.PerturbationScore, blocks: RankPolicy.Blocking) throws {
        let g = CT.smallNet()
        let policy = RankPolicy.perturbation(sparsity: 0.5, score: score, blocks: blocks)
        let data = policy.needsData ? try CT.data(for: g, calibration: 8, validation: 12) : nil
        let (out, report) = try Self.run(policy, data: data)
        try CT.expectConsistent(report, original: g, compressed: out)
        #expect(report.totals.paramsAfter < report.totals.paramsBefore)
        let candidateRows = Self.candidates.map { Self.row(report, $0) }
        #expect(candidateRows.contains { $0.kept })
        for row in candidateRows {
            #expect(row.method == "svd")
            #expect(row.reason.contains("score \(score.rawValue), sparsity 0.5"), "\(row.reason)")
            if !row.kept { #expect(row.reason.contains("saves no parameters")) }
        }
        // The candidates' weights end at most at half of what they were.
        let biases = Self.candidates.reduce(0) { $0 + (g.weights["\($1).bias"]?.count ?? 0) }
        let weightsBefore = candidateRows.reduce(0) { $0 + $1.paramsBefore } - biases
        let weightsAfter = candidateRows.reduce(0) { $0 + $1.paramsAfter } - biases
        #expect(Double(weightsAfter) <= 0.5 * Double(weightsBefore) + 1, "\(weightsAfter) of \(weightsBefore)")
    }

    /// conv3 with its first ALDS group (input channels 0–2) twenty times larger than the rest:
    /// magnitude scores keep all 13 vectors of that block and prune the other blocks to one each.
    /// The grouped factor pads every group to the widest, so it must be judged on what it holds.
    static func dominantGroupNet() -> Graph {
        var g = CT.smallNet()
        var w = g.weights["conv3.weight"]!
        for i in 0..<w.count where i % 12 < 3 { w.data[i] *= 20 }
        g.weights["conv3.weight"] = w
        return g
    }

    @Test func perturbationNeverGrowsALayer() throws {
        let g = Self.dominantGroupNet()
        var options = CompressionOptions(policy: .perturbation(sparsity: 0.5, score: .magnitude, blocks: .alds))
        options.method = nil
        let (out, report) = try Compressor(options: options).run(g)
        let conv3 = Self.row(report, "conv3")
        #expect(!conv3.kept || conv3.paramsAfter < conv3.paramsBefore,
                "conv3 decomposed into \(conv3.paramsAfter) parameters from \(conv3.paramsBefore) (ranks \(conv3.ranks))")
        try CT.expectConsistent(report, original: g, compressed: out)
    }

    /// The classifier included on purpose, the graph's last node: its output is the network's
    /// output, so scoring its vectors needs no network after it.
    @Test func outputScoresReachTheClassifier() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 12)
        let (out, report) = try Self.run(.perturbation(sparsity: 0.5, score: .output, blocks: .none), data: data) {
            $0.include = ["fc1", "fc2"]
        }
        try CT.expectConsistent(report, original: g, compressed: out)
        #expect(Self.row(report, "fc2").reason.contains("score output"))
    }

    /// The pruning summary agrees with the layer rows: vectors counted per block, the kept ones
    /// summing to the rows' ranks, collapsed layers exactly those left at one vector per block, and a
    /// score ranked against itself correlating perfectly.
    @Test(arguments: [(RankPolicy.PerturbationScore.relerr, RankPolicy.Blocking.none), (.magnitude, .alds), (.output, .square)])
    func pruningSummaryMatchesTheLayers(score: RankPolicy.PerturbationScore, blocks: RankPolicy.Blocking) throws {
        let g = CT.smallNet()
        let policy = RankPolicy.perturbation(sparsity: 0.9, score: score, blocks: blocks)
        let data = policy.needsData ? try CT.data(for: g, calibration: 8, validation: 12) : nil
        let (_, report) = try Self.run(policy, data: data) { $0.sensitivityCache = nil }
        let p = try #require(report.pruning)
        #expect(p.score == score.rawValue && p.blocks == blocks.rawValue && p.sparsity == 0.9)
        let analyses = try LayerSelection.candidates(in: g).layers.map { LayerAnalysis($0) }
        let expectedVectors = analyses.reduce(0) { total, a in
            total + BlockPartition.make(a.layer.weight, blocks, linear: a.layer.geometry.isLinear).blocks.reduce(0) { $0 + min($1.rows, $1.cols) }
        }
        #expect(p.vectors == expectedVectors)
        let rows = Self.candidates.map { Self.row(report, $0) }
        #expect(p.keptVectors == rows.reduce(0) { $0 + $1.ranks.reduce(0, +) })
        #expect(p.collapsed == rows.filter { $0.ranks.allSatisfy { $0 == 1 } }.map(\.name))
        #expect(!p.collapsed.isEmpty, "90 % sparsity on the small net leaves some layer at one vector per block")
        #expect(p.svdSeconds >= 0 && p.scoringSeconds >= 0 && !p.scoresCached)
        if score == .relerr { #expect(abs(try #require(p.spearmanRelerr) - 1) < 1e-12) }
        if score == .magnitude { #expect(abs(try #require(p.spearmanMagnitude) - 1) < 1e-12) }
        if score == .output { #expect(p.scoringSeconds > 0) }
        let rho = try #require(p.spearmanRelerr)
        #expect(rho >= -1 && rho <= 1)
    }

    /// Output scores are computed once per blocking: another sparsity, or the variance score, reads
    /// them back and chooses exactly what a run without the cache chooses.
    @Test func outputScoresAreCachedAcrossSparsitiesAndScores() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 12)
        let path = CT.temporaryPath("perturbation.json")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let cached: (inout CompressionOptions) -> Void = { $0.sensitivityCache = path }
        let uncached: (inout CompressionOptions) -> Void = { $0.sensitivityCache = nil }
        let (_, first) = try Self.run(.perturbation(sparsity: 0.5, score: .output, blocks: .alds), data: data, configure: cached)
        #expect(first.pruning?.scoresCached == false)
        #expect(FileManager.default.fileExists(atPath: path))
        for policy in [RankPolicy.perturbation(sparsity: 0.8, score: .output, blocks: .alds), .perturbation(sparsity: 0.5, score: .variance, blocks: .alds)] {
            let (_, again) = try Self.run(policy, data: data, configure: cached)
            let (_, fresh) = try Self.run(policy, data: data, configure: uncached)
            #expect(again.pruning?.scoresCached == true, "\(policy)")
            #expect(fresh.pruning?.scoresCached == false)
            #expect(again.pruning?.scoringSeconds == first.pruning?.scoringSeconds, "the time of the run that scored")
            #expect(again.layers.map(\.ranks) == fresh.layers.map(\.ranks), "\(policy)")
        }
        // Another blocking is scored anew; different calibration images do not read stale scores.
        let (_, none) = try Self.run(.perturbation(sparsity: 0.5, score: .output, blocks: .none), data: data, configure: cached)
        #expect(none.pruning?.scoresCached == false)
        let other = try CT.data(for: g, calibration: 9, validation: 12)
        let (_, otherData) = try Self.run(.perturbation(sparsity: 0.5, score: .output, blocks: .alds), data: other, configure: cached)
        #expect(otherData.pruning?.scoresCached == false)
    }

    @Test func spearmanCorrelationWithTies() {
        #expect(spearmanCorrelation([1, 2, 3, 4], [10, 20, 30, 1000]) == 1)
        #expect(spearmanCorrelation([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
        // b's ranks with the tie shared: [1, 2, 3.5, 5, 3.5]; Pearson of the ranks = 8 / √95.
        #expect(fractionalRanks([5, 6, 7, 8, 7]) == [1, 2, 3.5, 5, 3.5])
        #expect(abs(spearmanCorrelation([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]) - 8 / 95.0.squareRoot()) < 1e-12)
        #expect(spearmanCorrelation([1, 2, 3], [7, 7, 7]).isNaN)
        #expect(spearmanCorrelation([1], [2]).isNaN)
    }

    // MARK: budgets

    @Test func macsBudgetIsMetAndItsSensitivityCached() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 20)
        let path = CT.temporaryPath("sensitivity.json")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let configure: (inout CompressionOptions) -> Void = { $0.sensitivityCache = path }
        let (out, report) = try Self.run(.budgetMACs(0.6), data: data, configure: configure)
        try CT.expectConsistent(report, original: g, compressed: out)
        #expect(report.totals.macsAfter <= Int(0.6 * Double(report.totals.macsBefore)) + 1,
                "\(report.totals.macsAfter) of \(report.totals.macsBefore)")
        #expect(report.accuracyCurves.map(\.layer) == Self.candidates)
        #expect(report.accuracyCurves.allSatisfy { $0.parameter == "rank" && $0.ranks.count == $0.accuracy.count && !$0.ranks.isEmpty })
        for name in Self.candidates {
            let row = Self.row(report, name)
            if row.kept {
                #expect(row.valAccuracyDrop != nil)
                #expect(row.reason.hasPrefix("budget macs=0.6"), "\(row.reason)")
            } else {
                #expect(row.reason.contains("the budget is met without it"), "\(row.reason)")
            }
        }

        // The cache file: one entry per candidate, with the baseline.
        let file = try #require(FileManager.default.contents(atPath: path))
        let json = try #require(try JSONSerialization.jsonObject(with: file) as? [String: Any])
        let layers = try #require(json["layers"] as? [String: Any])
        #expect(Set(layers.keys) == Set(Self.candidates))
        #expect((json["baseline"] as? NSNumber)?.doubleValue == 100)
        #expect((json["key"] as? String)?.contains(g.name) == true)

        // A second run reads it and decides the same.
        let (again, second) = try Self.run(.budgetMACs(0.6), data: data, configure: configure)
        #expect(second.layers.map(\.ranks) == report.layers.map(\.ranks))
        #expect(second.layers.map(\.kept) == report.layers.map(\.kept))
        #expect(second.totals.macsAfter == report.totals.macsAfter)
        #expect(try again.cost().total == out.cost().total)

        // It really is read: a layer whose cached curve is emptied is no longer decomposed.
        var edited = json
        var editedLayers = layers
        let victim = try #require(report.layers.first { $0.kept }?.name)
        editedLayers[victim] = [Any]()
        edited["layers"] = editedLayers
        try JSONSerialization.data(withJSONObject: edited).write(to: URL(fileURLWithPath: path))
        let (_, third) = try Self.run(.budgetMACs(0.6), data: data, configure: configure)
        #expect(!Self.row(third, victim).kept)
    }

    /// Curves measured on one validation set are not those of another of the same size: the cache
    /// must not hand them back (here the second set's labels are all wrong, baseline 0 %).
    @Test func sensitivityCacheIsKeyedByTheValidationData() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 20)
        var other = data
        other.validation.labels = data.validation.labels.map { ($0 + 1) % 10 }
        let path = CT.temporaryPath("sensitivity.json")
        defer { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
        let configure: (inout CompressionOptions) -> Void = { $0.sensitivityCache = path; $0.include = ["conv3"] }
        let (_, first) = try Self.run(.budgetMACs(0.6), data: data, configure: configure)
        #expect(first.accuracyCurves.allSatisfy { $0.baseline == 100 })
        let (_, second) = try Self.run(.budgetMACs(0.6), data: other, configure: configure)
        #expect(second.totals.valAccuracyBefore == 0)
        for curve in second.accuracyCurves {
            #expect(curve.baseline == second.totals.valAccuracyBefore, "\(curve.layer): curve from the other data set (baseline \(curve.baseline))")
        }
    }

    @Test func latencyBudgetRunsAndReports() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 20)
        let (out, report) = try Self.run(.budgetLatency(0.8), data: data) { $0.include = ["conv3", "conv4"] }
        try CT.expectConsistent(report, original: g, compressed: out)
        #expect(report.policy == "budget:latency=0.8")
        #expect(report.accuracyCurves.map(\.layer) == ["conv3", "conv4"])
    }

    /// With --snap latency a latency budget snaps inside its search: every decomposed layer was
    /// swept exactly once (no second snap by the compressor), and its reason says both.
    @Test func latencyBudgetSnapsOnceInsideItsSearch() throws {
        let g = CT.smallNet()
        let data = try CT.data(for: g, calibration: 8, validation: 20)
        let (out, report) = try Self.run(.budgetLatency(0.8), data: data) { $0.include = ["conv3", "conv4"]; $0.snap = .latency }
        try CT.expectConsistent(report, original: g, compressed: out)
        let swept = report.sweeps.map(\.layer)
        #expect(Set(swept).count == swept.count, "a layer swept twice: \(swept)")
        for row in report.layers where row.kept {
            #expect(swept.contains(row.name), "\(row.name) kept without a sweep")
            #expect(row.reason.hasPrefix("budget latency=0.8"), "\(row.reason)")
            #expect(row.reason.contains("snapped") || row.reason.contains("no latency cliff"), "\(row.reason)")
        }
    }

    /// A drop too small to measure is charged one image's worth times the squared weight error, so
    /// the greedy allocation does not treat every unmeasurable loss as free.
    @Test func unmeasurableDropsAreNotFree() {
        let option = { (drop: Double, error: Double) in
            BudgetSearch.Option(method: .tucker2, ranks: [4, 4], macs: 1, ms: 1, originalMs: 2, drop: drop, relativeError: error)
        }
        #expect(option(-0.6, 0.5).charge(resolution: 2) == 0.5)
        #expect(option(1.0, 0.5).charge(resolution: 2) == 1.5)
        #expect(option(0, 0.9).charge(resolution: 5) > option(0, 0.3).charge(resolution: 5))
        #expect(option(0.4, 0).charge(resolution: 5) == 0.4)
    }
}
