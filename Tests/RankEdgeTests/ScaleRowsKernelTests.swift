import CRankEdgeKernels
import Testing
@testable import RankEdge

/// re_scale_rows (the SE multiply) of every ISA against the product written out, at channel counts
/// around the 8- and 16-lane steps and with one gate row per sample's rows: exact, since each output
/// is one multiply. (ChannelOpsTests runs the multiply step against the reference executor.)
@Suite struct ScaleRowsKernelTests {
    @Test(arguments: [(1, 1, 1), (5, 7, 5), (9, 8, 3), (6, 16, 6), (7, 17, 2), (4, 33, 4), (3, 144, 1), (2, 1001, 2)])
    func matchesTheProductOnEveryISA(_ shape: (rows: Int, c: Int, rowsPerGate: Int)) {
        let (rows, c, per) = shape
        var rng = SeededRandom(seed: UInt64(rows * 1000 + c))
        let x = rng.uniformArray(count: rows * c, bound: 2)
        let gate = rng.uniformArray(count: ((rows + per - 1) / per) * c, bound: 1)
        // Rows 1 ..< rows - 1 where there are three or more: the others must stay untouched.
        let (r0, r1) = rows > 2 ? (1, rows - 1) : (0, rows)
        var expected = [Float](repeating: -7, count: rows * c)
        for r in r0..<r1 { for k in 0..<c { expected[r * c + k] = x[r * c + k] * gate[(r / per) * c + k] } }
        for isa in GEMMISA.available() {
            var y = [Float](repeating: -7, count: rows * c)
            re_scale_rows(Int32(isa.cValue.rawValue), x, gate, &y, c, per, r0, r1)
            #expect(y == expected, "\(isa) \(shape)")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { p in re_scale_rows(Int32(isa.cValue.rawValue), p.baseAddress, gate, p.baseAddress, c, per, r0, r1) }
            #expect(Array(inPlace[(r0 * c)..<(r1 * c)]) == Array(expected[(r0 * c)..<(r1 * c)]), "\(isa) \(shape) in place")
        }
    }
}
