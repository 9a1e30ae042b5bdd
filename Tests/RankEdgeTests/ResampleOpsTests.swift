import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// Pad, Resize and the channel mean: the reference at hand-worked values, the runtime against the
/// reference at odd sizes on 1 and 2 threads, and both file formats.
@Suite struct ResampleOpsTests {
    /// A 1×3 row 1, 2, 3 (one channel) padded by 2 on the left and 1 on the right.
    @Test func padAtKnownValues() throws {
        let x = Tensor(shape: [1, 1, 3, 1], data: [1, 2, 3])
        let sides = Padding(top: 0, left: 2, bottom: 0, right: 1)
        #expect(try ReferenceOps.pad(x, PadAttributes(padding: sides, mode: .constant(-1))).data == [-1, -1, 1, 2, 3, -1])
        #expect(try ReferenceOps.pad(x, PadAttributes(padding: sides, mode: .reflect)).data == [3, 2, 1, 2, 3, 2])
        #expect(try ReferenceOps.pad(x, PadAttributes(padding: sides, mode: .edge)).data == [1, 1, 1, 2, 3, 3])
        // Reflect cannot pad an axis by its own length or more.
        #expect(throws: (any Error).self) { try ReferenceOps.pad(x, PadAttributes(padding: .same(1), mode: .reflect)) }
    }

    /// A 1×2 row 0, 4 resized to 1×4 under each mapping.
    @Test func resizeAtKnownValues() throws {
        let x = Tensor(shape: [1, 1, 2, 1], data: [0, 4])
        func resize(_ mode: ResizeMode, _ c: ResizeCoordinates) throws -> [Float] {
            try ReferenceOps.resize(x, ResizeAttributes(mode: mode, coordinates: c, input: Size2(1, 2), size: Size2(1, 4))).data
        }
        // Sources −0.25, 0.25, 0.75, 1.25, clamped into [0, 1].
        #expect(try resize(.linear, .halfPixel) == [0, 1, 3, 4])
        #expect(try resize(.linear, .alignCorners) == [0, 4.0 / 3, 8.0 / 3, 4])
        #expect(try resize(.linear, .asymmetric) == [0, 2, 4, 4])
        #expect(try resize(.nearest(.floor), .asymmetric) == [0, 0, 4, 4])
        // round_prefer_floor at −0.25, 0.25, 0.75, 1.25 picks 0, 0, 1, 1.
        #expect(try resize(.nearest(.roundPreferFloor), .halfPixel) == [0, 0, 4, 4])
        // At an exact half (asymmetric 0.5 for output 1 of 1 → 2) the two roundings part.
        let half = ResizeAttributes(mode: .nearest(.roundPreferFloor), coordinates: .asymmetric, input: Size2(1, 2), size: Size2(1, 4))
        #expect(half.taps(1, inSize: 2, outSize: 4, scale: 2)[0].index == 0)
        var ceil = half
        ceil.mode = .nearest(.roundPreferCeil)
        #expect(ceil.taps(1, inSize: 2, outSize: 4, scale: 2)[0].index == 1)
    }

    @Test func channelMeanAtKnownValues() throws {
        #expect(try ReferenceOps.channelMean(Tensor(shape: [2, 3], data: [1, 2, 6, -3, 0, 0])).data == [3, -1])
        #expect(try ReferenceOps.channelMean(Tensor(shape: [1, 1, 2, 2], data: [1, 3, 5, 7])).shape == TensorShape([1, 1, 2, 1]))
    }

    /// conv → reflect pad → conv (stride 2) → edge pad → bilinear up (half_pixel) → nearest down
    /// (non-integer scale) → constant pad → channel mean, joined to an aligned-corners branch.
    static func graph(input: [Int], channels c: Int) -> Graph {
        var b = GraphBuilder(name: "resample-\(c)", shape: input, seed: 5)
        var x = b.conv("input", out: c, kernel: 3, padding: 1, name: "conv")
        x = b.pad(x, Padding(top: 1, left: 2, bottom: 2, right: 1), mode: .reflect)
        x = b.conv(x, out: c, kernel: 3, stride: 2, name: "strided")
        x = b.pad(x, Padding(top: 0, left: 1, bottom: 3, right: 0), mode: .edge)
        let (h, w) = (input[1], input[2])
        let up = b.resize(x, to: Size2(2 * h + 1, 2 * w - 1), mode: .linear, coordinates: .halfPixel)
        let down = b.resize(up, to: Size2(h, w + 2), mode: .nearest(.roundPreferFloor), coordinates: .pytorchHalfPixel)
        let padded = b.pad(down, Padding(top: 2, left: 0, bottom: 1, right: 3), mode: .constant(0.75))
        let mean = b.channelMean(padded, name: "mean")
        let aligned = b.resize(b.pad(down, .same(1)), to: Size2(h + 6, w + 7), mode: .linear, coordinates: .alignCorners)
        let floor = b.resize(aligned, to: Size2(h + 3, w + 5), mode: .nearest(.floor), coordinates: .asymmetric)
        return b.build(outputs: [mean, floor])
    }

    @Test func runtimeMatchesReference() throws {
        for (input, c) in [([1, 7, 5, 3], 3), ([1, 40, 37, 4], 8), ([1, 4, 9, 2], 5)] {
            try FastOpsTests.check(Self.graph(input: input, channels: c), batch: 2)
        }
    }

    @Test func compiledFilesAndGraphFilesKeepTheOps() throws {
        let g = Self.graph(input: [1, 7, 5, 3], channels: 3)
        let model = try GraphCompiler.compile(g)
        #expect(Set(model.ops.map(\.kernel)).isSuperset(of: ["pad", "resize", "channel-mean"]))
        let bytes = try RKGFile.encode(CompiledModelFile.contents(model, plan: nil, compileThreads: 1))
        let loaded = try InferenceSession(model: CompiledModelFile.model(from: RKGFile.decodeContents(bytes)))
        var rng = SeededRandom(seed: 3)
        let x = RefFixtures.random([1, 7, 5, 3], &rng, bound: 4)
        #expect(try loaded.run(["input": x]) == InferenceSession(model: model).run(["input": x]))
        let reread = try RKGFile.decode(RKGFile.encode(g))
        #expect(reread.nodes.map(\.op) == g.nodes.map(\.op))
    }
}
