import Foundation
import RankEdge

/// Seed 004's low-rank pruning (METHODS.md §5): every singular vector of every (blocked) layer gets
/// a score, scores are compared across layers, and the lowest are removed until the candidate
/// layers hold (1 − sparsity) of their parameters. Scores: `magnitude` σ_i; `relerr` σ_i²/‖W‖²;
/// `output` E‖y − y_{b,i}‖² and `variance` Σ_j Var(y_j − y_{b,i,j}) over calibration images, y the
/// network's output and y_{b,i} the output with that vector removed (the removal is exact at the
/// layer's output; only the rest of the network is run again).
struct PerturbationPruning {
    let compressor: Compressor
    let sparsity: Double
    let score: RankPolicy.PerturbationScore
    let blocks: RankPolicy.Blocking

    struct Vector { var layer: Int; var block: Int; var index: Int; var score: Double; var cost: Int }

    func choose(_ analyses: [LayerAnalysis], graph: Graph, extras: inout [String: LayerExtras]) throws(CompressError)
        -> (choices: [LayerChoice], report: PruningReport) {
        let blockings = analyses.map { BlockPartition.make($0.layer.weight, blocks, linear: $0.layer.geometry.isLinear) }
        let svdStart = ContinuousClock.now
        var svds: [[SVD]] = []
        for (i, a) in analyses.enumerated() {
            compressor.progress("perturbation: SVD of \(a.layer.name) (\(blockings[i].count) block\(blockings[i].count == 1 ? "" : "s"))")
            do { svds.append(try blockings[i].blocks.map { try SVD($0.matrix(a.layer.weight), rows: $0.rows, cols: $0.cols) }) }
            catch { throw .measurement("\(a.layer.name): \(error)") }
        }
        let svdSeconds = seconds(since: svdStart)

        var cache: PerturbationScoreCache?
        if score == .output || score == .variance {
            cache = PerturbationScoreCache(path: compressor.options.sensitivityCache, graph: graph, calibration: compressor.data!.calibration)
        }
        var scoringSeconds = 0.0, allCached = cache != nil
        var vectors: [Vector] = []
        var magnitudes: [Double] = [], relerrs: [Double] = []
        for (i, a) in analyses.enumerated() {
            let norm = a.layer.weight.squaredNorm
            var scores: [[Double]]
            switch score {
            case .magnitude: scores = svds[i].map { $0.s.map(Double.init) }
            case .relerr: scores = svds[i].map { $0.s.map { Double($0) * Double($0) / max(norm, 1e-30) } }
            case .output, .variance:
                var measured = cache![a.layer.name, blocks]
                if measured == nil {
                    allCached = false
                    let start = ContinuousClock.now
                    let (output, variance) = try outputScores(a, partition: blockings[i], svds: svds[i], graph: graph)
                    measured = .init(output: output, variance: variance, seconds: seconds(since: start))
                    cache![a.layer.name, blocks] = measured
                    try cache!.save()  // after every layer: an interrupted scoring resumes where it stopped
                }
                scores = score == .output ? measured!.output : measured!.variance
                scoringSeconds += measured!.seconds
            }
            for (b, block) in blockings[i].blocks.enumerated() {
                for (k, s) in scores[b].enumerated() {
                    vectors.append(Vector(layer: i, block: b, index: k, score: s, cost: block.rows + block.cols))
                    let sigma = Double(svds[i][b].s[k])
                    magnitudes.append(sigma)
                    relerrs.append(sigma * sigma / max(norm, 1e-30))
                }
            }
        }
        // Global pruning: drop the lowest-scored vectors until the parameter target is met. Any
        // subset of a block's components is a valid factorization; every block keeps at least one,
        // and a layer counts its dense size while that is smaller. Sizes are those of the nodes
        // built (input groups padded to the widest), so the target holds in the graph written.
        var kept = blockings.enumerated().map { i, p in p.blocks.indices.map { Set(0..<svds[i][$0].s.count) } }
        func layerParams(_ i: Int) -> Int {
            min(analyses[i].originalWeightParams, blockings[i].paddedParams(keeping: kept[i].map(\.count), of: analyses[i].layer.weight))
        }
        let before = analyses.reduce(0) { $0 + $1.originalWeightParams }
        let target = Int((1 - sparsity) * Double(before))
        var current = analyses.indices.reduce(0) { $0 + layerParams($1) }
        for v in vectors.sorted(by: { $0.score < $1.score }) where current > target && kept[v.layer][v.block].count > 1 {
            let old = layerParams(v.layer)
            kept[v.layer][v.block].remove(v.index)
            current += layerParams(v.layer) - old
        }
        let keptVectors = kept.joined().reduce(0) { $0 + $1.count }
        compressor.progress("perturbation: \(vectors.count) vectors scored, \(keptVectors) kept")
        let choices = analyses.indices.map { i in
            let selection = ComponentSelection(partition: blockings[i], svds: svds[i], kept: kept[i].map { $0.sorted() })
            let label = selection.kept.map { String($0.count) }.joined(separator: "/")
            let blockNote = blockings[i].count > 1 ? ", \(blocks.rawValue) blocks \(label)" : ""
            var c = LayerChoice(method: .svd, ranks: selection.kept.map(\.count), branches: blockings[i].inputGroups,
                                note: "score \(score.rawValue), sparsity \(sparsity)\(blockNote)")
            c.selection = selection
            if selection.paddedParams(of: analyses[i].layer.weight) >= analyses[i].originalWeightParams { c.keepOriginal("pruned to rank \(label), which saves no parameters") }
            return c
        }
        // A layer is collapsed when every block is down to the one vector pruning must leave.
        let collapsed = analyses.indices.filter { i in
            kept[i].allSatisfy { $0.count == 1 } && svds[i].contains { $0.s.count > 1 }
        }.map { analyses[$0].layer.name }
        let scoreValues = vectors.map(\.score)
        let report = PruningReport(score: score.rawValue, blocks: blocks.rawValue, sparsity: sparsity, vectors: vectors.count,
                                   keptVectors: keptVectors, svdSeconds: svdSeconds, scoringSeconds: scoringSeconds,
                                   scoresCached: allCached, collapsed: collapsed,
                                   spearmanRelerr: definedOrNil(spearmanCorrelation(scoreValues, relerrs)),
                                   spearmanMagnitude: definedOrNil(spearmanCorrelation(scoreValues, magnitudes)))
        return (choices, report)
    }

    private func definedOrNil(_ x: Double) -> Double? { x.isNaN ? nil : x }

    private func seconds(since start: ContinuousClock.Instant) -> Double { (ContinuousClock.now - start) / .seconds(1) }

    /// Output-perturbation and output-variance scores of every singular vector of one layer's blocks,
    /// from the same forward passes.
    private func outputScores(_ a: LayerAnalysis, partition: BlockPartition, svds: [SVD], graph: Graph) throws(CompressError)
        -> (output: [[Double]], variance: [[Double]]) {
        let samples = compressor.data!.calibration
        let layer = a.layer
        let output = layer.node.outputs[0]
        // A layer writing the network's output (an included classifier) has no rest to run.
        let suffix = output == graph.outputs[0] ? nil : try SuffixGraph(graph, after: layer.name)
        let threads = max(compressor.options.threads, 2)
        // The layer's input, its output and the other live tensors, for every calibration image.
        var captured: [String: Tensor] = [:]
        try ActivationCapture(threads: threads, batch: samples.count)
            .forEachBatch(graph, tensors: [layer.node.inputs[0], output] + (suffix?.inputs ?? []), samples: samples) { values, _ in
            captured = values
        }
        let x = layer.inputRows(captured[layer.node.inputs[0]]!)
        let y = captured[output]!
        var session: InferenceSession?
        if let suffix {
            do { session = try InferenceSession(graph: suffix.graph, options: .init(threads: threads)) } catch { throw .measurement("\(error)") }
        }
        var feeds: [String: Tensor] = [:]
        for t in suffix?.inputs ?? [] { feeds[t] = captured[t]! }
        /// The network's output when the layer's output is `changed`.
        func network(_ changed: Tensor) throws(CompressError) -> Tensor {
            guard let session else { return changed }
            feeds[output] = changed
            do { return try session.run(feeds)[graph.outputs[0]]! } catch { throw .measurement("\(error)") }
        }
        let reference = try network(y)
        let s = layer.weight.outputs
        var outputs: [[Double]] = [], variances: [[Double]] = []
        for (b, block) in partition.blocks.enumerated() {
            compressor.progress("perturbation: \(layer.name) block \(b + 1)/\(partition.count): \(svds[b].s.count) vectors through the rest of the network")
            var blockOutputs: [Double] = [], blockVariances: [Double] = []
            let svd = svds[b]
            for k in 0..<svd.s.count {
                // y_{b,k} = y − σ_k u_k (v_kᵀ x_block) at every output pixel of the block's outputs.
                var changed = y
                let v = (0..<block.cols).map { svd.vt[k * block.cols + $0] }
                let u = (0..<block.rows).map { svd.u[$0 * svd.rank + k] * svd.s[k] }
                for p in 0..<x.count {
                    var dot: Float = 0
                    for (j, col) in block.columns.enumerated() { dot += x.rows[p * layer.weight.fanIn + col] * v[j] }
                    if dot == 0 { continue }
                    for (i, row) in block.outputRows.enumerated() { changed.data[p * s + row] -= dot * u[i] }
                }
                let perturbed = try network(changed)
                blockOutputs.append(Self.meanSquaredDistance(reference, perturbed))
                blockVariances.append(Self.summedVariance(reference, perturbed))
            }
            outputs.append(blockOutputs)
            variances.append(blockVariances)
        }
        return (outputs, variances)
    }

    /// `output`: mean over samples of ‖y − y'‖².
    static func meanSquaredDistance(_ y: Tensor, _ changed: Tensor) -> Double {
        var sum = 0.0
        for i in 0..<y.count { let d = Double(y.data[i] - changed.data[i]); sum += d * d }
        return sum / Double(max(y.shape[0], 1))
    }

    /// `variance`: Σ over output components of the variance over samples of y − y'.
    static func summedVariance(_ y: Tensor, _ changed: Tensor) -> Double {
        let n = y.shape[0], k = y.count / max(n, 1)
        var total = 0.0
        for j in 0..<k {
            var mean = 0.0, sq = 0.0
            for i in 0..<n { let d = Double(y.data[i * k + j] - changed.data[i * k + j]); mean += d; sq += d * d }
            mean /= Double(n)
            total += sq / Double(n) - mean * mean
        }
        return total
    }
}
