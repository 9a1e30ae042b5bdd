import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// `BatchConvolution` (the trainer's conv on the GEMM engine) against the reference executor's conv:
/// batches, odd and prime sizes, strides, asymmetric padding, dilation, groups, 1×1 read in place,
/// outputs wide enough that patches go straight into packed panels, narrow stride-1 convs in the
/// shifted-row form, the Winograd form, image ranges, and accumulation onto what the output holds; for every ISA this
/// CPU runs.
@Suite struct BatchConvolutionTests {
    struct Case: CustomStringConvertible {
        var input: [Int]
        var weight: [Int]
        var attributes = Conv2DAttributes()
        var bias = true
        var description: String { "\(input) * \(weight) \(attributes)" }
    }

    static let cases: [Case] = [
        Case(input: [1, 1, 1, 1], weight: [1, 1, 1, 1]),
        Case(input: [3, 7, 5, 3], weight: [5, 3, 3, 3], attributes: Conv2DAttributes(padding: .same(1))),
        Case(input: [2, 9, 8, 11], weight: [13, 3, 3, 11], attributes: Conv2DAttributes(stride: .square(2), padding: .same(1))),
        Case(input: [2, 11, 8, 4], weight: [7, 5, 5, 4],
             attributes: Conv2DAttributes(stride: .square(2), padding: Padding(top: 2, left: 1, bottom: 0, right: 3))),
        Case(input: [2, 9, 9, 5], weight: [6, 3, 3, 5], attributes: Conv2DAttributes(padding: .same(2), dilation: .square(2)), bias: false),
        Case(input: [2, 6, 7, 12], weight: [6, 3, 3, 4], attributes: Conv2DAttributes(padding: .same(1), groups: 3)),
        Case(input: [3, 5, 6, 17], weight: [19, 1, 1, 17]),
        // 70 outputs: more than four 16-wide panels, so the patches are packed straight into panels.
        Case(input: [2, 7, 6, 9], weight: [70, 3, 3, 9], attributes: Conv2DAttributes(padding: .same(1))),
        Case(input: [2, 5, 5, 3], weight: [67, 5, 5, 3], attributes: Conv2DAttributes(stride: .square(2), padding: .same(2)), bias: false),
        // Shifted-row form: stride 1, narrow output, padded width within 20 % of the output's.
        Case(input: [3, 13, 11, 5], weight: [7, 3, 3, 5], attributes: Conv2DAttributes(padding: .same(1))),
        Case(input: [2, 40, 23, 3], weight: [16, 3, 3, 3], attributes: Conv2DAttributes(padding: .same(1)), bias: false),
        Case(input: [2, 17, 31, 12], weight: [12, 5, 5, 12], attributes: Conv2DAttributes(padding: .same(2))),
        Case(input: [2, 17, 31, 16], weight: [16, 5, 5, 16], attributes: Conv2DAttributes(padding: .same(2))),
        // Winograd form (F(4×4, 3×3) from 8×8 outputs, else F(2×2, 3×3); F(2×2, 5×5)): stride 1, at
        // least 16 (3×3) or 32 (5×5) channels each side; odd sizes, no padding, channel tails, tiles
        // overhanging the output, and 240 4×4 tiles, more than one chunk (the first then ends inside
        // the third image).
        Case(input: [2, 7, 9, 32], weight: [40, 3, 3, 32], attributes: Conv2DAttributes(padding: .same(1))),
        Case(input: [3, 5, 4, 33], weight: [32, 3, 3, 33], bias: false),
        Case(input: [1, 10, 7, 35], weight: [41, 3, 3, 35], attributes: Conv2DAttributes(padding: .same(1))),
        Case(input: [2, 9, 9, 16], weight: [16, 3, 3, 16], attributes: Conv2DAttributes(padding: .same(1)), bias: false),
        Case(input: [4, 26, 26, 32], weight: [32, 3, 3, 32], attributes: Conv2DAttributes(padding: .same(1))),
        Case(input: [3, 40, 30, 32], weight: [32, 3, 3, 32], attributes: Conv2DAttributes(padding: .same(1)), bias: false),
        Case(input: [2, 9, 11, 32], weight: [40, 5, 5, 32], attributes: Conv2DAttributes(padding: .same(2))),
    ]

    /// Whether the selector gives a training conv of this weight, on a 16×16 input, the Winograd form.
    static func trainsWinograd(weight: [Int], attributes: Conv2DAttributes) -> Bool {
        let input = TensorShape([8, 16, 16, weight[3]])
        guard let output = try? Graph.outputShape(op: .conv2d(attributes), inputs: [input], weights: [TensorShape(weight)]).get(),
              case .winograd = ConvFormSelector.training(weight: TensorShape(weight), attributes: attributes, input: input, output: output)
        else { return false }
        return true
    }

    @Test func winogradFormOnlyWhereItPays() {
        #expect(Self.trainsWinograd(weight: [32, 3, 3, 32], attributes: Conv2DAttributes(padding: .same(1))))
        #expect(Self.trainsWinograd(weight: [16, 3, 3, 16], attributes: Conv2DAttributes(padding: .same(1))))
        #expect(!Self.trainsWinograd(weight: [16, 3, 3, 8], attributes: Conv2DAttributes(padding: .same(1))))
        #expect(!Self.trainsWinograd(weight: [3, 3, 3, 16], attributes: Conv2DAttributes(padding: .same(1))))
        #expect(!Self.trainsWinograd(weight: [16, 5, 5, 16], attributes: Conv2DAttributes(padding: .same(2))))
        #expect(ConvFormSelector.trainingWinogradTransform(kernel: 3, outputHeight: 8, outputWidth: 9) == .f43)
        #expect(ConvFormSelector.trainingWinogradTransform(kernel: 3, outputHeight: 4, outputWidth: 32) == .f23)
        #expect(ConvFormSelector.trainingWinogradTransform(kernel: 5, outputHeight: 32, outputWidth: 32) == .f25)
        #expect(!Self.trainsWinograd(weight: [64, 3, 3, 64], attributes: Conv2DAttributes(stride: .square(2))))
        #expect(Self.trainsWinograd(weight: [64, 5, 5, 64], attributes: Conv2DAttributes(padding: .same(2))))
        #expect(!Self.trainsWinograd(weight: [64, 7, 7, 64], attributes: Conv2DAttributes(padding: .same(3))))
    }

    @Test(arguments: cases)
    func matchesReferenceConv(_ c: Case) throws {
        var rng = SeededRandom(seed: 5)
        let x = Tensor(shape: c.input, data: rng.uniformArray(count: c.input.reduce(1, *), bound: 1))
        let w = Tensor(shape: c.weight, data: rng.uniformArray(count: c.weight.reduce(1, *), bound: 1))
        let b = c.bias ? Tensor(shape: [c.weight[0]], data: rng.uniformArray(count: c.weight[0], bound: 1)) : nil
        let expected = try ReferenceOps.conv2d(x, weight: w, bias: b, c.attributes)
        let scale = max(expected.data.map(abs).max() ?? 1, 1)
        for isa in GEMMISA.allCases where isa.isAvailable {
            let conv = try w.data.withUnsafeBufferPointer { wp in
                try b.map { bt in try bt.data.withUnsafeBufferPointer { bp in
                    try BatchConvolution(input: c.input, weight: c.weight, weightData: wp, bias: bp, attributes: c.attributes, isa: isa) } }
                    ?? BatchConvolution(input: c.input, weight: c.weight, weightData: wp, bias: nil, attributes: c.attributes, isa: isa)
            }
            #expect(conv.output == expected.shape.dims)
            let pixels = expected.shape.dims.dropLast().reduce(1, *), s = c.weight[0], n = c.input[0]
            // The whole batch; then image by image, accumulated onto a prefilled output.
            let ranges = [[0..<n], (0..<n).map { $0..<($0 + 1) }]
            for (index, split) in ranges.enumerated() {
                let accumulate = index == 1
                let prefill: Float = accumulate ? 0.5 : .nan
                var y = [Float](repeating: prefill, count: pixels * s)
                var scratch = [Float](repeating: .nan, count: max(conv.scratchCount, 1))
                try x.data.withUnsafeBufferPointer { xp throws in
                    for images in split {
                        try conv.run(x: xp.baseAddress!, images: images, into: &y, accumulate: accumulate, scratch: &scratch)
                    }
                }
                // Accumulating adds no bias: the result is the prefill plus the bias-free conv.
                let bias = b?.data ?? [Float](repeating: 0, count: s)
                let want = expected.data.enumerated().map { i, v in accumulate ? v - bias[i % s] + prefill : v }
                let worst = zip(y, want).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-4 * scale, "\(c) \(isa) accumulate \(accumulate): max error \(worst)")
            }
        }
    }

    @Test func rejectsMismatchedInputsAndRanges() throws {
        let w = [Float](repeating: 1, count: 4 * 3 * 3 * 2)
        func make(_ input: [Int], _ weights: UnsafeBufferPointer<Float>) throws(GEMMError) -> BatchConvolution {
            try BatchConvolution(input: input, weight: [4, 3, 3, 2], weightData: weights, bias: nil, attributes: Conv2DAttributes())
        }
        try w.withUnsafeBufferPointer { wp in
            #expect(throws: GEMMError.self) { try make([1, 5, 5, 3], wp) }          // wrong channels
            #expect(throws: GEMMError.self) { try make([1, 2, 5, 2], wp) }          // smaller than the kernel
            #expect(throws: GEMMError.self) { try make([1, 5, 5, 2], UnsafeBufferPointer(rebasing: wp.dropLast())) }
            let conv = try make([1, 5, 5, 2], wp)
            var y = [Float](repeating: 0, count: 64), scratch = [Float](repeating: 0, count: conv.scratchCount)
            let x = [Float](repeating: 1, count: 50)
            #expect(throws: GEMMError.self) {
                try conv.run(x: x, images: 0..<2, into: &y, accumulate: false, scratch: &scratch)
            }
        }
    }
}
