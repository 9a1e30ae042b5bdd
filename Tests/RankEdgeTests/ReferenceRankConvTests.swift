import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// rankConv2d (METHODS.md §1, the corrected sum form) and the reconstruction of its dense kernel.
@Suite struct ReferenceRankConvTests {
    typealias F = RefFixtures

    @Test func reconstructByHand() {
        // S = C = 1, L = 2, k = 2; a_0 = (1, 2), a_1 = (3, 4), b_0 = (5, 6), b_1 = (7, 8):
        // W[i][j] = a_0[i]·b_0[j] + a_1[i]·b_1[j] → W[0][0] = 5 + 21 = 26, W[0][1] = 6 + 24 = 30,
        // W[1][0] = 10 + 28 = 38, W[1][1] = 12 + 32 = 44.
        let w = reconstructRankKernel(a: F.tensor([1, 1, 2, 2], [1, 2, 3, 4]), b: F.tensor([1, 1, 2, 2], [5, 6, 7, 8]))
        F.expectClose(w, [26, 30, 38, 44], shape: [1, 2, 2, 1])
    }

    @Test func reconstructLayoutIsOHWI() {
        // One-hot factors a[1, 2, 0, 1] = 1 (row 1) and b[1, 2, 0, 0] = 1 (column 0) give a single 1
        // at W[o=1, i=1, j=0, c=2], OHWI flat index ((1·2 + 1)·2 + 0)·3 + 2 = 20 of 2·2·2·3 = 24.
        var a = Tensor(zeros: TensorShape([2, 3, 1, 2])), b = Tensor(zeros: TensorShape([2, 3, 1, 2]))
        a.data[((1 * 3 + 2) * 1 + 0) * 2 + 1] = 1
        b.data[((1 * 3 + 2) * 1 + 0) * 2 + 0] = 1
        var expected = [Float](repeating: 0, count: 24)
        expected[20] = 1
        F.expectClose(reconstructRankKernel(a: a, b: b), expected, shape: [2, 2, 2, 3])
    }

    @Test func aIsTheVerticalFactor() throws {
        // L = 1, k = 2, a = (1, 10) down the rows, b = (1, 100) across the columns:
        // W = [[1·1, 1·100], [10·1, 10·100]] = [[1, 100], [10, 1000]]. On x = [[1, 2], [3, 4]] without
        // padding: 1·1 + 100·2 + 10·3 + 1000·4 = 4231 (a horizontal a would give 4321).
        let y = try ReferenceOps.rankConv2d(F.tensor([1, 2, 2, 1], [1, 2, 3, 4]),
                                            a: F.tensor([1, 1, 1, 2], [1, 10]), b: F.tensor([1, 1, 1, 2], [1, 100]))
        F.expectClose(y, [4231], shape: [1, 1, 1, 1])
    }

    struct Case: Sendable, CustomStringConvertible {
        var k, rank, stride, c, s, h, w: Int
        var padding: Padding
        var bias: Bool
        var description: String { "k\(k) L\(rank) stride\(stride) C\(c) S\(s) \(h)x\(w) pad \(padding)" }
    }

    static let cases: [Case] = [
        Case(k: 1, rank: 1, stride: 1, c: 3, s: 2, h: 4, w: 5, padding: .zero, bias: false),
        Case(k: 3, rank: 1, stride: 1, c: 2, s: 3, h: 5, w: 5, padding: .same(1), bias: true),
        Case(k: 3, rank: 3, stride: 2, c: 5, s: 4, h: 7, w: 6, padding: .same(1), bias: true),
        Case(k: 5, rank: 2, stride: 1, c: 3, s: 7, h: 7, w: 7, padding: .same(2), bias: false),
        Case(k: 7, rank: 7, stride: 3, c: 2, s: 2, h: 11, w: 9, padding: .same(3), bias: true),
        Case(k: 2, rank: 2, stride: 1, c: 3, s: 5, h: 5, w: 4, padding: Padding(top: 1, left: 0, bottom: 0, right: 1), bias: true),
        Case(k: 5, rank: 3, stride: 2, c: 1, s: 1, h: 6, w: 8, padding: Padding(top: 2, left: 1, bottom: 0, right: 3), bias: false),
    ]

    @Test(arguments: cases)
    func rankConvEqualsConvWithReconstructedKernel(_ t: Case) throws {
        var rng = SeededRandom(seed: UInt64(t.k * 1000 + t.rank * 100 + t.c * 10 + t.s))
        let x = F.random([2, t.h, t.w, t.c], &rng)
        let a = F.random([t.s, t.c, t.rank, t.k], &rng)
        let b = F.random([t.s, t.c, t.rank, t.k], &rng)
        let bias = t.bias ? F.random([t.s], &rng) : nil
        let direct = try ReferenceOps.rankConv2d(x, a: a, b: b, bias: bias,
                                                 RankConv2DAttributes(stride: .square(t.stride), padding: t.padding))
        let dense = try ReferenceOps.conv2d(x, weight: reconstructRankKernel(a: a, b: b), bias: bias,
                                            Conv2DAttributes(stride: .square(t.stride), padding: t.padding))
        #expect(direct.shape == dense.shape)
        // Both sum in Double; they differ only by the float rounding of the reconstructed kernel.
        #expect(direct.maxAbsDifference(dense) <= 1e-5 * max(1, dense.maxAbs))
        #expect(dense.maxAbs > 0.1)
    }

    @Test func rankTwoIsASumNotAProduct() throws {
        // a_0 = b_0 = e_0 and a_1 = b_1 = e_1 (unit vectors of length 3): the sum form gives
        // W = e_0⊗e_0 + e_1⊗e_1 = diag(1, 1, 0), of matrix rank 2. The paper's product form would
        // convolve the factors into the single separable kernel (a_0 ∗ a_1) ⊗ (b_0 ∗ b_1), of rank 1.
        let a = F.tensor([1, 1, 2, 3], [1, 0, 0, 0, 1, 0])
        let b = a
        // An impulse at the centre of a 3×3 image with padding 1 returns the kernel flipped:
        // out[oy][ox] = W[2 − oy][2 − ox], i.e. diag(0, 1, 1).
        var x = Tensor(zeros: TensorShape([1, 3, 3, 1]))
        x.data[4] = 1
        let y = try ReferenceOps.rankConv2d(x, a: a, b: b, RankConv2DAttributes(padding: .same(1)))
        F.expectClose(y, [0, 0, 0, 0, 1, 0, 0, 0, 1], shape: [1, 3, 3, 1])
        // Two nonzeros on the diagonal: the 2×2 minor over rows/columns 1, 2 is 1, which no
        // rank-1 kernel u⊗v (every 2×2 minor u_i v_j u_k v_l − u_i v_l u_k v_j = 0) can produce.
        let m = F.channel(y, 0)
        #expect(m[1][1] * m[2][2] - m[1][2] * m[2][1] == 1)
    }

    @Test func randomRankTwoKernelHasMatrixRankTwo() {
        var rng = SeededRandom(seed: 42)
        let a = F.random([1, 1, 2, 3], &rng), b = F.random([1, 1, 2, 3], &rng)
        let w = reconstructRankKernel(a: a, b: b).data.map(Double.init)   // 3×3, row-major (C = 1)
        func at(_ i: Int, _ j: Int) -> Double { w[i * 3 + j] }
        let det = at(0, 0) * (at(1, 1) * at(2, 2) - at(1, 2) * at(2, 1))
            - at(0, 1) * (at(1, 0) * at(2, 2) - at(1, 2) * at(2, 0))
            + at(0, 2) * (at(1, 0) * at(2, 1) - at(1, 1) * at(2, 0))
        var largestMinor = 0.0
        for (i, k) in [(0, 1), (0, 2), (1, 2)] {
            for (j, l) in [(0, 1), (0, 2), (1, 2)] {
                largestMinor = max(largestMinor, abs(at(i, j) * at(k, l) - at(i, l) * at(k, j)))
            }
        }
        let scale = w.map(abs).max()!
        #expect(abs(det) <= 1e-5 * scale * scale * scale)   // rank ≤ 2: a sum of two outer products
        #expect(largestMinor >= 1e-2 * scale * scale)       // rank ≥ 2: not a single (product) outer product
    }

    @Test func rankConvRejectsMismatchedFactors() {
        #expect(throws: ExecutionError.self) {
            _ = try ReferenceOps.rankConv2d(F.iota([1, 4, 4, 2]), a: F.iota([3, 2, 1, 3]), b: F.iota([3, 2, 2, 3]))
        }
    }
}
