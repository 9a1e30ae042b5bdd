import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// Transposed convolution: the reference at hand-worked values, the GEMM + col2im runtime against
/// the reference at odd sizes, strides, paddings and output paddings on 1 and 2 threads, and both
/// file formats.
@Suite struct ConvTransposeTests {
    /// Input 1, 2 (a 1×2 map, one channel), kernel 1×3 of 1, 10, 100, stride 2: windows at columns
    /// 0 and 2 overlap in column 2.
    @Test func referenceAtKnownValues() throws {
        let x = Tensor(shape: [1, 1, 2, 1], data: [1, 2])
        let w = Tensor(shape: [1, 1, 3, 1], data: [1, 10, 100])
        let full = try ReferenceOps.convTranspose2d(x, weight: w, ConvTranspose2DAttributes(stride: Size2(1, 2)))
        #expect(full.shape == TensorShape([1, 1, 5, 1]) && full.data == [1, 10, 102, 20, 200])
        // Padding 1 on the left crops a column; output padding 1 adds one at the right (zero plus bias).
        let cropped = try ReferenceOps.convTranspose2d(x, weight: w, bias: Tensor(shape: [1], data: [0.5]),
                                                       ConvTranspose2DAttributes(stride: Size2(1, 2), padding: Padding(top: 0, left: 1, bottom: 0, right: 0),
                                                                                 outputPadding: Size2(0, 1)))
        #expect(cropped.data == [10.5, 102.5, 20.5, 200.5, 0.5])
        #expect(throws: (any Error).self) {
            try ReferenceOps.convTranspose2d(x, weight: w, ConvTranspose2DAttributes(stride: Size2(1, 2), outputPadding: Size2(0, 2)))
        }
    }

    static func graph(input: [Int], out: Int, kernel: Int, stride: Int, padding: Padding, outputPadding: Int) -> Graph {
        var b = GraphBuilder(name: "deconv-\(kernel)-\(stride)", shape: input, seed: 7)
        let x = b.conv("input", out: input[3] + 1, kernel: 3, padding: 1, name: "conv")
        let y = b.convTranspose(x, out: out, kernel: kernel, stride: stride, padding: padding, outputPadding: outputPadding, name: "deconv")
        let out = b.relu(y)
        return b.build(outputs: [out])
    }

    @Test func runtimeMatchesReference() throws {
        let cases: [([Int], Int, Int, Int, Padding, Int)] = [
            ([1, 7, 5, 3], 3, 3, 2, .same(1), 1), ([1, 7, 5, 3], 4, 4, 2, Padding(top: 1, left: 2, bottom: 0, right: 1), 0),
            ([1, 5, 7, 2], 5, 2, 2, .zero, 1), ([1, 4, 3, 3], 3, 3, 1, .zero, 0), ([1, 3, 5, 2], 2, 5, 3, Padding(top: 2, left: 0, bottom: 1, right: 3), 2),
            ([1, 33, 29, 8], 16, 3, 2, .same(1), 1),
        ]
        for (input, out, k, s, p, e) in cases {
            try FastOpsTests.check(Self.graph(input: input, out: out, kernel: k, stride: s, padding: p, outputPadding: e), batch: 2)
        }
    }

    @Test func compiledFilesAndGraphFilesKeepTheOp() throws {
        let g = Self.graph(input: [1, 7, 5, 3], out: 3, kernel: 3, stride: 2, padding: .same(1), outputPadding: 1)
        let model = try GraphCompiler.compile(g)
        #expect(model.ops.map(\.kernel).contains("conv-transpose"))
        let bytes = try RKGFile.encode(CompiledModelFile.contents(model, plan: nil, compileThreads: 1))
        let loaded = try InferenceSession(model: CompiledModelFile.model(from: RKGFile.decodeContents(bytes)))
        var rng = SeededRandom(seed: 3)
        let x = RefFixtures.random([2, 7, 5, 3], &rng, bound: 4)
        #expect(try loaded.run(["input": x]) == InferenceSession(model: model).run(["input": x]))
        let reread = try RKGFile.decode(RKGFile.encode(g))
        #expect(reread.nodes.map(\.op) == g.nodes.map(\.op))
    }
}
