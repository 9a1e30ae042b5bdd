import CRankEdgeKernels
import Testing
@testable import RankEdge

/// The layer norm kernel (re_layer_norm_rows) on every ISA this machine runs: in graphs against the
/// reference executor, and alone against a double-precision evaluation on rows far from zero mean
/// (where a one-pass variance would lose the digits), with channel counts that take the 32-wide
/// loop, the 8-wide loop and the scalar tail, and in place.
@Suite struct LayerNormKernelTests {
    @Test(arguments: [1, 7, 8, 33, 96, 100])
    func graphMatchesTheReferenceOnEveryISA(_ c: Int) throws {
        var b = GraphBuilder(name: "layer-norm-\(c)", shape: [1, 3, 5, c], seed: 4)
        let y = b.layerNorm("input", epsilon: 1e-5, name: "ln")
        let g = b.build(outputs: [y])
        for isa in GEMMISA.available() {
            let model = try GraphCompiler.lowerOnly(g, isa: isa, rankConvForm: .separable)
            #expect(model.ops.map(\.kernel) == ["layer-norm"])
            try FastOpsTests.check(g, batch: 2, isa: isa)
        }
    }

    @Test(arguments: [5, 40, 768])
    func rowsFarFromZeroMeanMatchDoubles(_ c: Int) {
        let rows = 3
        var rng = SeededRandom(seed: UInt64(c))
        let x = (0..<(rows * c)).map { _ in 1000 + rng.uniform(-1, 1) }
        let scale = (0..<c).map { _ in rng.uniform(0.5, 1.5) }, bias = (0..<c).map { _ in rng.uniform(-1, 1) }
        var expected = [Double](repeating: 0, count: rows * c)
        for r in 0..<rows {
            let row = x[(r * c)..<((r + 1) * c)].map(Double.init)
            let mean = row.reduce(0, +) / Double(c)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(c)
            for k in 0..<c { expected[r * c + k] = (row[k] - mean) / (variance + 1e-5).squareRoot() * Double(scale[k]) + Double(bias[k]) }
        }
        for isa in GEMMISA.available() {
            var y = [Float](repeating: .nan, count: rows * c)
            re_layer_norm_rows(Int32(isa.cValue.rawValue), x, &y, c, scale, bias, 1e-5, 0, rows)
            // Values of about 1000 carry 6e-5 of rounding each, about 1e-4 of a unit deviation.
            let error = zip(y, expected).map { abs(Double($0) - $1) }.max()!
            #expect(error < 2e-3, "\(isa), c = \(c): max error \(error)")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { p in
                re_layer_norm_rows(Int32(isa.cValue.rawValue), p.baseAddress!, p.baseAddress!, c, scale, bias, 1e-5, 0, rows)
            }
            #expect(inPlace == y, "\(isa), c = \(c): in place differs")
        }
    }
}
