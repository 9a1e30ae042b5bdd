import Foundation
import RankEdge

/// Seed 001's utilized rank (METHODS.md §4). Calibration images give each layer's input and output
/// Gram matrices; their leading eigenvectors span the subspaces the layer actually reads and
/// writes. W' = P_out·W·P_in keeps only those; a binary search per layer finds the smallest r_in,
/// then r_out, whose W' (that layer alone changed) costs at most ε validation points. The utilized
/// rank is rank(W'); W' is factored by SVD at that rank where that saves parameters.
struct UtilizedRankSearch {
    let compressor: Compressor
    let epsilon: Double

    func choose(_ analyses: [LayerAnalysis], graph: Graph, curves: inout [AccuracyCurve],
                extras: inout [String: LayerExtras]) throws(CompressError) -> [LayerChoice] {
        let data = compressor.data!
        let threads = max(compressor.options.threads, 2)
        let subspaces = try gramEigenbases(analyses, graph: graph, samples: data.calibration, threads: threads)
        let accuracy = AccuracyMeter(threads: threads)
        let baseline = try accuracy.accuracy(graph, on: data.validation)
        compressor.progress(String(format: "validation accuracy %.2f %% on %d images; searching subspaces (ε = %g points)",
                                   baseline, data.validation.count, epsilon))
        var choices: [LayerChoice] = []
        for (i, analysis) in analyses.enumerated() {
            let layer = analysis.layer
            let basis = subspaces[i]
            let w = layer.weight
            let (dIn, dOut) = (w.fanIn, w.outputs)
            var cache: [[Int]: Double] = [:]
            let evaluator = try SuffixAccuracy(graph, from: layer.name, samples: data.validation, threads: threads)
            let weightName = layer.node.inputs[1]
            let shape = graph.weights[weightName]!.shape
            // The suffix's own accuracy is the reference: the same bits as every trial but the layer.
            let layerBaseline = try evaluator.accuracy(evaluator.suffix.graph)
            func drop(_ rIn: Int, _ rOut: Int) throws(CompressError) -> Double {
                if let v = cache[[rIn, rOut]] { return v }
                var g = evaluator.suffix.graph
                g.weights[weightName] = Tensor(shape: shape, data: basis.project(w.data, rIn: rIn, rOut: rOut))
                let d = layerBaseline - (try evaluator.accuracy(g))
                cache[[rIn, rOut]] = d
                return d
            }
            // Smallest r with drop(r) ≤ ε, assuming the drop shrinks as r grows (full rank: no drop).
            func search(_ upper: Int, _ dropAt: (Int) throws(CompressError) -> Double) throws(CompressError) -> Int {
                var lo = 1, hi = upper
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if try dropAt(mid) <= epsilon { hi = mid } else { lo = mid + 1 }
                }
                return lo
            }
            compressor.progress("utilized \(i + 1)/\(analyses.count) \(layer.name): searching r_in ≤ \(dIn), r_out ≤ \(dOut)")
            let rIn = try search(dIn) { (r) throws(CompressError) in try drop(r, dOut) }
            let rOut = try search(dOut) { (r) throws(CompressError) in try drop(rIn, r) }
            let finalDrop = try drop(rIn, rOut)
            curves.append(curve(layer.name, "r_in", cache.filter { $0.key[1] == dOut }.map { ($0.key[0], $0.value) }, baseline, rIn))
            curves.append(curve(layer.name, "r_out", cache.filter { $0.key[0] == rIn }.map { ($0.key[1], $0.value) }, baseline, rOut))

            let transformed = w.with(basis.project(w.data, rIn: rIn, rOut: rOut))
            let (rank, error) = try utilizedRank(transformed, original: w)
            let utilization = Double(rank) / Double(min(dIn, dOut))
            extras[layer.name] = LayerExtras(utilization: utilization, valAccuracyDrop: finalDrop)
            var choice = LayerChoice(method: .svd, ranks: [rank],
                                     note: String(format: "utilized rank %d (r_in %d, r_out %d), utilization %.0f %%", rank, rIn, rOut, 100 * utilization))
            choice.transformedWeight = transformed
            choice.transformError = error
            if rank * (dIn + dOut) >= dIn * dOut { choice.keepOriginal("utilized rank \(rank) saves no parameters") }
            choices.append(choice)
        }
        return choices
    }

    private func curve(_ layer: String, _ parameter: String, _ points: [(Int, Double)], _ baseline: Double, _ chosen: Int) -> AccuracyCurve {
        let sorted = points.sorted { $0.0 < $1.0 }
        return AccuracyCurve(layer: layer, parameter: parameter, ranks: sorted.map(\.0), accuracy: sorted.map { baseline - $0.1 },
                             baseline: baseline, chosen: chosen)
    }

    /// rank(W') by its singular values (those above 1e-5 of the largest), and ‖W − W'_r‖ / ‖W‖.
    private func utilizedRank(_ transformed: LayerWeight, original: LayerWeight) throws(CompressError) -> (Int, Double) {
        do {
            let svd = try TruncatedSVD(transformed)
            let s = svd.singularValues
            let top = s.first ?? 0
            let rank = max(1, s.filter { $0 > top * 1e-5 }.count)
            let (rows, cols, full) = (original.outputs, original.fanIn, svd.fullRank)
            var left = [Float](repeating: 0, count: rows * rank)
            for i in 0..<rows { for l in 0..<rank { left[i * rank + l] = svd.svd.u[i * full + l] * s[l] } }
            let approx = MatrixProducts.multiply(left, Array(svd.svd.vt[0..<(rank * cols)]), m: rows, k: rank, n: cols)
            return (rank, MatrixProducts.relativeError(original.data, approx))
        } catch { throw .measurement("SVD of W': \(error)") }
    }

    /// Input and output Gram eigenbases of every layer, from one pass over the calibration images.
    private func gramEigenbases(_ analyses: [LayerAnalysis], graph: Graph, samples: LabeledSamples, threads: Int) throws(CompressError) -> [Subspaces] {
        var inputs = analyses.map { GramAccumulator(size: $0.layer.weight.fanIn) }
        var outputs = analyses.map { GramAccumulator(size: $0.layer.weight.outputs) }
        let tensors = analyses.flatMap { [$0.layer.node.inputs[0], $0.layer.node.outputs[0]] }
        var seen = 0
        try ActivationCapture(threads: threads).forEachBatch(graph, tensors: tensors, samples: samples) { values, labels in
            for (i, a) in analyses.enumerated() {
                let x = a.layer.inputRows(values[a.layer.node.inputs[0]]!)
                inputs[i].add(rows: x.rows, count: x.count)
                let y = a.layer.outputRows(values[a.layer.node.outputs[0]]!)
                outputs[i].add(rows: y.rows, count: y.count)
            }
            seen += labels.count
            compressor.progress("calibration: Gram matrices over \(seen)/\(samples.count) images")
        }
        var out: [Subspaces] = []
        for i in analyses.indices {
            do {
                out.append(Subspaces(input: try SymmetricEigen(inputs[i].gram, n: inputs[i].size),
                                     output: try SymmetricEigen(outputs[i].gram, n: outputs[i].size)))
            } catch { throw .measurement("\(analyses[i].layer.name): \(error)") }
        }
        return out
    }
}

/// A layer's input and output eigenbases, and the projection W' = V_out V_outᵀ · W · V_in V_inᵀ.
struct Subspaces {
    let input: SymmetricEigen
    let output: SymmetricEigen

    /// W [S, d_in] row-major, projected on the leading r_in input and r_out output eigenvectors.
    func project(_ w: [Float], rIn: Int, rOut: Int) -> [Float] {
        let (dOut, dIn) = (output.n, input.n)
        let vIn = input.leadingVectors(rIn).map(Float.init)      // [d_in, r_in]
        let vOut = output.leadingVectors(rOut).map(Float.init)   // [S, r_out]
        // W·V_in·V_inᵀ
        let a = MatrixProducts.multiply(w, vIn, m: dOut, k: dIn, n: rIn)
        let right = MatrixProducts.multiply(a, vIn, m: dOut, k: rIn, n: dIn, transposedB: true)
        // V_out·(V_outᵀ·that)
        let b = MatrixProducts.multiply(MatrixProducts.transpose(vOut, rows: dOut, cols: rOut), right, m: rOut, k: dOut, n: dIn)
        return MatrixProducts.multiply(vOut, b, m: dOut, k: rOut, n: dIn)
    }
}
