import Testing
import RankEdge
@testable import RankEdgeCompress

/// The decompositions' numbers: each reported relative error is the true ‖W − Ŵ‖/‖W‖ of the
/// factors it returns, and matches what the theory says it must be.
@Suite struct DecompositionErrorTests {
    // MARK: truncated SVD (Eckart–Young)

    /// Linear [13, 11] and conv [11, 3, 3, 7]: error at rank r is the tail energy of the spectrum.
    @Test(arguments: [(13, 1, 11), (11, 3, 7)])
    func truncatedSVDErrorIsTheTailEnergy(shape: (Int, Int, Int)) throws {
        let (s, k, c) = shape
        let w = CT.weight(outputs: s, kernelH: k, kernelW: k, inputs: c, seed: 31)
        let svd = try TruncatedSVD(w)
        let sigma = svd.singularValues
        #expect(sigma.count == min(s, k * k * c))
        #expect(zip(sigma, sigma.dropFirst()).allSatisfy { $0 >= $1 })
        // Σσ² = ‖W‖².
        #expect(abs(CT.squaredNorm(sigma) - w.squaredNorm) <= 1e-5 * w.squaredNorm)
        let geometry = k == 1 ? LayerGeometry.linear : LayerGeometry(conv: CT.oddConv)
        for r in [1, 2, 4, 7, svd.fullRank] {
            let f = svd.factor(rank: r, geometry: geometry)
            #expect(f.ranks == [r])
            #expect(abs(f.relativeError - CT.tailError(sigma, keeping: r)) <= 1e-5, "rank \(r)")
            // The two factors' product is the rank-r reconstruction.
            let first = f.layers[0].weights[0], second = f.layers[1].weights[0]
            #expect(first.count == r * k * k * c && second.count == s * r)
            let product = CT.matmul(second.data, first.data, m: s, k: r, n: k * k * c)
            #expect(abs(MatrixProducts.relativeError(w.data, product) - f.relativeError) <= 1e-5, "rank \(r)")
            #expect(f.params == TruncatedSVD.params(w, rank: r))
        }
        let full = svd.factor(rank: svd.fullRank, geometry: geometry)
        #expect(full.relativeError < 1e-5)
        // Ranks past the full rank are clamped; rank 0 becomes 1.
        #expect(svd.factor(rank: 100, geometry: geometry).ranks == [svd.fullRank])
        #expect(svd.factor(rank: 0, geometry: geometry).ranks == [1])
    }

    /// The conv factor keeps the layer's stride and padding; the 1×1 after it is plain.
    @Test func truncatedSVDConvFactorsKeepTheGeometry() throws {
        let w = CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 7, seed: 32)
        let f = try TruncatedSVD(w).factor(rank: 4, geometry: LayerGeometry(conv: CT.oddConv))
        #expect(f.layers.map(\.suffix) == ["svd_v", "svd_u"])
        #expect(f.layers[0].op == .conv2d(CT.oddConv))
        #expect(f.layers[0].weights[0].shape.dims == [4, 3, 3, 7])
        #expect(f.layers[1].op == .conv2d(Conv2DAttributes()))
        #expect(f.layers[1].weights[0].shape.dims == [11, 1, 1, 4])
        #expect(f.layers.map(\.takesBias) == [false, true])
    }

    // MARK: Tucker-2

    /// Ŵ[s, t, c] = Σ U_out[s, o] · G[o, t, i] · U_in[c, i] with a given core, directly.
    static func tuckerReconstruction(_ fit: Tucker2, core: [Float]) -> [Float] {
        let w = fit.weight
        let (s, taps, c, r1, r2) = (w.outputs, w.taps, w.inputs, fit.inputRank, fit.outputRank)
        let outer = CT.matmul(fit.uOut, core, m: s, k: r2, n: taps * r1)                 // [S, taps·R1]
        return CT.matmul(outer, MatrixProducts.transpose(fit.uIn, rows: c, cols: r1), m: s * taps, k: r1, n: c)
    }

    @Test func hooiErrorsNeverIncreaseAndBeatHOSVD() throws {
        for (s, k, c, r1, r2) in [(11, 3, 13, 5, 4), (13, 3, 7, 3, 6), (9, 5, 6, 2, 2)] {
            let w = CT.weight(outputs: s, kernelH: k, kernelW: k, inputs: c, seed: UInt64(40 + s))
            let hooi = try Tucker2(w, inputRank: r1, outputRank: r2)
            let hosvd = try Tucker2(w, inputRank: r1, outputRank: r2, maxIterations: 0)
            #expect(hosvd.iterations == 0 && hosvd.errors.count == 1)
            #expect(hooi.errors.count == hooi.iterations + 1)
            #expect(hooi.iterations >= 1)
            #expect(hooi.errors[0] == hosvd.errors[0], "both start from HOSVD")
            for i in 1..<hooi.errors.count {
                #expect(hooi.errors[i] <= hooi.errors[i - 1] + 1e-6, "sweep \(i) of \(s)x\(k)x\(k)x\(c): \(hooi.errors)")
            }
            #expect(hooi.relativeError <= hosvd.relativeError + 1e-7)
            #expect(hooi.relativeError > 0.05, "a truncated random kernel cannot be fitted closely")
            // A bounded run stops at its bound.
            let two = try Tucker2(w, inputRank: r1, outputRank: r2, maxIterations: 2, tolerance: 0)
            #expect(two.iterations == 2)
            // Factors stay orthonormal.
            #expect(CT.orthonormalityDefect(hooi.uIn, rows: c, cols: hooi.inputRank) < 1e-5)
            #expect(CT.orthonormalityDefect(hooi.uOut, rows: s, cols: hooi.outputRank) < 1e-5)
        }
    }

    @Test func tuckerReportedErrorIsTheReconstructionError() throws {
        let w = CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 13, seed: 44)
        for (r1, r2) in [(1, 1), (5, 4), (9, 10), (13, 11)] {
            let fit = try Tucker2(w, inputRank: r1, outputRank: r2)
            let direct = MatrixProducts.relativeError(w.data, Self.tuckerReconstruction(fit, core: fit.core))
            let f = fit.factor(geometry: LayerGeometry(conv: CT.oddConv))
            #expect(abs(f.relativeError - direct) <= 1e-5, "ranks \(r1)/\(r2)")
            // The factor nodes hold U_inᵀ, the core and U_out.
            let (first, core, last) = (f.layers[0].weights[0], f.layers[1].weights[0], f.layers[2].weights[0])
            #expect(first.shape.dims == [r1, 1, 1, 13] && core.shape.dims == [r2, 3, 3, r1] && last.shape.dims == [11, 1, 1, r2])
            let fromNodes = CT.matmul(CT.matmul(last.data, core.data, m: 11, k: r2, n: 9 * r1), first.data, m: 99, k: r1, n: 13)
            #expect(abs(MatrixProducts.relativeError(w.data, fromNodes) - direct) <= 1e-5)
            #expect(f.params == Tucker2.params(w, ranks: r1, r2))
            // Tucker2's own error (‖W‖² − ‖G‖²) says the same.
            #expect(abs(fit.relativeError - direct) <= 1e-4, "ranks \(r1)/\(r2): \(fit.relativeError) vs \(direct)")
        }
    }

    @Test func tuckerAtFullRanksIsExact() throws {
        let w = CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 13, seed: 45)
        let fit = try Tucker2(w, inputRank: 13, outputRank: 11)
        #expect(fit.factor(geometry: LayerGeometry(conv: CT.oddConv)).relativeError < 1e-5)
        #expect(MatrixProducts.relativeError(w.data, Self.tuckerReconstruction(fit, core: fit.core)) < 1e-5)
        // The recorded error is the same quantity: ~0, not the square root of rounding noise.
        #expect(fit.relativeError < 1e-5, "errors \(fit.errors)")
    }

    @Test func tuckerRanksAboveTheMaximumAreClamped() throws {
        // C = 13, S = 11: R1 ≤ min(C, S·taps) = 13, R2 ≤ min(S, C·taps) = 11.
        let w = CT.weight(outputs: 11, kernelH: 3, kernelW: 3, inputs: 13, seed: 46)
        let fit = try Tucker2(w, inputRank: 100, outputRank: 50)
        #expect(fit.inputRank == 13 && fit.outputRank == 11)
        #expect(fit.factor(geometry: LayerGeometry(conv: CT.oddConv)).ranks == [13, 11])
        // A thin layer: C = 30 inputs but only S·taps = 2·9 = 18 columns of the mode-C unfolding.
        let thin = CT.weight(outputs: 2, kernelH: 3, kernelW: 3, inputs: 30, seed: 47)
        let t = try Tucker2(thin, inputRank: 30, outputRank: 5)
        #expect(t.inputRank == 18 && t.outputRank == 2)
        #expect(t.factor(geometry: LayerGeometry(conv: CT.oddConv)).relativeError < 1e-5)
        let zero = try Tucker2(w, inputRank: 0, outputRank: -3)
        #expect(zero.inputRank == 1 && zero.outputRank == 1)
        // The analysis' full ranks are the same bounds.
        #expect(CT.analysis(w).fullRanks(.tucker2) == [13, 11])
        #expect(CT.analysis(thin).fullRanks(.tucker2) == [18, 2])
    }

    /// Branched Tucker-2: a grouped core conv computing exactly the block-diagonal core, whose error
    /// is the one reported; in a graph it equals a dense conv with that reconstructed weight.
    @Test(arguments: [2, 3])
    func branchedCoreIsTheBlockDiagonalReconstruction(branches n: Int) throws {
        let (s, c) = (12, 10)
        let w = CT.weight(outputs: s, kernelH: 3, kernelW: 3, inputs: c, seed: 50)
        let fit = try Tucker2(w, inputRank: 6, outputRank: 6)
        let f = fit.factor(geometry: LayerGeometry(conv: CT.oddConv), branches: n)
        #expect(f.branches == n && f.ranks == [6, 6])
        var grouped = CT.oddConv
        grouped.groups = n
        #expect(f.layers[1].op == .conv2d(grouped))
        #expect(f.layers[1].weights[0].shape.dims == [6, 3, 3, 6 / n])
        #expect(f.params == Tucker2.params(w, ranks: 6, 6, branches: n))

        // Block-diagonal core: output rank o (group o / (6/n)) keeps only its group's input ranks.
        let (g1, g2, taps) = (6 / n, 6 / n, 9)
        var block = fit.core
        for o in 0..<6 { for t in 0..<taps { for i in 0..<6 where i / g1 != o / g2 { block[(o * taps + t) * 6 + i] = 0 } } }
        let reconstructed = Self.tuckerReconstruction(fit, core: block)
        #expect(abs(MatrixProducts.relativeError(w.data, reconstructed) - f.relativeError) <= 1e-5)
        // Dropping the off-diagonal blocks can only cost: the unbranched fit is closer.
        let unbranched = fit.factor(geometry: LayerGeometry(conv: CT.oddConv))
        #expect(f.relativeError > unbranched.relativeError)
        // With orthonormal factors the residual is ‖W‖² − ‖block core‖².
        let predicted = ((w.squaredNorm - CT.squaredNorm(block)) / w.squaredNorm).squareRoot()
        #expect(abs(predicted - f.relativeError) <= 1e-4)

        // In a graph: the three factor nodes compute the dense conv with the reconstructed weight.
        let original = CT.oneConvGraph(w, attrs: CT.oddConv)
        var factored = original
        factored.substitute("conv", with: f)
        try factored.validate()
        let dense = CT.oneConvGraph(w.with(reconstructed), attrs: CT.oddConv)
        let x = CT.input(original, batch: 2)
        let yFactored = try CT.reference(factored, x), yDense = try CT.reference(dense, x), yOriginal = try CT.reference(original, x)
        let scale = max(yDense.maxAbs, 1)
        #expect(yFactored.maxAbsDifference(yDense) <= 1e-4 * scale)
        #expect(yFactored.maxAbsDifference(yOriginal) > 1e-3 * scale, "an approximation, not the original")
        try CT.expectRunsTheSame(factored)
        #expect(factored.nodes.map(\.name) == ["conv.tucker_in", "conv.tucker_core", "conv.tucker_out"])
        #expect(factored.nodes.allSatisfy { $0.provenance == "branched tucker2 of conv, ranks 6/6, \(n) branches" })
    }

    // MARK: spatial SVD and rank-L

    @Test func spatialSVDErrorFallsWithRankToZero() throws {
        let w = CT.weight(outputs: 7, kernelH: 3, kernelW: 3, inputs: 5, seed: 60)
        let spatial = try SpatialSVD(w)
        #expect(spatial.fullRank == min(5 * 3, 7 * 3))
        let geometry = LayerGeometry(conv: CT.oddConv)
        var previous = 1.0 + 1e-9
        for r in 1...spatial.fullRank {
            let f = spatial.factor(rank: r, geometry: geometry)
            #expect(f.relativeError < previous, "rank \(r)")
            #expect(abs(f.relativeError - CT.tailError(spatial.singularValues, keeping: r)) <= 1e-5, "rank \(r)")
            #expect(f.params == SpatialSVD.params(w, rank: r))
            previous = f.relativeError
        }
        #expect(previous < 1e-5)
    }

    /// A non-square kernel with stride (2, 1), dilation (2, 1) and asymmetric padding: at full rank
    /// the k×1 then 1×k pair computes the original conv.
    @Test func spatialSVDSplitsStridePaddingAndDilationByAxis() throws {
        let w = CT.weight(outputs: 6, kernelH: 3, kernelW: 5, inputs: 4, seed: 61)
        let attrs = Conv2DAttributes(stride: Size2(2, 1), padding: Padding(top: 2, left: 1, bottom: 1, right: 3), dilation: Size2(2, 1))
        let spatial = try SpatialSVD(w)
        let f = spatial.factor(rank: spatial.fullRank, geometry: LayerGeometry(conv: attrs))
        #expect(f.relativeError < 1e-5)
        #expect(f.layers[0].weights[0].shape.dims == [spatial.fullRank, 3, 1, 4])
        #expect(f.layers[1].weights[0].shape.dims == [6, 1, 5, spatial.fullRank])
        let original = CT.oneConvGraph(w, attrs: attrs)
        var factored = original
        factored.substitute("conv", with: f)
        let x = CT.input(original)
        let y0 = try CT.reference(original, x), y1 = try CT.reference(factored, x)
        #expect(y0.shape == y1.shape)
        #expect(y1.maxAbsDifference(y0) <= 1e-4 * max(y0.maxAbs, 1))
        try CT.expectRunsTheSame(factored)
        // Truncated: same shapes, a real approximation.
        var truncated = original
        truncated.substitute("conv", with: spatial.factor(rank: 2, geometry: LayerGeometry(conv: attrs)))
        try CT.expectRunsTheSame(truncated)
    }

    @Test(arguments: [3, 5])
    func rankLErrorFallsWithLAndIsExactAtK(k: Int) throws {
        let w = CT.weight(outputs: 5, kernelH: k, kernelW: k, inputs: 4, seed: UInt64(62 + k))
        let factors = try RankLFactors(w)
        let energy = factors.energyByRank
        #expect(energy.count == k)
        #expect(abs(energy.reduce(0, +) - w.squaredNorm) <= 1e-5 * w.squaredNorm)
        var previous = 1.0 + 1e-9
        for l in 1...k {
            let f = factors.factor(rank: l, geometry: LayerGeometry(conv: CT.oddConv))
            #expect(f.ranks == [l])
            #expect(f.relativeError < previous, "L = \(l)")
            // Per-pair Eckart–Young: the dropped energy is the tail of every pair's spectrum.
            let tail = (energy.dropFirst(l).reduce(0, +) / energy.reduce(0, +)).squareRoot()
            #expect(abs(f.relativeError - tail) <= 1e-5, "L = \(l)")
            #expect(f.params == RankLFactors.params(w, rank: l))
            previous = f.relativeError
        }
        #expect(previous < 1e-5)
        // The node keeps stride and padding.
        let f = factors.factor(rank: 1, geometry: LayerGeometry(conv: CT.oddConv))
        #expect(f.layers[0].op == .rankConv2d(RankConv2DAttributes(stride: CT.oddConv.stride, padding: CT.oddConv.padding)))
    }
}
