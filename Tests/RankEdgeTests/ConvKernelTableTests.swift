import CRankEdgeKernels
import Testing
@testable import RankEdge

/// The C conv-kernel table (re_conv_kernel_at): every entry has its own name and resolves, and every
/// entry of every ISA this machine runs computes what the reference executor does, by running the
/// entry's kernel on that ISA through the runtime (the NEON entries run in tools/neon_harness.c
/// under qemu-aarch64).
@Suite struct ConvKernelTableTests {
    struct Entry: CustomStringConvertible {
        let name: String
        let isa: GEMMISA
        let operation: re_conv_operation
        let winograd: Int32
        var description: String { name }
    }

    static let entries: [Entry] = (0..<re_conv_kernel_count()).map { i in
        let e = re_conv_kernel_at(i)!.pointee
        let isa = GEMMISA.allCases.first { Int32($0.cValue.rawValue) == e.isa }!
        return Entry(name: String(cString: e.name), isa: isa, operation: e.operation, winograd: e.winograd)
    }

    @Test func everyEntryIsNamedOnceAndFoundByName() {
        #expect(Set(Self.entries.map(\.name)).count == Self.entries.count)
        for entry in Self.entries {
            #expect(entry.name.hasPrefix("re_") && entry.name.hasSuffix("_\(entry.isa.rawValue)"))
            #expect(re_conv_kernel_named(entry.name).map { String(cString: $0.pointee.name) } == entry.name)
            // A table exactly for the ISAs this CPU runs.
            #expect((re_conv_kernels_get(Int32(entry.isa.cValue.rawValue)) != nil) == entry.isa.isAvailable)
        }
        #expect(re_conv_kernel_named("re_no_such_kernel") == nil)
        // Every operation on every ISA this build has.
        let isas = Set(Self.entries.map(\.isa))
        #expect(Self.entries.count == isas.count * 14)
    }

    /// A one-node (or one-chain) graph whose compiled step runs the entry's kernel.
    static func graph(for entry: Entry) -> (Graph, WinogradPolicy, expectedKernel: String) {
        switch entry.operation {
        case RE_CONV_DEPTHWISE_ROWS:
            return (FastOpsTests.convGraph("dw", input: [1, 9, 11, 37], out: 37, kernel: 3, stride: 2, groups: 37), .never, "depthwise")
        case RE_CONV_GROUPED_ROWS:
            return (FastOpsTests.convGraph("grouped", input: [1, 9, 11, 48], out: 48, kernel: 3, stride: 2, groups: 3), .never, "grouped-direct")
        case RE_CONV_NARROWCONV_ROWS:
            return (FastOpsTests.convGraph("narrow", input: [1, 10, 13, 7], out: 9, kernel: 3), .never, "narrow-direct")
        case RE_CONV_RANKCONV_TILE:
            var b = GraphBuilder(name: "rank", shape: [1, 11, 9, 6], seed: 4)
            let y = b.rankConv("input", out: 13, kernel: 5, rank: 2, name: "rank")
            return (b.build(outputs: [y]), .never, "separable-rank")
        case RE_CONV_NARROWCHAIN_PROJECT, RE_CONV_NARROWCHAIN_ROWS:
            return (FastOpsTests.narrowChainGraph("chain", input: [1, 9, 11, 20], r1: 7, r2: 11, out: 13, residual: false), .never, "narrow-chain")
        default:
            // Winograd: F(2×2, 3×3) and F(4×4, 3×3) on a 3×3 conv, F(2×2, 5×5) on a 5×5 one.
            let large = entry.winograd == Int32(RE_WINOGRAD_F43.rawValue)
                || (entry.winograd == Int32(RE_WINOGRAD_F25.rawValue) && entry.operation == RE_CONV_WINOGRAD_INPUT)
            let kernel = entry.winograd == Int32(RE_WINOGRAD_F25.rawValue) && !large ? 5 : 3
            return (FastOpsTests.convGraph("wino", input: [1, 13, 10, 19], out: 40, kernel: kernel), large ? .large : .always,
                    large ? "winograd4x4-gemm" : "winograd-gemm")
        }
    }

    @Test(arguments: entries) func entryMatchesTheReference(_ entry: Entry) throws {
        guard entry.isa.isAvailable else { return }
        if entry.operation == RE_CONV_WINOGRAD_OUTPUT_GRADIENT {
            try Self.checkOutputGradient(entry)
            return
        }
        let (g, winograd, kernel) = Self.graph(for: entry)
        let model = try GraphCompiler.lowerOnly(g, isa: entry.isa, rankConvForm: .separable, winograd: winograd)
        #expect(model.ops.map(\.kernel).contains(kernel), "\(entry.name): compiled to \(model.ops.map(\.kernel))")
        try FastOpsTests.check(g, batch: 2, isa: entry.isa, winograd: winograd)
        if entry.operation == RE_CONV_WINOGRAD_INPUT && entry.winograd == Int32(RE_WINOGRAD_F25.rawValue) {
            // The F(2×2, 5×5) input transform serves both algorithms.
            try FastOpsTests.check(FastOpsTests.convGraph("wino5", input: [1, 9, 12, 17], out: 36, kernel: 5), isa: entry.isa, winograd: .always)
        }
    }

    /// The weight gradient's output transform U = A·dY·Aᵀ of one tile against the transform's own
    /// matrices in double precision (the trainer is the only caller; it has no compiled step).
    static func checkOutputGradient(_ entry: Entry) throws {
        let t: WinogradTransform = entry.winograd == Int32(RE_WINOGRAD_F23.rawValue) ? .f23
            : (entry.winograd == Int32(RE_WINOGRAD_F25.rawValue) ? .f25 : .f43)
        let table = try #require(re_conv_kernels_get(Int32(entry.isa.cValue.rawValue)))
        let gradient = try #require(withUnsafeBytes(of: table.pointee.winograd_output_gradient) {
            $0.bindMemory(to: re_winograd_output_gradient_fn?.self)[Int(entry.winograd)]
        })
        for s in [1, 7, 8, 19] {
            var rng = SeededRandom(seed: UInt64(s))
            let dy = rng.uniformArray(count: t.m * t.m * s, bound: 1)
            var u = [Float](repeating: .nan, count: t.positions * s)
            dy.withUnsafeBufferPointer { d in
                let rows = (0..<(t.m * t.m)).map { Optional(d.baseAddress! + $0 * s) }
                rows.withUnsafeBufferPointer { r in
                    u.withUnsafeMutableBufferPointer { gradient(r.baseAddress!, s, $0.baseAddress!, s) }
                }
            }
            for a in 0..<t.alpha {
                for b in 0..<t.alpha {
                    for o in 0..<s {
                        var exact = 0.0, bound = 0.0
                        for i in 0..<t.m {
                            for j in 0..<t.m {
                                let term = Double(t.at[i * t.alpha + a]) * Double(dy[(i * t.m + j) * s + o]) * Double(t.at[j * t.alpha + b])
                                exact += term
                                bound += abs(term)
                            }
                        }
                        let got = Double(u[(a * t.alpha + b) * s + o])
                        #expect(abs(got - exact) <= 1e-6 * max(bound, 1), "\(entry.name) s=\(s) position (\(a),\(b)) channel \(o): \(got) vs \(exact)")
                    }
                }
            }
        }
    }
}
