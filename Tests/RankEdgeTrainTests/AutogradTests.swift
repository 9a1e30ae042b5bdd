import Testing
import RankEdge
@testable import RankEdgeTrain

@Suite struct ConvolutionTests {
    static let cases: [(String, [Int], [Int], Conv2DAttributes)] = [
        ("3x3 same", [2, 5, 6, 3], [4, 3, 3, 3], Conv2DAttributes(padding: .same(1))),
        ("5x5 stride 2", [3, 7, 7, 2], [5, 5, 5, 2], Conv2DAttributes(stride: .square(2), padding: .same(2))),
        ("1x1 pointwise", [2, 3, 5, 7], [3, 1, 1, 7], Conv2DAttributes()),
        ("1x1 stride 2", [1, 5, 5, 4], [6, 1, 1, 4], Conv2DAttributes(stride: .square(2))),
        ("groups 2", [2, 5, 5, 4], [6, 3, 3, 2], Conv2DAttributes(padding: .same(1), groups: 2)),
        ("depthwise", [1, 6, 5, 3], [3, 3, 3, 1], Conv2DAttributes(padding: .same(1), groups: 3)),
        ("dilation 2", [2, 7, 6, 3], [2, 3, 3, 3], Conv2DAttributes(padding: .same(2), dilation: .square(2))),
        ("asymmetric pad", [1, 5, 4, 2], [3, 2, 3, 2], Conv2DAttributes(stride: Size2(2, 1), padding: Padding(top: 1, left: 0, bottom: 0, right: 2))),
        ("batch 5 parts", [5, 4, 4, 3], [2, 3, 3, 3], Conv2DAttributes(padding: .same(1))),
        // k = 576 gives 455-row im2col chunks: chunks end in the middle of an image.
        ("chunked rows", [1, 24, 23, 64], [4, 3, 3, 64], Conv2DAttributes(padding: .same(1))),
        ("chunked rows stride 2", [2, 31, 30, 64], [3, 3, 3, 64], Conv2DAttributes(stride: .square(2), padding: .same(1))),
        // 32 channels each side: the Winograd weight gradient, with tiles overhanging the odd output.
        ("winograd weight gradient", [2, 7, 5, 32], [33, 3, 3, 32], Conv2DAttributes(padding: .same(1))),
    ]

    @Test(arguments: 0..<cases.count)
    func forwardMatchesDirectLoops(_ index: Int) {
        let (_, xs, ws, attrs) = Self.cases[index]
        let x = randomVariable(xs, seed: 1), w = randomVariable(ws, seed: 2), b = randomVariable([ws[0]], seed: 3)
        let y = conv2d(x, weight: w, bias: b, attributes: attrs)
        let ref = referenceConv2d(x: x.data, xShape: xs, w: w.data, wShape: ws, bias: b.data, attrs)
        #expect(y.shape == ref.shape)
        let err = zip(y.data, ref.out).map { abs($0 - $1) }.max() ?? 0
        let scale = max(ref.out.map(abs).max() ?? 0, 1)
        #expect(err < 1e-4 * scale, "\(Self.cases[index].0): max error \(err)")
    }

    @Test(arguments: 0..<cases.count)
    func gradientsMatchFiniteDifferences(_ index: Int) {
        let (name, xs, ws, attrs) = Self.cases[index]
        let x = randomVariable(xs, seed: 11), w = randomVariable(ws, seed: 12), b = randomVariable([ws[0]], seed: 13)
        let errs = gradientCheck([x, w, b]) { v in conv2d(v[0], weight: v[1], bias: v[2], attributes: attrs) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(name): \(errs)")
    }

    /// The im2col-free weight gradient against direct sums over every pixel and tap: one band and
    /// several bands per image, 3×3 and 5×5, asymmetric padding, an image range and an empty one.
    @Test(arguments: [
        ([3, 11, 11, 5], [7, 3, 3, 5], Conv2DAttributes(padding: .same(1)), 0..<3),
        ([2, 40, 21, 96], [3, 5, 5, 96], Conv2DAttributes(padding: .same(2)), 1..<2),
        ([1, 11, 13, 3], [4, 3, 3, 3], Conv2DAttributes(padding: Padding(top: 0, left: 2, bottom: 2, right: 0)), 0..<1),
        ([2, 8, 10, 2], [3, 3, 3, 2], Conv2DAttributes(padding: .same(1)), 1..<1),
    ])
    func shiftedWeightGradientMatchesDirectSums(_ xs: [Int], _ ws: [Int], _ attrs: Conv2DAttributes, _ images: Range<Int>) throws {
        let geo = ConvGeometry(input: xs, weight: ws, attributes: attrs)
        let shifted = try #require(ShiftedWeightGradient(geo))
        try expectWeightGradient(geo, images: images, scratchCount: shifted.scratchCount) { x, dy, dW, scratch throws(GEMMError) in
            try shifted.compute(x: x, dy: dy, images: images, into: dW, scratch: scratch)
        }
    }

    /// The Winograd weight gradient (F(4×4, 3×3) and F(2×2, 5×5)) against the same direct sums: odd
    /// output sizes (tiles overhang the image), S ≠ C, channel tails, no padding and asymmetric
    /// padding, several chunks of tiles, an image range and an empty one.
    @Test(arguments: [
        ([2, 9, 7, 32], [33, 3, 3, 32], Conv2DAttributes(padding: .same(1)), 0..<2),
        ([3, 20, 20, 40], [32, 3, 3, 40], Conv2DAttributes(padding: .same(1)), 0..<3),
        ([2, 11, 10, 32], [35, 5, 5, 32], Conv2DAttributes(padding: .same(2)), 1..<2),
        ([1, 10, 9, 32], [32, 3, 3, 32], Conv2DAttributes(padding: Padding(top: 0, left: 2, bottom: 2, right: 0)), 0..<1),
        ([1, 8, 9, 37], [41, 3, 3, 37], Conv2DAttributes(), 0..<1),
        ([2, 6, 6, 32], [32, 3, 3, 32], Conv2DAttributes(padding: .same(1)), 1..<1),
        ([4, 30, 30, 16], [16, 3, 3, 16], Conv2DAttributes(padding: .same(1)), 0..<4),
    ])
    func winogradWeightGradientMatchesDirectSums(_ xs: [Int], _ ws: [Int], _ attrs: Conv2DAttributes, _ images: Range<Int>) throws {
        let geo = ConvGeometry(input: xs, weight: ws, attributes: attrs)
        let winograd = try #require(WinogradWeightGradient(geo))
        try expectWeightGradient(geo, images: images, scratchCount: winograd.scratchCount) { x, dy, dW, scratch in
            winograd.compute(x: x, dy: dy, images: images, into: dW, scratch: scratch)
        }
    }

    /// Runs `compute` on random x and dy and checks dW[o, ky, kx, c] = Σ dy[pixel, o] · x[pixel
    /// shifted by (ky, kx), c] over `images`, within 1e-4 of the largest |dW| (or 1e-4).
    private func expectWeightGradient(
        _ geo: ConvGeometry, images: Range<Int>, scratchCount: Int,
        _ compute: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>) throws(GEMMError) -> Void
    ) throws {
        let x = randomVariable([geo.n, geo.h, geo.w, geo.c], seed: 21).data
        let dy = randomVariable([geo.n, geo.oh, geo.ow, geo.s], seed: 22).data
        var expected = [Float](repeating: 0, count: geo.s * geo.kh * geo.kw * geo.c)
        for n in images { for oy in 0..<geo.oh { for ox in 0..<geo.ow { for o in 0..<geo.s {
            let g = dy[((n * geo.oh + oy) * geo.ow + ox) * geo.s + o]
            for ky in 0..<geo.kh { for kx in 0..<geo.kw {
                let iy = oy - geo.pt + ky, ix = ox - geo.pl + kx
                guard iy >= 0, iy < geo.h, ix >= 0, ix < geo.w else { continue }
                for c in 0..<geo.c {
                    expected[((o * geo.kh + ky) * geo.kw + kx) * geo.c + c] += g * x[((n * geo.h + iy) * geo.w + ix) * geo.c + c]
                }
            } }
        } } } }
        var dW = [Float](repeating: .nan, count: expected.count)
        var scratch = [Float](repeating: .nan, count: scratchCount)
        try x.withUnsafeBufferPointer { xp in try dy.withUnsafeBufferPointer { dp in
            try dW.withUnsafeMutableBufferPointer { wp in try scratch.withUnsafeMutableBufferPointer { sp in
                try compute(xp.baseAddress!, dp.baseAddress!, wp.baseAddress!, sp.baseAddress!)
            } }
        } }
        let scale = max(expected.map(abs).max() ?? 0, 1)
        let err = zip(dW, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(err <= 1e-4 * scale, "\(geo.describe()): max error \(err)")
    }

    @Test func shiftedWeightGradientOnlyWhereItApplies() {
        func applies(_ xs: [Int], _ ws: [Int], _ a: Conv2DAttributes) -> Bool {
            ShiftedWeightGradient(ConvGeometry(input: xs, weight: ws, attributes: a)) != nil
        }
        #expect(applies([1, 32, 32, 16], [16, 3, 3, 16], Conv2DAttributes(padding: .same(1))))
        #expect(!applies([1, 32, 32, 16], [16, 3, 3, 16], Conv2DAttributes(stride: .square(2), padding: .same(1))))
        #expect(!applies([1, 32, 32, 16], [16, 1, 1, 16], Conv2DAttributes()))
        #expect(!applies([1, 32, 32, 16], [16, 3, 3, 8], Conv2DAttributes(padding: .same(1), groups: 2)))
        #expect(!applies([1, 4, 4, 16], [16, 3, 3, 16], Conv2DAttributes(padding: .same(1))))   // padding 50 % of the width
    }

    @Test func winogradWeightGradientOnlyWhereItApplies() {
        func applies(_ xs: [Int], _ ws: [Int], _ a: Conv2DAttributes) -> Bool {
            WinogradWeightGradient(ConvGeometry(input: xs, weight: ws, attributes: a)) != nil
        }
        #expect(applies([1, 8, 8, 32], [32, 3, 3, 32], Conv2DAttributes(padding: .same(1))))
        #expect(applies([1, 8, 8, 64], [64, 5, 5, 64], Conv2DAttributes(padding: .same(2))))
        #expect(applies([1, 8, 8, 16], [16, 3, 3, 16], Conv2DAttributes(padding: .same(1))))
        #expect(!applies([1, 8, 8, 8], [32, 3, 3, 8], Conv2DAttributes(padding: .same(1))))  // too narrow a side
        #expect(!applies([1, 8, 8, 32], [3, 3, 3, 32], Conv2DAttributes(padding: .same(1))))
        #expect(!applies([1, 8, 8, 32], [32, 3, 3, 32], Conv2DAttributes(stride: .square(2), padding: .same(1))))
        #expect(!applies([1, 8, 8, 32], [32, 3, 3, 32], Conv2DAttributes(padding: .same(2), dilation: .square(2))))
        #expect(!applies([1, 8, 8, 64], [64, 3, 3, 32], Conv2DAttributes(padding: .same(1), groups: 2)))
        #expect(!applies([1, 8, 8, 32], [32, 7, 7, 32], Conv2DAttributes(padding: .same(3))))
        #expect(!applies([1, 8, 8, 16], [16, 5, 5, 16], Conv2DAttributes(padding: .same(2))))     // 5×5 from 32
        #expect(!applies([1, 8, 8, 256], [256, 3, 3, 256], Conv2DAttributes(padding: .same(1))))  // 36·S·C products too large
        #expect(applies([1, 4, 4, 256], [256, 3, 3, 256], Conv2DAttributes(padding: .same(1))))   // F(2×2, 3×3): 16·S·C
        #expect(!applies([1, 8, 8, 32], [32, 1, 1, 32], Conv2DAttributes()))
    }
}

@Suite struct LayerGradientTests {
    @Test func linear() {
        let x = randomVariable([3, 7], seed: 1), w = randomVariable([5, 7], seed: 2), b = randomVariable([5], seed: 3)
        let errs = gradientCheck([x, w, b]) { v in RankEdgeTrain.linear(v[0], weight: v[1], bias: v[2]) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    @Test(arguments: [true, false])
    func batchNorm(training: Bool) {
        let x = randomVariable([3, 4, 3, 5], seed: 4, scale: 2)
        let gamma = randomVariable([5], seed: 5), beta = randomVariable([5], seed: 6)
        let errs = gradientCheck([x, gamma, beta], eps: 1e-2) { v in
            // Fresh running statistics each call, so every evaluation sees the same state.
            RankEdgeTrain.batchNorm(v[0], gamma: v[1], beta: v[2], runningMean: TensorStorage([0.1, -0.2, 0.3, 0, 0.05]),
                                    runningVar: TensorStorage([1, 0.5, 2, 1.5, 0.8]), training: training)
        }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    /// The fused op against relu(batchNorm(x)) composed from the two ops: same output, same
    /// gradients for x, γ and β, in training and evaluation mode. With `existingGradients`, x, γ and
    /// β hold a gradient before the backward pass, which must add to it.
    @Test(arguments: [(true, false), (false, false), (true, true)])
    func batchNormReLUEqualsTheComposition(training: Bool, existingGradients: Bool) {
        func run(fused: Bool) -> ([Float], [[Float]]) {
            let x = randomVariable([3, 4, 5, 6], seed: 8, scale: 2)
            let gamma = randomVariable([6], seed: 9), beta = randomVariable([6], seed: 10)
            let mean = TensorStorage([0.1, -0.2, 0.3, 0, 0.05, 0.4]), variance = TensorStorage([1, 0.5, 2, 1.5, 0.8, 1.2])
            let y = fused
                ? RankEdgeTrain.batchNorm(x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                                          training: training, relu: true)
                : RankEdgeTrain.relu(RankEdgeTrain.batchNorm(x, gamma: gamma, beta: beta, runningMean: mean,
                                                             runningVar: variance, training: training))
            var rng = SeededRandom(seed: 3)
            if existingGradients { for v in [x, gamma, beta] { v.gradPointer().update(repeating: 0.25, count: v.count) } }
            y.backward(seed: (0..<y.count).map { _ in rng.uniform(-1, 1) })
            return (y.data, [x, gamma, beta].map { $0.grad!.array })
        }
        let (fusedOut, fusedGrads) = run(fused: true), (plainOut, plainGrads) = run(fused: false)
        #expect(fusedOut.contains(0) && fusedOut.contains { $0 > 0 }, "the test should cover both sides of the ReLU")
        #expect(zip(fusedOut, plainOut).allSatisfy { abs($0 - $1) <= 1e-6 })
        for (f, p) in zip(fusedGrads, plainGrads) {
            let scale = max(p.map(abs).max() ?? 0, 1e-3)
            #expect(zip(f, p).allSatisfy { abs($0 - $1) <= 1e-5 * scale }, "fused \(f.prefix(4)) vs \(p.prefix(4))")
        }
    }

    /// The residual join: batchNorm(x) + r, with and without the ReLU, against add (and relu)
    /// composed from the separate ops; r a separate tensor or x itself. `variant` 1 gives every
    /// input a gradient before the backward pass (which must then add to it, not assign); 2 leaves
    /// x without a gradient.
    @Test(arguments: [(true, true, false, 0), (true, false, false, 0), (false, true, false, 0), (true, true, true, 0),
                      (false, false, true, 0), (true, true, false, 1), (true, false, true, 1), (true, true, false, 2),
                      (false, false, false, 2)])
    func batchNormResidualEqualsTheComposition(training: Bool, relu: Bool, residualIsInput: Bool, variant: Int) {
        func run(fused: Bool) -> ([Float], [[Float]]) {
            let x = randomVariable([3, 4, 5, 6], seed: 8, scale: 2, requiresGrad: variant != 2)
            let r = randomVariable([3, 4, 5, 6], seed: 11, scale: 2)
            let gamma = randomVariable([6], seed: 9), beta = randomVariable([6], seed: 10)
            let mean = TensorStorage([0.1, -0.2, 0.3, 0, 0.05, 0.4]), variance = TensorStorage([1, 0.5, 2, 1.5, 0.8, 1.2])
            let residual = residualIsInput ? x : r
            let y: Variable
            if fused {
                y = RankEdgeTrain.batchNorm(x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                                            training: training, residual: residual, relu: relu)
            } else {
                let sum = add(RankEdgeTrain.batchNorm(x, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                                                      training: training), residual)
                y = relu ? RankEdgeTrain.relu(sum) : sum
            }
            var rng = SeededRandom(seed: 3)
            let inputs = (variant == 2 ? [] : [x]) + [gamma, beta] + (residualIsInput ? [] : [r])
            if variant == 1 { for v in inputs { v.gradPointer().update(repeating: 0.25, count: v.count) } }
            y.backward(seed: (0..<y.count).map { _ in rng.uniform(-1, 1) })
            return (y.data, inputs.map { $0.grad!.array })
        }
        let (fusedOut, fusedGrads) = run(fused: true), (plainOut, plainGrads) = run(fused: false)
        if relu { #expect(fusedOut.contains(0) && fusedOut.contains { $0 > 0 }, "the test should cover both sides of the ReLU") }
        #expect(zip(fusedOut, plainOut).allSatisfy { abs($0 - $1) <= 1e-5 })
        for (f, p) in zip(fusedGrads, plainGrads) {
            let scale = max(p.map(abs).max() ?? 0, 1e-3)
            #expect(zip(f, p).allSatisfy { abs($0 - $1) <= 1e-5 * scale }, "fused \(f.prefix(4)) vs \(p.prefix(4))")
        }
    }

    @Test func batchNormResidualGradients() {
        let x = randomVariable([3, 4, 3, 5], seed: 4, scale: 2), r = randomVariable([3, 4, 3, 5], seed: 12)
        let gamma = randomVariable([5], seed: 5), beta = randomVariable([5], seed: 6)
        let errs = gradientCheck([x, gamma, beta, r], eps: 1e-2) { v in
            RankEdgeTrain.batchNorm(v[0], gamma: v[1], beta: v[2], runningMean: TensorStorage([0.1, -0.2, 0.3, 0, 0.05]),
                                    runningVar: TensorStorage([1, 0.5, 2, 1.5, 0.8]), training: true, residual: v[3])
        }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    @Test func batchNormTrainingNormalisesAndTracksStatistics() {
        let x = randomVariable([4, 3, 3, 2], seed: 9, scale: 3)
        let rm = TensorStorage(zeros: 2), rv = TensorStorage([1, 1])
        let y = RankEdgeTrain.batchNorm(x, gamma: Variable(shape: [2], data: [1, 1]), beta: Variable(shape: [2], data: [0, 0]),
                                        runningMean: rm, runningVar: rv, training: true)
        for ch in 0..<2 {
            let vals = stride(from: ch, to: y.count, by: 2).map { Double(y.value[$0]) }
            let mean = vals.reduce(0, +) / Double(vals.count)
            let variance = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(vals.count)
            #expect(abs(mean) < 1e-5 && abs(variance - 1) < 1e-3)
            let xv = stride(from: ch, to: x.count, by: 2).map { Double(x.value[$0]) }
            let xm = xv.reduce(0, +) / Double(xv.count)
            #expect(abs(Double(rm[ch]) - 0.1 * xm) < 1e-5)
        }
    }

    @Test func relu() {
        let x = spacedVariable([2, 3, 3, 4], seed: 1)
        let errs = gradientCheck([x], eps: 1e-3) { v in RankEdgeTrain.relu(v[0]) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    @Test(arguments: [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
    func maxPool(kernel: Int, stride: Int, padding: Int) {
        let x = spacedVariable([2, 5, 6, 3], seed: 2)
        let a = PoolAttributes(kernel: .square(kernel), stride: .square(stride), padding: .same(padding))
        let errs = gradientCheck([x], eps: 1e-3) { v in maxPool2d(v[0], attributes: a) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    @Test(arguments: [false, true])
    func avgPool(countIncludePad: Bool) {
        let x = randomVariable([2, 5, 5, 3], seed: 3)
        let a = PoolAttributes(kernel: .square(3), stride: .square(2), padding: .same(1), countIncludePad: countIncludePad)
        let errs = gradientCheck([x]) { v in avgPool2d(v[0], attributes: a) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
        // Corner output: a 2×2 valid window, divisor 9 with padding counted, 4 without.
        let y = avgPool2d(x, attributes: a)
        let corner = [0, 1, 5, 6].map { x.value[$0 * 3] }.reduce(0, +)
        #expect(abs(y.value[0] - corner / (countIncludePad ? 9 : 4)) < 1e-6)
    }

    @Test func globalAvgPool() {
        let x = randomVariable([3, 4, 5, 2], seed: 4)
        let errs = gradientCheck([x]) { v in RankEdgeTrain.globalAvgPool(v[0]) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    @Test func dropoutWithFixedMask() {
        let x = randomVariable([2, 3, 3, 2], seed: 5)
        var rng = SeededRandom(seed: 1)
        let mask = TensorStorage((0..<x.count).map { _ in rng.uniform(0, 1) < 0.6 ? 1 : 0 })
        let errs = gradientCheck([x]) { v in RankEdgeTrain.dropout(v[0], mask: mask, rate: 0.4) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
        let y = RankEdgeTrain.dropout(x, mask: mask, rate: 0.4)
        for i in 0..<x.count { #expect(abs(y.value[i] - x.value[i] * mask[i] / 0.6) < 1e-6) }
    }

    @Test func flattenAndAdd() {
        let a = randomVariable([2, 3, 2, 2], seed: 6), b = randomVariable([2, 3, 2, 2], seed: 7)
        let errs = gradientCheck([a, b]) { v in flatten(RankEdgeTrain.add(v[0], v[1])) }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
        #expect(flatten(a).shape == [2, 12])
    }

    @Test func softmaxCrossEntropy() {
        let x = randomVariable([5, 7], seed: 8, scale: 3)
        let labels = [0, 6, 3, 3, 1]
        let errs = gradientCheck([x]) { v in RankEdgeTrain.softmaxCrossEntropy(v[0], labels: labels).loss }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }

    @Test func sharedInputAccumulatesBothPaths() {
        let x = randomVariable([1, 4, 4, 3], seed: 9)
        let w = randomVariable([3, 3, 3, 3], seed: 10)
        let errs = gradientCheck([x, w]) { v in
            RankEdgeTrain.add(v[0], conv2d(v[0], weight: v[1], bias: nil, attributes: Conv2DAttributes(padding: .same(1))))
        }
        #expect(errs.allSatisfy { $0 < 5e-3 }, "\(errs)")
    }
}
