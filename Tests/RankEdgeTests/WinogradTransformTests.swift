import CRankEdgeKernels
import Testing
@testable import RankEdge

/// The Toom–Cook construction of the Winograd matrices: each algorithm computes the 1-D correlation
/// exactly (in double), F(2, 3) has the paper's matrices, and the C transforms' tables are the ones
/// built here.
@Suite struct WinogradTransformTests {
    @Test(arguments: [WinogradTransform.f23, .f25, .f43])
    func computesTheCorrelation(_ t: WinogradTransform) {
        var rng = SeededRandom(seed: 11)
        for _ in 0..<20 {
            let d = (0..<t.alpha).map { _ in Double(rng.uniform(-1, 1)) }
            let g = (0..<t.r).map { _ in Double(rng.uniform(-1, 1)) }
            // y = Aᵀ[(G g) ⊙ (Bᵀ d)]
            let u = (0..<t.alpha).map { j in (0..<t.r).reduce(0.0) { $0 + t.g[j * t.r + $1] * g[$1] } }
            let v = (0..<t.alpha).map { j in (0..<t.alpha).reduce(0.0) { $0 + Double(t.bt[j * t.alpha + $1]) * d[$1] } }
            for i in 0..<t.m {
                let y = (0..<t.alpha).reduce(0.0) { $0 + Double(t.at[i * t.alpha + $1]) * u[$1] * v[$1] }
                let direct = (0..<t.r).reduce(0.0) { $0 + d[i + $1] * g[$1] }
                #expect(abs(y - direct) <= 1e-12, "F(\(t.m), \(t.r)) output \(i): \(y) against \(direct)")
            }
        }
    }

    @Test func f23IsThePapersAlgorithm() {
        let t = WinogradTransform.f23
        // Lavin & Gray's Bᵀ, G and Aᵀ, which the hand-written C transforms use.
        let bt: [Float] = [1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1]
        let g: [Double] = [1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1]
        let at: [Float] = [1, 1, 1, 0, 0, 1, -1, -1]
        #expect(t.bt == bt && t.g == g && t.at == at)
    }

    @Test func tablesMatchTheKernels() {
        func floats<T>(_ table: T) -> [Float] { withUnsafeBytes(of: table) { Array($0.bindMemory(to: Float.self)) } }
        #expect(WinogradTransform.f23.bt == floats(re_winograd_f23_bt))
        #expect(WinogradTransform.f23.at == floats(re_winograd_f23_at))
        #expect(WinogradTransform.f25.bt == floats(re_winograd_f25_bt))
        #expect(WinogradTransform.f25.at == floats(re_winograd_f25_at))
        #expect(WinogradTransform.f43.bt == floats(re_winograd_f25_bt))
        #expect(WinogradTransform.f43.at == floats(re_winograd_f43_at))
        // A = (Aᵀ)ᵀ, the output-gradient transform's table.
        for (t, a) in [(WinogradTransform.f23, floats(re_winograd_f23_a)), (.f25, floats(re_winograd_f25_a)), (.f43, floats(re_winograd_f43_a))] {
            let transposed = (0..<t.alpha).flatMap { j in (0..<t.m).map { i in t.at[i * t.alpha + j] } }
            #expect(a == transposed, "F(\(t.m), \(t.r))")
        }
        #expect(WinogradTransform.forKernel(5) == .f25 && WinogradTransform.forKernel(3) == .f23)
        #expect(WinogradTransform.forKernel(7) == nil)
    }

    /// The C output-gradient transform U = A dY Aᵀ (the weight gradient's) against the matrices in
    /// double, on every ISA this CPU runs; channel counts below 8, a multiple of 8 and with a tail.
    @Test(arguments: [WinogradTransform.f23, .f25, .f43])
    func outputGradientTransformMatchesTheMatrices(_ t: WinogradTransform) {
        var rng = SeededRandom(seed: 17)
        for s in [3, 16, 21] {
            let dy = rng.uniformArray(count: t.m * t.m * s, bound: 1)
            for isa in GEMMISA.allCases where isa.isAvailable {
                var u = [Float](repeating: .nan, count: t.positions * s)
                dy.withUnsafeBufferPointer { dp in
                    let pixels: [UnsafePointer<Float>?] = (0..<(t.m * t.m)).map { dp.baseAddress! + $0 * s }
                    pixels.withUnsafeBufferPointer { p in
                        u.withUnsafeMutableBufferPointer { up in
                            t.transformOutputGradientTile(p.baseAddress!, channels: s, into: up.baseAddress!, positionStride: s, isa: isa)
                        }
                    }
                }
                var worst = 0.0
                for i in 0..<t.alpha { for j in 0..<t.alpha { for o in 0..<s {
                    var exact = 0.0
                    for a in 0..<t.m { for b in 0..<t.m {
                        exact += Double(t.at[a * t.alpha + i]) * Double(dy[(a * t.m + b) * s + o]) * Double(t.at[b * t.alpha + j])
                    } }
                    worst = max(worst, abs(exact - Double(u[(i * t.alpha + j) * s + o])))
                } } }
                #expect(worst <= 1e-4, "F(\(t.m), \(t.r)) \(isa) s=\(s): max error \(worst)")
            }
        }
    }
}
