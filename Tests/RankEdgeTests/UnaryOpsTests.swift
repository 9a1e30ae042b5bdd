import Testing
@testable import RankEdge
@testable import RankEdgeReference

/// Sigmoid, Tanh, HardSigmoid, HardSwish and SiLU: the definitions at known points, the runtime's
/// kernel against the reference at odd sizes and thread counts, NaN kept, in place after a conv,
/// through a compiled file, and through the graph file format.
@Suite struct UnaryOpsTests {
    static let functions: [UnaryFunction] = [.sigmoid, .tanh, .hardSigmoid(alpha: 1.0 / 6, beta: 0.5), .hardSwish, .silu, .erf, .gelu]

    @Test func knownValues() {
        #expect(UnaryFunction.sigmoid(0) == 0.5)
        #expect(abs(UnaryFunction.sigmoid(-100)) < 1e-30 && UnaryFunction.sigmoid(100) == 1)
        #expect(abs(UnaryFunction.tanh(1) - 0.7615942) < 1e-6)
        #expect(UnaryFunction.hardSigmoid(alpha: 0.2, beta: 0.5)(1) == 0.7)
        #expect(UnaryFunction.hardSigmoid(alpha: 0.2, beta: 0.5)(-3) == 0 && UnaryFunction.hardSigmoid(alpha: 0.2, beta: 0.5)(3) == 1)
        #expect(UnaryFunction.hardSwish(-3) == 0 && UnaryFunction.hardSwish(3) == 3 && UnaryFunction.hardSwish(1) == 1 * (1.0 / 6 + 0.5))
        #expect(abs(UnaryFunction.silu(1) - 0.7310586) < 1e-6)
        #expect(abs(UnaryFunction.erf(0.5) - 0.5204999) < 1e-6 && UnaryFunction.erf(-10) == -1)
        #expect(abs(UnaryFunction.gelu(1) - 0.8413447) < 1e-6 && abs(UnaryFunction.gelu(-1) + 0.1586553) < 1e-6)
        for f in Self.functions { #expect(f(.nan).isNaN, "\(f.name) keeps NaN") }
    }

    /// conv → f → f again: the second runs in place over the first's output.
    static func graph(_ f: UnaryFunction, input: [Int]) -> Graph {
        var b = GraphBuilder(name: "unary-\(f.name)", shape: input, seed: 5)
        let c = b.conv("input", out: 13, kernel: 3, name: "conv")
        let a = b.unary(c, f, name: "f1")
        let y = b.unary(a, f, name: "f2")
        return b.build(outputs: [y])
    }

    @Test(arguments: functions) func runtimeMatchesReference(_ f: UnaryFunction) throws {
        // 1×7×9×13 outputs stay on one thread; 1×61×67×13 (53 K elements) share out at two.
        for input in [[1, 7, 9, 5], [1, 61, 67, 3]] {
            try FastOpsTests.check(Self.graph(f, input: input), batch: 2)
        }
        // The first function is fused into the conv; the second runs on its own, in place.
        let model = try GraphCompiler.compile(Self.graph(f, input: [1, 7, 9, 5]))
        #expect(model.ops.count == 2 && model.ops[0].activation == .function(f) && model.ops[1].kernel == f.name)
    }

    /// A function after a conv is fused into every conv kernel's step: applied per finished GEMM
    /// block (1×1, im2col, grouped), per band (shifted rows), per few rows (depthwise), or after
    /// the step (Winograd, narrow direct conv). Each against the reference, odd sizes, 1 and 2 threads.
    @Test func functionsFusedIntoEveryConvKernel() throws {
        struct Case { let kernel: Int, stride: Int, groups: Int, out: Int, input: [Int], winograd: WinogradPolicy }
        let cases = [
            Case(kernel: 1, stride: 1, groups: 1, out: 37, input: [1, 13, 11, 19], winograd: .never),
            Case(kernel: 3, stride: 2, groups: 1, out: 70, input: [1, 15, 13, 9], winograd: .never),
            Case(kernel: 3, stride: 1, groups: 1, out: 40, input: [1, 9, 40, 6], winograd: .never),
            Case(kernel: 3, stride: 1, groups: 1, out: 64, input: [1, 10, 12, 16], winograd: .always),
            Case(kernel: 3, stride: 1, groups: 24, out: 24, input: [1, 11, 9, 24], winograd: .never),
            Case(kernel: 3, stride: 1, groups: 4, out: 36, input: [1, 9, 7, 20], winograd: .never),
            Case(kernel: 5, stride: 1, groups: 1, out: 3, input: [1, 12, 11, 8], winograd: .never),
        ]
        var kernels = Set<String>()
        for (i, c) in cases.enumerated() {
            let f = Self.functions[i % Self.functions.count]
            var b = GraphBuilder(name: "fused-\(i)-\(f.name)", shape: c.input, seed: UInt64(10 + i))
            let y = b.unary(b.conv("input", out: c.out, kernel: c.kernel, stride: c.stride, groups: c.groups, name: "conv"), f, name: "f")
            let g = b.build(outputs: [y])
            try FastOpsTests.check(g, batch: 2, winograd: c.winograd)
            let session = try InferenceSession(graph: g, options: .init(threads: 1, optimize: false, winograd: c.winograd))
            #expect(session.model.ops.count == 1 && session.model.ops[0].activation == .function(f), "\(g.name): not fused")
            kernels.insert(session.model.ops[0].kernel)
        }
        for k in ["gemm-1x1", "im2col-gemm", "shifted-gemm", "winograd-gemm", "depthwise", "gemm-grouped"] {
            #expect(kernels.contains(k), "no case ran \(k) (ran: \(kernels.sorted()))")
        }
    }

    /// The vector kernel of every ISA this machine runs against the definition: a length with a
    /// 5-element tail, the points where its polynomials switch, values past exp's range, in place too.
    @Test(arguments: functions) func vectorKernelMatchesTheDefinition(_ f: UnaryFunction) {
        let n = 4093
        let x = (0..<n).map { Float(-12 + 24 * Double($0) / Double(n - 1)) }
            + [0, -0, 0.625, -0.625, 1, -1, 4, -4, 87.5, -87.5, 200, -200, 1e-7, -1e-7]
        for isa in GEMMISA.available() {
            var y = [Float](repeating: .nan, count: x.count)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeMutableBufferPointer { f.apply(xp.baseAddress!, $0.baseAddress!, count: x.count, isa: isa) }
            }
            let worst = x.indices.map { i in abs(y[i] - f(x[i])) / max(1, abs(f(x[i]))) }.max() ?? .infinity
            #expect(worst <= 3e-7, "\(f.name) on \(isa): worst error \(worst) × max(1, |y|)")
            var inPlace = x
            inPlace.withUnsafeMutableBufferPointer { f.apply($0.baseAddress!, $0.baseAddress!, count: x.count, isa: isa) }
            #expect(inPlace == y, "\(f.name) on \(isa) in place")
        }
    }

    @Test func nanPassesThroughTheRuntime() throws {
        for f in Self.functions {
            var b = GraphBuilder(name: "nan", shape: [1, 2, 2, 3], seed: 1)
            let y = b.unary("input", f, name: "f")
            let session = try InferenceSession(graph: b.build(outputs: [y]))
            var x = Tensor(shape: [1, 2, 2, 3], data: [Float](repeating: 0.5, count: 12))
            x.data[4] = .nan
            let out = try session.run(x)
            #expect(out.data[4].isNaN && out.data.enumerated().allSatisfy { $0.offset == 4 || !$0.element.isNaN }, "\(f.name)")
        }
    }

    @Test func compiledFilesAndGraphFilesKeepTheFunction() throws {
        for f in Self.functions {
            let g = Self.graph(f, input: [1, 6, 5, 4])
            let model = try GraphCompiler.compile(g)
            let bytes = try RKGFile.encode(CompiledModelFile.contents(model, plan: nil, compileThreads: 1))
            let loaded = try InferenceSession(model: CompiledModelFile.model(from: RKGFile.decodeContents(bytes)))
            var rng = SeededRandom(seed: 3)
            let x = RefFixtures.random([1, 6, 5, 4], &rng, bound: 4)
            #expect(try loaded.run(x) == InferenceSession(model: model).run(x), "\(f.name)")
            let reread = try RKGFile.decode(RKGFile.encode(g))
            #expect(reread.nodes.map(\.op) == g.nodes.map(\.op), "\(f.name)")
        }
        // A hardSigmoid without its alpha is refused, not defaulted (the key renamed in place, same length).
        var bytes = try RKGFile.encode(Self.graph(.hardSigmoid(alpha: 0.2, beta: 0.5), input: [1, 3, 3, 2]))
        let key = Array("alpha".utf8), renamed = Array("alphx".utf8)
        let at = try #require((0...(bytes.count - key.count)).first { Array(bytes[$0..<($0 + key.count)]) == key })
        bytes.replaceSubrange(at..<(at + key.count), with: renamed)
        #expect { try RKGFile.decode(bytes) } throws: { "\($0)".contains("alph") }
    }
}
