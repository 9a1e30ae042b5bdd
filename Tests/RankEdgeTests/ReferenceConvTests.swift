import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// Dense conv2d against hand-computed outputs. The asymmetric kernel [[1, 10], [100, 1000]] makes
/// each output's digits show which input cell each tap read, so a flipped or shifted kernel shows.
@Suite struct ReferenceConvTests {
    typealias F = RefFixtures
    static let digitKernel = F.tensor([1, 2, 2, 1], [1, 10, 100, 1000])

    @Test func strideTwoOnesKernel() throws {
        // x[i][j] = 5i + j on a 5×5 grid; a 3×3 ones kernel sums a window, which for this linear
        // ramp is 9 × its centre. Stride 2 puts centres at (1,1), (1,3), (3,1), (3,3) → 6, 8, 16, 18.
        let x = F.iota([1, 5, 5, 1])
        let w = F.tensor([1, 3, 3, 1], [Float](repeating: 1, count: 9))
        let y = try ReferenceOps.conv2d(x, weight: w, Conv2DAttributes(stride: .square(2)))
        F.expectClose(y, [54, 72, 144, 162], shape: [1, 2, 2, 1])
    }

    @Test func asymmetricPadding() throws {
        // x = [[1,2,3],[4,5,6],[7,8,9]], padding top 1, right 1 (left/bottom 0):
        // out[oy][ox] = 1·x[oy−1][ox] + 10·x[oy−1][ox+1] + 100·x[oy][ox] + 1000·x[oy][ox+1].
        // Row 0 reads the padded row −1 (zeros) and row 0: 100·1 + 1000·2 = 2100, 100·2 + 1000·3 = 3200,
        // 100·3 + 1000·(pad) = 300. Row 1: 1 + 20 + 400 + 5000 = 5421, 2 + 30 + 500 + 6000 = 6532,
        // 3 + 600 = 603. Row 2: 4 + 50 + 700 + 8000 = 8754, 5 + 60 + 800 + 9000 = 9865, 6 + 900 = 906.
        let x = F.tensor([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let attrs = Conv2DAttributes(padding: Padding(top: 1, left: 0, bottom: 0, right: 1))
        let y = try ReferenceOps.conv2d(x, weight: Self.digitKernel, attrs)
        F.expectClose(y, [2100, 3200, 300, 5421, 6532, 603, 8754, 9865, 906], shape: [1, 3, 3, 1])
    }

    @Test func dilationTwo() throws {
        // x[i][j] = 5i + j; dilation 2 spreads the 2×2 taps over a 3×3 span:
        // out = x[oy][ox] + 10·x[oy][ox+2] + 100·x[oy+2][ox] + 1000·x[oy+2][ox+2]
        //     = v + 10(v + 2) + 100(v + 10) + 1000(v + 12) = 1111·v + 13020, with v = 5·oy + ox.
        let x = F.iota([1, 5, 5, 1])
        let y = try ReferenceOps.conv2d(x, weight: Self.digitKernel, Conv2DAttributes(dilation: .square(2)))
        let expected: [Float] = [0, 1, 2, 5, 6, 7, 10, 11, 12].map { 1111 * $0 + 13020 }
        #expect(expected == [13020, 14131, 15242, 18575, 19686, 20797, 24130, 25241, 26352])
        F.expectClose(y, expected, shape: [1, 3, 3, 1])
    }

    @Test func dilationWithPaddingAndStride() throws {
        // 3×3 input 1..9, the 2×2 digit kernel dilated by 2, padding 1, stride 2 → 2×2 output.
        // Output (oy, ox) reads rows oy·2 − 1 and oy·2 + 1, columns ox·2 − 1 and ox·2 + 1.
        // (0,0): rows −1, 1; cols −1, 1 → only x[1][1] = 5 under the 1000 tap → 5000.
        // (0,1): rows −1, 1; cols 1, 3 → x[1][1] = 5 under the 100 tap → 500.
        // (1,0): rows 1, 3; cols −1, 1 → x[1][1] under the 10 tap → 50.  (1,1): x[1][1] under 1 → 5.
        let x = F.tensor([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let attrs = Conv2DAttributes(stride: .square(2), padding: .same(1), dilation: .square(2))
        let y = try ReferenceOps.conv2d(x, weight: Self.digitKernel, attrs)
        F.expectClose(y, [5000, 500, 50, 5], shape: [1, 2, 2, 1])
    }

    @Test func ohwiWeightLayout() throws {
        // A one-hot input at (y=1, x=0, c=1) makes each output read exactly w[o, 1, 0, 1], whose
        // OHWI flat index is ((o·2 + 1)·2 + 0)·2 + 1 = 8o + 5; with weights 0…15 that is 5 and 13.
        var x = Tensor(zeros: TensorShape([1, 2, 2, 2]))
        x.data[(1 * 2 + 0) * 2 + 1] = 1
        let y = try ReferenceOps.conv2d(x, weight: F.iota([2, 2, 2, 2]))
        F.expectClose(y, [5, 13], shape: [1, 1, 1, 2])
    }

    @Test func groupsWithBias() throws {
        // 4 channels [1, 2, 3, 4], groups 2: outputs 0–1 read channels 0–1, outputs 2–3 read 2–3.
        // w = (1, 10), (100, 1000), (1, 10), (−1, 1); bias (0.5, −0.5, 1, 2):
        // 1 + 20 + 0.5 = 21.5; 100 + 2000 − 0.5 = 2099.5; 3 + 40 + 1 = 44; −3 + 4 + 2 = 3.
        let x = F.tensor([1, 1, 1, 4], [1, 2, 3, 4])
        let w = F.tensor([4, 1, 1, 2], [1, 10, 100, 1000, 1, 10, -1, 1])
        let bias = F.tensor([4], [0.5, -0.5, 1, 2])
        let y = try ReferenceOps.conv2d(x, weight: w, bias: bias, Conv2DAttributes(groups: 2))
        F.expectClose(y, [21.5, 2099.5, 44, 3], shape: [1, 1, 1, 4])
    }

    @Test func depthwiseWithPaddingAndBias() throws {
        // Channel 0 = [[1,2,3],[4,5,6],[7,8,9]] with a kernel whose only tap is the top-left one, so
        // with padding 1 it shifts the image down-right: [[0,0,0],[0,1,2],[0,4,5]], then +1 bias.
        // Channel 1 = all ones with a ones kernel: each output counts its in-bounds neighbours,
        // [[4,6,4],[6,9,6],[4,6,4]], then −1 bias.
        var xd = [Float](repeating: 1, count: 18)
        for i in 0..<9 { xd[i * 2] = Float(i + 1) }
        let x = F.tensor([1, 3, 3, 2], xd)
        var wd = [Float](repeating: 0, count: 18)
        wd[0] = 1                                   // w[0, 0, 0, 0]
        for i in 9..<18 { wd[i] = 1 }               // w[1, :, :, 0]
        let w = F.tensor([2, 3, 3, 1], wd)
        let y = try ReferenceOps.conv2d(x, weight: w, bias: F.tensor([2], [1, -1]),
                                        Conv2DAttributes(padding: .same(1), groups: 2))
        #expect(y.shape == TensorShape([1, 3, 3, 2]))
        #expect(F.channel(y, 0) == [[1, 1, 1], [1, 2, 3], [1, 5, 6]])
        #expect(F.channel(y, 1) == [[3, 5, 3], [5, 8, 5], [3, 5, 3]])
    }

    @Test func depthwiseMultiplierTwo() throws {
        // C = 2, S = 4, groups 2 (two outputs per channel): outputs 0, 1 see
        // channel 0 only and outputs 2, 3 channel 1 only. 1×1 kernels (2, 3, 5, 7) on x = (10, 100).
        let y = try ReferenceOps.conv2d(F.tensor([1, 1, 1, 2], [10, 100]), weight: F.tensor([4, 1, 1, 1], [2, 3, 5, 7]),
                                        Conv2DAttributes(groups: 2))
        F.expectClose(y, [20, 30, 500, 700], shape: [1, 1, 1, 4])
    }

    @Test func badWeightShapeThrowsInsteadOfTrapping() {
        let x = F.iota([1, 4, 4, 3])
        #expect(throws: ExecutionError.self) {
            _ = try ReferenceOps.conv2d(x, weight: F.iota([2, 3, 3, 2]))
        }
        do { _ = try ReferenceOps.conv2d(x, weight: F.iota([2, 3, 3, 2])) } catch {
            #expect("\(error)".contains("conv2d"))
        }
    }
}
