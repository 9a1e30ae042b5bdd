import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// Pooling, linear, batch norm, activations, softmax and layout ops against hand-computed outputs.
@Suite struct ReferenceOpsTests {
    typealias F = RefFixtures
    /// [[1,2,3],[4,5,6],[7,8,9]]
    static let nine = F.tensor([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9])

    @Test func maxPoolIgnoresPadding() throws {
        // x = −[[1,2,3],[4,5,6],[7,8,9]], kernel 2, stride 2, padding 1: windows cover rows {−1, 0}
        // and {1, 2} (columns alike). Were padding read as 0, every output would be 0; ignoring it:
        // max(−1) = −1, max(−2, −3) = −2, max(−4, −7) = −4, max(−5, −6, −8, −9) = −5.
        let x = F.tensor([1, 3, 3, 1], Self.nine.data.map { -$0 })
        let y = try ReferenceOps.maxPool(x, PoolAttributes(kernel: .square(2), stride: .square(2), padding: .same(1)))
        F.expectClose(y, [-1, -2, -4, -5], shape: [1, 2, 2, 1])
    }

    @Test func maxPoolChannelsAndBatchAreIndependent() throws {
        // Two samples × two channels over a 2×2 image, one 2×2 window: the max of each (n, c).
        let x = F.tensor([2, 2, 2, 2], [1, -1, 5, -2, 3, -3, 2, -4,
                                        -7, 0, -8, 9, -6, 1, -9, 2])
        let y = try ReferenceOps.maxPool(x, PoolAttributes(kernel: .square(2), stride: .square(2)))
        F.expectClose(y, [5, -1, -6, 9], shape: [2, 1, 1, 2])
    }

    @Test func avgPoolPaddingCountedBothWays() throws {
        // Same windows as above on [[1..9]]: sums 1, 2+3, 4+7, 5+6+8+9 over 1, 2, 2, 4 real cells.
        let attrs = PoolAttributes(kernel: .square(2), stride: .square(2), padding: .same(1), countIncludePad: false)
        F.expectClose(try ReferenceOps.avgPool(Self.nine, attrs), [1, 2.5, 5.5, 7], shape: [1, 2, 2, 1])
        var including = attrs
        including.countIncludePad = true   // every divisor is the kernel area, 4
        F.expectClose(try ReferenceOps.avgPool(Self.nine, including), [0.25, 1.25, 2.75, 7], shape: [1, 2, 2, 1])
    }

    @Test func avgPoolThreeByThreeSamePadding() throws {
        // Kernel 3, stride 1, padding 1 on [[1..9]]: the window sums are corners 12, 16, 24, 28,
        // edges 21, 27, 33, 39, centre 45. Without padding in the divisor: corners /4, edges /6,
        // centre /9; with it, all /9.
        let sums: [Float] = [12, 21, 16, 27, 45, 33, 24, 39, 28]
        let cells: [Float] = [4, 6, 4, 6, 9, 6, 4, 6, 4]
        let attrs = PoolAttributes(kernel: .square(3), stride: .square(1), padding: .same(1), countIncludePad: false)
        F.expectClose(try ReferenceOps.avgPool(Self.nine, attrs), zip(sums, cells).map { $0 / $1 }, shape: [1, 3, 3, 1])
        #expect(zip(sums, cells).map { $0 / $1 }[0] == 3)
        var including = attrs
        including.countIncludePad = true
        F.expectClose(try ReferenceOps.avgPool(Self.nine, including), sums.map { $0 / 9 }, shape: [1, 3, 3, 1])
    }

    @Test func avgPoolAsymmetricPadding() throws {
        // x = [[1,2],[3,4]], kernel 2, stride 1, padding left 1 and bottom 1: windows rows {0,1},{1,2},
        // columns {−1,0},{0,1}. Sums 1+3 = 4, 10, 3, 3+4 = 7 over 2, 4, 1, 2 real cells.
        let x = F.tensor([1, 2, 2, 1], [1, 2, 3, 4])
        let pad = Padding(top: 0, left: 1, bottom: 1, right: 0)
        let attrs = PoolAttributes(kernel: .square(2), stride: .square(1), padding: pad, countIncludePad: false)
        F.expectClose(try ReferenceOps.avgPool(x, attrs), [2, 2.5, 3, 3.5], shape: [1, 2, 2, 1])
        var including = attrs
        including.countIncludePad = true
        F.expectClose(try ReferenceOps.avgPool(x, including), [1, 2.5, 0.75, 1.75], shape: [1, 2, 2, 1])
    }

    @Test func globalAvgPool() throws {
        // Sample 0: channel 0 = 1,2,3,4 → 2.5; channel 1 = 10,20,30,41 → 25.25.
        // Sample 1: channel 0 = 0,0,0,8 → 2;   channel 1 = −1,−1,−1,−1 → −1.
        let x = F.tensor([2, 2, 2, 2], [1, 10, 2, 20, 3, 30, 4, 41,
                                        0, -1, 0, -1, 0, -1, 8, -1])
        F.expectClose(try ReferenceOps.globalAvgPool(x), [2.5, 25.25, 2, -1], shape: [2, 1, 1, 2])
    }

    @Test func linear() throws {
        // x = [[1,2,3],[−1,0,1]], W = [[1,0,−1],[2,1,0.5]], b = (0.5, −1):
        // row 0: 1 − 3 + 0.5 = −1.5; 2 + 2 + 1.5 − 1 = 4.5. row 1: −1 − 1 + 0.5 = −1.5; −2 + 0.5 − 1 = −2.5.
        let y = try ReferenceOps.linear(F.tensor([2, 3], [1, 2, 3, -1, 0, 1]),
                                        weight: F.tensor([2, 3], [1, 0, -1, 2, 1, 0.5]),
                                        bias: F.tensor([2], [0.5, -1]))
        F.expectClose(y, [-1.5, 4.5, -1.5, -2.5], shape: [2, 2])
    }

    @Test func batchNormOnLastAxis() throws {
        // Two positions × two channels: (1, 4) and (3, 0). mean (1, 2), variance (3.99, 0.24),
        // ε = 0.01 → std (2, 0.5); scale (2, 1), bias (0, 1).
        // c0: (1−1)/2·2 = 0, (3−1)/2·2 = 2.  c1: (4−2)/0.5 + 1 = 5, (0−2)/0.5 + 1 = −3.
        let y = try ReferenceOps.batchNorm(F.tensor([1, 1, 2, 2], [1, 4, 3, 0]),
                                           scale: F.tensor([2], [2, 1]), bias: F.tensor([2], [0, 1]),
                                           mean: F.tensor([2], [1, 2]), variance: F.tensor([2], [3.99, 0.24]),
                                           epsilon: 0.01)
        F.expectClose(y, [0, 5, 2, -3], shape: [1, 1, 2, 2])
    }

    @Test func reluAndRelu6() throws {
        let x = F.tensor([1, 7], [-2, -0.0, 0.5, 3, 6, 7.5, -100])
        F.expectClose(try ReferenceOps.relu(x), [0, 0, 0.5, 3, 6, 7.5, 0], shape: [1, 7])
        F.expectClose(try ReferenceOps.relu6(x), [0, 0, 0.5, 3, 6, 6, 0], shape: [1, 7])
    }

    @Test func softmaxKnownValuesAndStability() throws {
        // Row 0: exp(0, ln 2, ln 3) = (1, 2, 3) → (1/6, 1/3, 1/2). Row 1: huge equal logits must not
        // overflow → (1/3, 1/3, 1/3). Row 2: a −1000 gap underflows to exactly 0 → (0, 0.5, 0.5).
        let ln2 = Float(0.693147180559945), ln3 = Float(1.09861228866811)
        let x = F.tensor([3, 3], [0, ln2, ln3, 1000, 1000, 1000, -1000, 0, 0])
        let y = try ReferenceOps.softmax(x)
        F.expectClose(y, [1 / 6, 1 / 3, 0.5, 1 / 3, 1 / 3, 1 / 3, 0, 0.5, 0.5], shape: [3, 3])
        for row in 0..<3 {
            #expect(abs(y.data[row * 3..<row * 3 + 3].reduce(0, +) - 1) < 1e-6)
        }
    }

    @Test func softmaxOnNHWCUsesChannels() throws {
        // [1, 1, 2, 2]: each position's two channels form a row: (0, 0) → (0.5, 0.5);
        // (ln 3, 0) → (3/4, 1/4).
        let y = try ReferenceOps.softmax(F.tensor([1, 1, 2, 2], [0, 0, Float(1.09861228866811), 0]))
        F.expectClose(y, [0.5, 0.5, 0.75, 0.25], shape: [1, 1, 2, 2])
    }

    @Test func concatOnChannels() throws {
        // Per position, a's two channels then b's one: (1, 2 | 9), (3, 4 | 8).
        let y = try ReferenceOps.concat([F.tensor([1, 1, 2, 2], [1, 2, 3, 4]), F.tensor([1, 1, 2, 1], [9, 8])])
        F.expectClose(y, [1, 2, 9, 3, 4, 8], shape: [1, 1, 2, 3])
    }

    @Test func concatThreeInputsBatchTwo() throws {
        let a = F.tensor([2, 1, 1, 1], [1, 2]), b = F.tensor([2, 1, 1, 2], [10, 11, 20, 21]), c = F.tensor([2, 1, 1, 1], [100, 200])
        F.expectClose(try ReferenceOps.concat([a, b, c]), [1, 10, 11, 100, 2, 20, 21, 200], shape: [2, 1, 1, 4])
    }

    @Test func flattenKeepsNHWCOrder() throws {
        // [2, 2, 2, 3]: element (n, h, w, c) lands at column h·6 + w·3 + c of row n, i.e. the NHWC
        // data unchanged. (n=1, h=1, w=0, c=2) = 12 + 6 + 0 + 2 = 20 → row 1, column 8.
        let y = try ReferenceOps.flatten(F.iota([2, 2, 2, 3]))
        #expect(y.shape == TensorShape([2, 12]))
        #expect(y.data[1 * 12 + 8] == 20)
        #expect(y.data == (0..<24).map(Float.init))
    }

    @Test func addAndDropout() throws {
        F.expectClose(try ReferenceOps.add(F.tensor([1, 3], [1, 2, 3]), F.tensor([1, 3], [0.5, -2, 10])),
                      [1.5, 0, 13], shape: [1, 3])
        let x = F.tensor([1, 2], [3, -4])
        #expect(try ReferenceOps.apply(.dropout(rate: 0.4), activations: [x]) == x)
        #expect(throws: ExecutionError.self) { _ = try ReferenceOps.add(F.iota([1, 3]), F.iota([1, 4])) }
    }
}
