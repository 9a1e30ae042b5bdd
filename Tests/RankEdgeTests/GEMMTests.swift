import Testing
@testable import RankEdge
@testable import RankEdgeReference

@Suite struct GEMMTests {
    static let sizes = [1, 2, 3, 7, 15, 16, 17, 31, 33, 64, 100, 255, 257]

    /// (M, N, K) triples forming a Latin square over `sizes`: every M is paired with every N, and K
    /// is sizes[(11 − i − j) mod 13], so every (M, K) and every (N, K) pair also occurs exactly once
    /// (an orthogonal array of strength 2). Each size therefore meets each other dimension's edge
    /// cases, at 169 triples instead of the 2197 of the full cube. Of the 13 possible Latin squares of
    /// this form it is the one pairing large M·N with small K, so the O(MNK) oracle stays fast in
    /// debug builds (11 M multiply-adds in total, against 514 M for the cube).
    static let triples: [(m: Int, n: Int, k: Int)] = {
        var out: [(Int, Int, Int)] = []
        for i in 0..<13 { for j in 0..<13 { out.append((sizes[i], sizes[j], sizes[((11 - i - j) % 13 + 13) % 13])) } }
        return out
    }()

    static let epilogues: [(bias: Bool, residual: Bool, activation: GEMMActivation, accumulate: Bool)] = [
        (true, false, .none, false), (false, false, .relu, false), (true, false, .relu6, false),
        (false, true, .none, false), (true, true, .relu, false), (false, false, .none, true),
        (true, true, .relu6, true), (false, false, .none, false),
    ]

    /// The runs for triple `t`: the plain default call, then two calls whose options cycle with
    /// different periods (epilogue 8, prepacking 2, threads 3, strides 5, B layout 7, A packing 6,
    /// B packing 9, block sizes 4) over consecutive runs. Each size value occurs in 26 such runs per dimension, so
    /// each option value meets each size of each dimension.
    static func variants(triple t: Int) -> [GEMMVariant] {
        var out = [GEMMVariant()]
        for r in 0..<2 {
            let u = 2 * t + r
            let e = epilogues[u % 8]
            var v = GEMMVariant(bias: e.bias, residual: e.residual, activation: e.activation, accumulate: e.accumulate)
            v.prepacked = u % 2 == 1
            v.threads = u % 3 == 0 ? 1 : 2
            v.strided = u % 5 != 0
            v.bTransposed = u % 7 < 3
            v.packA = [nil, true, false][(u / 2) % 3]
            v.packBUpfront = [nil, true, false][(u / 3) % 3]
            v.smallBlocks = u % 4 >= 2
            out.append(v)
        }
        return out
    }

    @Test func everyAvailableISAMatchesTheNaiveGEMMOverTheSizeSquare() throws {
        let isas = GEMMISA.available()
        #expect(isas.contains(.scalar))
        let pool = ThreadPool()  // its own pool: other suites running in parallel cannot make it serial
        var failures: [String] = []
        var runs = 0
        for (t, triple) in Self.triples.enumerated() {
            let problem = GEMMProblem(m: triple.m, n: triple.n, k: triple.k, seed: UInt64(t + 1))
            for isa in isas {
                for variant in Self.variants(triple: t) {
                    runs += 1
                    if let failure = checkGEMM(problem, isa: isa, variant: variant, pool: pool) {
                        failures.append("\(isa) m=\(triple.m) n=\(triple.n) k=\(triple.k) [\(variant)]: \(failure)")
                    }
                }
            }
        }
        #expect(runs == 169 * 3 * isas.count)
        let failed = failures.count  // a count, so a failure report is not the whole list
        #expect(failed == 0, "\(failed) of \(runs) runs failed; first: \(failures.prefix(5).joined(separator: "\n"))")
    }

    /// Every epilogue × packing × thread combination in full on a few shapes with edge tiles in all
    /// directions, so no combination is left to the rotation above.
    @Test(arguments: [(m: 13, n: 37, k: 33), (m: 50, n: 17, k: 64)])
    func everyOptionCombinationOnEdgeShapes(shape: (m: Int, n: Int, k: Int)) {
        let problem = GEMMProblem(m: shape.m, n: shape.n, k: shape.k, seed: 99)
        let pool = ThreadPool()
        var failures: [String] = []
        for isa in GEMMISA.available() {
            for e in Self.epilogues {
                // B: prepacked, packed whole before the tasks, or packed per task and block.
                for bMode in [nil, true, false] as [Bool?] {
                    for threads in [1, 2] {
                        for packA in [true, false] {
                            var v = GEMMVariant(bias: e.bias, residual: e.residual, activation: e.activation, accumulate: e.accumulate)
                            v.prepacked = bMode == nil; v.packBUpfront = bMode; v.threads = threads; v.packA = packA
                            v.strided = true; v.smallBlocks = threads == 2
                            if let failure = checkGEMM(problem, isa: isa, variant: v, pool: pool) {
                                failures.append("\(isa) [\(v)]: \(failure)")
                            }
                        }
                    }
                }
            }
        }
        let failed = failures.count
        #expect(failed == 0, "\(failures.prefix(5).joined(separator: "\n"))")
    }

    /// A problem large enough for the default heuristics to pack A and split across threads by themselves.
    @Test func defaultHeuristicsOnALargerProblemWithTwoThreads() {
        let problem = GEMMProblem(m: 203, n: 150, k: 300, seed: 7)
        let pool = ThreadPool()
        for isa in GEMMISA.available() {
            var v = GEMMVariant(bias: true, activation: .relu)
            v.threads = 2
            #expect(checkGEMM(problem, isa: isa, variant: v, pool: pool) == nil, "\(isa)")
        }
    }

    /// Weights are packed once and shared: one PackedMatrixB (packed from its [N × K] transpose)
    /// serves calls with different M, epilogues and threads, from several tasks at once.
    @Test func onePackedWeightServesConcurrentCallsOfDifferentShapes() async throws {
        let (n, k) = (37, 70)
        var random = SeededRandom(seed: 5)
        let weights = random.uniformArray(count: n * k, bound: 1)  // [N × K], as conv weights are stored
        let bias = random.uniformArray(count: n, bound: 1)
        let packed = try weights.withUnsafeBufferPointer { w in
            try PackedMatrixB(k: k, n: n, b: w.baseAddress!, ldb: k, transposed: true)
        }
        let failures = await withTaskGroup(of: String?.self) { group in
            for (index, m) in [1, 13, 64, 200].enumerated() {
                group.addTask {
                    var random = SeededRandom(seed: UInt64(10 + index))
                    let a = random.uniformArray(count: m * k, bound: 1)
                    var got = [Float](repeating: 0, count: m * n), want = got
                    let epilogue: (UnsafePointer<Float>) -> GEMMEpilogue = { GEMMEpilogue(bias: $0, activation: index % 2 == 0 ? .relu : .none) }
                    do {
                        try a.withUnsafeBufferPointer { ap in
                            try bias.withUnsafeBufferPointer { bp in
                                try got.withUnsafeMutableBufferPointer { cp in
                                    try gemm(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, packedB: packed, c: cp.baseAddress!, ldc: n,
                                             epilogue: epilogue(bp.baseAddress!), threads: 1 + index % 2)
                                }
                                weights.withUnsafeBufferPointer { wp in
                                    want.withUnsafeMutableBufferPointer { cp in
                                        naiveGEMM(m: m, n: n, k: k, a: ap.baseAddress!, lda: k, b: wp.baseAddress!, ldb: k, bTransposed: true,
                                                  c: cp.baseAddress!, ldc: n, epilogue: epilogue(bp.baseAddress!))
                                    }
                                }
                            }
                        }
                    } catch { return "m=\(m): \(error)" }
                    // |a|, |b| ≤ 1: each sum has k + 1 terms of size ≤ 1.
                    let worst = zip(got, want).map { abs($0 - $1) }.max() ?? 0
                    return worst <= Float(k + 1) * Float(k + 1) * Float.ulpOfOne ? nil : "m=\(m): max difference \(worst)"
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        #expect(failures.isEmpty, "\(failures)")
    }

    @Test func emptyDimensionsAndZeroDepth() throws {
        // K = 0: C is the epilogue of a zero product.
        var c: [Float] = [5, 5, 5, 5, 5, 5]
        let bias: [Float] = [1, -2, 3]
        let dummy: [Float] = [0]
        try bias.withUnsafeBufferPointer { bp in
            try dummy.withUnsafeBufferPointer { d in
                try c.withUnsafeMutableBufferPointer { cp in
                    try gemm(m: 2, n: 3, k: 0, a: d.baseAddress!, lda: 1, b: d.baseAddress!, ldb: 3, c: cp.baseAddress!, ldc: 3,
                             epilogue: GEMMEpilogue(bias: bp.baseAddress!, activation: .relu))
                }
            }
        }
        #expect(c == [1, 0, 3, 1, 0, 3])
        // M = 0 or N = 0: nothing is touched.
        try dummy.withUnsafeBufferPointer { d in
            try c.withUnsafeMutableBufferPointer { cp in
                try gemm(m: 0, n: 3, k: 4, a: d.baseAddress!, lda: 4, b: d.baseAddress!, ldb: 3, c: cp.baseAddress!, ldc: 3)
                try gemm(m: 2, n: 0, k: 4, a: d.baseAddress!, lda: 4, b: d.baseAddress!, ldb: 1, c: cp.baseAddress!, ldc: 1)
            }
        }
        #expect(c == [1, 0, 3, 1, 0, 3])
    }

    @Test func badArgumentsAreTypedErrors() throws {
        let buffer = [Float](repeating: 1, count: 64)
        var c = [Float](repeating: 0, count: 64)
        try buffer.withUnsafeBufferPointer { bp in
            try c.withUnsafeMutableBufferPointer { cp in
                let (p, q) = (bp.baseAddress!, cp.baseAddress!)
                #expect(throws: GEMMError.invalidArgument("lda=0 < 1")) {
                    try gemm(m: 2, n: 2, k: 3, a: p, lda: 0, b: p, ldb: 2, c: q, ldc: 2)
                }
                #expect(throws: GEMMError.invalidArgument("ldc=1 < n=2")) {
                    try gemm(m: 2, n: 2, k: 3, a: p, lda: 3, b: p, ldb: 2, c: q, ldc: 1)
                }
                #expect(throws: GEMMError.invalidArgument("negative size m=-1 n=2 k=3")) {
                    try gemm(m: -1, n: 2, k: 3, a: p, lda: 3, b: p, ldb: 2, c: q, ldc: 2)
                }
                #expect(throws: GEMMError.invalidArgument("sizes m=4294967296 n=4294967296 k=3 are too large")) {
                    try gemm(m: 1 << 32, n: 1 << 32, k: 3, a: p, lda: 3, b: p, ldb: 1 << 32, c: q, ldc: 1 << 32)
                }
                #expect(throws: GEMMError.invalidArgument("sizes k=4611686018427387904 n=3 are too large")) {
                    _ = try PackedMatrixB(k: 1 << 62, n: 3, b: p, ldb: 3, isa: .scalar)
                }
                #expect(throws: GEMMError.invalidArgument("residualStride=1 < n=2")) {
                    try gemm(m: 2, n: 2, k: 3, a: p, lda: 3, b: p, ldb: 2, c: q, ldc: 2,
                             epilogue: GEMMEpilogue(residual: p, residualStride: 1))
                }
                #expect(throws: GEMMError.invalidArgument("ldb=2 < n=3")) {
                    _ = try PackedMatrixB(k: 2, n: 3, b: p, ldb: 2, isa: .scalar)
                }
                #expect(throws: GEMMError.invalidArgument("ldb=2 < n=3")) {
                    try gemm(m: 2, n: 3, k: 2, a: p, lda: 2, b: p, ldb: 2, c: q, ldc: 3)
                }
                #expect(throws: GEMMError.invalidArgument("ldb=1 < k=2 for transposed B")) {
                    try gemm(m: 2, n: 3, k: 2, a: p, lda: 2, b: p, ldb: 1, bTransposed: true, c: q, ldc: 3)
                }
                let packed = try PackedMatrixB(k: 3, n: 2, b: p, ldb: 2, isa: .scalar)
                #expect(throws: GEMMError.packedMatrixMismatch("packed B is 3×2, the call needs 4×2")) {
                    try gemm(m: 2, n: 2, k: 4, a: p, lda: 4, packedB: packed, c: q, ldc: 2)
                }
                for isa in GEMMISA.allCases where !isa.isAvailable {
                    #expect(throws: GEMMError.isaUnavailable(isa)) {
                        try gemm(m: 2, n: 2, k: 3, a: p, lda: 3, b: p, ldb: 2, c: q, ldc: 2, isa: isa)
                    }
                }
            }
        }
    }

    @Test func isaSelectionFromTheEnvironmentValue() throws {
        #expect(try GEMMISA.selection(named: nil) == GEMMISA.native)
        #expect(try GEMMISA.selection(named: "") == GEMMISA.native)
        #expect(try GEMMISA.selection(named: "scalar") == .scalar)
        #expect(try GEMMISA.selection(named: "SCALAR") == .scalar)
        #expect(throws: GEMMError.unknownISA("sse9")) { try GEMMISA.selection(named: "sse9") }
        for isa in GEMMISA.allCases where !isa.isAvailable {
            #expect(throws: GEMMError.isaUnavailable(isa)) { try GEMMISA.selection(named: isa.rawValue) }
        }
        #if arch(x86_64)
        #expect(!GEMMISA.neon.isAvailable)
        #elseif arch(arm64)
        #expect(GEMMISA.native == .neon)
        #endif
        #expect(GEMMISA.available().last == .scalar)
    }
}
