@testable import RankEdge
@testable import RankEdgeReference

/// A float buffer with guard zones before and after, filled with a sentinel, so tests can see
/// writes outside the matrix as well as wrong values inside it.
final class GuardedBuffer {
    static let guardCount = 64
    static let sentinel: Float = 777.25
    let count: Int
    private let storage: UnsafeMutablePointer<Float>

    init(count: Int, fill: Float = GuardedBuffer.sentinel) {
        self.count = count
        storage = .allocate(capacity: count + 2 * Self.guardCount)
        storage.initialize(repeating: fill, count: count + 2 * Self.guardCount)
        for i in 0..<Self.guardCount {
            storage[i] = Self.sentinel
            storage[Self.guardCount + count + i] = Self.sentinel
        }
    }

    deinit { storage.deallocate() }

    var pointer: UnsafeMutablePointer<Float> { storage + Self.guardCount }

    var guardsIntact: Bool {
        (0..<Self.guardCount).allSatisfy {
            storage[$0] == Self.sentinel && storage[Self.guardCount + count + $0] == Self.sentinel
        }
    }

    /// Copies a rows × cols row-major matrix into this buffer at leading dimension `ld`.
    func store(_ values: [Float], rows: Int, cols: Int, ld: Int) {
        for i in 0..<rows { for j in 0..<cols { pointer[i * ld + j] = values[i * cols + j] } }
    }

    /// Reads a rows × cols matrix stored at leading dimension `ld`.
    func load(rows: Int, cols: Int, ld: Int) -> [Float] {
        var out = [Float](repeating: 0, count: rows * cols)
        for i in 0..<rows { for j in 0..<cols { out[i * cols + j] = pointer[i * ld + j] } }
        return out
    }
}

/// One GEMM problem's operands and its oracle result, shared by every ISA and variant run on it.
struct GEMMProblem {
    let m: Int, n: Int, k: Int
    let a: [Float]        // m × k
    let b: [Float]        // k × n
    let bias: [Float]     // n
    let residual: [Float] // m × n
    let c0: [Float]       // m × n, C's contents before an accumulating call
    /// naiveGEMM(A, B) with no epilogue.
    let product: [Float]
    /// ‖row i of A‖₂ and ‖column j of B‖₂: by Cauchy–Schwarz their product bounds Σₚ|aᵢₚ·bₚⱼ|, the
    /// scale of float32 rounding error in element (i, j), without a second O(MNK) pass.
    let rowNorms: [Double]
    let columnNorms: [Double]

    init(m: Int, n: Int, k: Int, seed: UInt64) {
        self.m = m; self.n = n; self.k = k
        var random = SeededRandom(seed: seed)
        let aValues = random.uniformArray(count: m * k, bound: 1)
        let bValues = random.uniformArray(count: k * n, bound: 1)
        a = aValues
        b = bValues
        bias = random.uniformArray(count: n, bound: 1)
        residual = random.uniformArray(count: m * n, bound: 1)
        c0 = random.uniformArray(count: m * n, bound: 1)
        var product = [Float](repeating: 0, count: m * n)
        aValues.withUnsafeBufferPointer { ap in
            bValues.withUnsafeBufferPointer { bp in
                product.withUnsafeMutableBufferPointer { cp in
                    naiveGEMM(m: m, n: n, k: k, a: ap.baseAddress!, lda: max(k, 1), b: bp.baseAddress!, ldb: max(n, 1),
                              c: cp.baseAddress!, ldc: max(n, 1))
                }
            }
        }
        self.product = product
        rowNorms = (0..<m).map { i in
            (0..<k).reduce(0.0) { $0 + Double(aValues[i * k + $1]) * Double(aValues[i * k + $1]) }.squareRoot()
        }
        columnNorms = (0..<n).map { j in
            (0..<k).reduce(0.0) { $0 + Double(bValues[$1 * n + j]) * Double(bValues[$1 * n + j]) }.squareRoot()
        }
    }
}

/// Everything about one GEMM call besides the sizes and the ISA.
struct GEMMVariant: CustomStringConvertible {
    var bias = false
    var residual = false
    var activation = GEMMActivation.none
    var accumulate = false
    var prepacked = false
    var threads = 1
    /// Leading dimensions larger than the rows, with NaN in the gaps of A and B (a read there poisons C).
    var strided = false
    var bTransposed = false
    var packA: Bool?
    /// For an unpacked B: packed whole before the tasks (true), per task and block (false), or auto.
    var packBUpfront: Bool?
    /// Tiny MC / KC / NC, so every size splits into several blocks in each loop.
    var smallBlocks = false

    var description: String {
        "bias=\(bias) residual=\(residual) act=\(activation) accumulate=\(accumulate) prepacked=\(prepacked) "
            + "threads=\(threads) strided=\(strided) bT=\(bTransposed) packA=\(packA.map(String.init) ?? "auto") packBUpfront=\(packBUpfront.map(String.init) ?? "auto") smallBlocks=\(smallBlocks)"
    }
}

/// The first mismatch of one run, or nil when C matches the oracle everywhere, its padding and
/// guards are untouched, and the call succeeded.
func checkGEMM(_ problem: GEMMProblem, isa: GEMMISA, variant v: GEMMVariant, pool: ThreadPool) -> String? {
    let (m, n, k) = (problem.m, problem.n, problem.k)
    let pad = v.strided ? 3 : 0
    let lda = max(k, 1) + pad, ldc = max(n, 1) + pad + 1, ldr = max(n, 1) + 2 * pad
    let ldb = v.bTransposed ? max(k, 1) + pad : max(n, 1) + pad
    let nan = Float.nan

    let aBuffer = GuardedBuffer(count: m * lda, fill: nan)
    aBuffer.store(problem.a, rows: m, cols: k, ld: lda)
    let bBuffer = GuardedBuffer(count: (v.bTransposed ? n : k) * ldb, fill: nan)
    if v.bTransposed {
        var bt = [Float](repeating: 0, count: n * k)
        for p in 0..<k { for j in 0..<n { bt[j * k + p] = problem.b[p * n + j] } }
        bBuffer.store(bt, rows: n, cols: k, ld: ldb)
    } else {
        bBuffer.store(problem.b, rows: k, cols: n, ld: ldb)
    }
    let biasBuffer = GuardedBuffer(count: n)
    biasBuffer.store(problem.bias, rows: 1, cols: n, ld: n)
    let residualBuffer = GuardedBuffer(count: m * ldr, fill: nan)
    residualBuffer.store(problem.residual, rows: m, cols: n, ld: ldr)
    let cBuffer = GuardedBuffer(count: m * ldc)
    if v.accumulate { cBuffer.store(problem.c0, rows: m, cols: n, ld: ldc) }

    let epilogue = GEMMEpilogue(bias: v.bias ? UnsafePointer(biasBuffer.pointer) : nil, activation: v.activation,
                                residual: v.residual ? UnsafePointer(residualBuffer.pointer) : nil,
                                residualStride: ldr, accumulate: v.accumulate)
    var options = GEMMOptions()
    options.packA = v.packA
    options.packBUpfront = v.packBUpfront
    if v.smallBlocks {
        // Several MC blocks per task, several K blocks, several NC blocks — whatever the tile shape.
        options.blocking = GEMMBlocking(mc: 2, kc: 16, nc: 1)
    }
    if v.threads > 1 { options.minMACsPerTask = 0 }  // split even the smallest problem
    do {
        if v.prepacked {
            let packed = try PackedMatrixB(k: k, n: n, b: bBuffer.pointer, ldb: ldb, transposed: v.bTransposed, isa: isa,
                                           blocking: options.blocking, threads: v.threads, pool: pool)
            try gemm(m: m, n: n, k: k, a: aBuffer.pointer, lda: lda, packedB: packed, c: cBuffer.pointer, ldc: ldc,
                     epilogue: epilogue, threads: v.threads, pool: pool, options: options)
        } else {
            try gemm(m: m, n: n, k: k, a: aBuffer.pointer, lda: lda, b: bBuffer.pointer, ldb: ldb, bTransposed: v.bTransposed,
                     c: cBuffer.pointer, ldc: ldc, epilogue: epilogue, isa: isa, threads: v.threads, pool: pool, options: options)
        }
    } catch {
        return "threw \(error)"
    }

    // The oracle: naiveGEMM's own epilogue, applied to the precomputed product. K = 0 makes it
    // evaluate exactly act((accumulate ? C : 0) + bias + residual), so starting from C = product
    // (+ c0 when accumulating) gives the full result without another O(MNK) pass.
    var expected = problem.product
    if v.accumulate { for i in 0..<expected.count { expected[i] += problem.c0[i] } }
    expected.withUnsafeMutableBufferPointer { e in
        naiveGEMM(m: m, n: n, k: 0, a: aBuffer.pointer, lda: lda, b: bBuffer.pointer, ldb: ldb, c: e.baseAddress!,
                  ldc: max(n, 1), epilogue: GEMMEpilogue(bias: epilogue.bias, activation: v.activation,
                                                         residual: epilogue.residual, residualStride: ldr, accumulate: true))
    }

    let unit = Double(Float.ulpOfOne)  // 2⁻²³: twice the unit roundoff, a margin for the oracle's own roundings
    for i in 0..<m {
        for j in 0..<ldc {
            let got = cBuffer.pointer[i * ldc + j]
            if j >= n {
                if got != GuardedBuffer.sentinel { return "padding of C overwritten at (\(i), \(j))" }
                continue
            }
            var scale = problem.rowNorms[i] * problem.columnNorms[j]
            if v.bias { scale += Double(abs(problem.bias[j])) }
            if v.residual { scale += Double(abs(problem.residual[i * n + j])) }
            if v.accumulate { scale += Double(abs(problem.c0[i * n + j])) }
            let tolerance = Double(k + 3) * unit * scale + 1e-30
            let want = expected[i * n + j]
            if !(abs(Double(got) - Double(want)) <= tolerance) {
                return "C[\(i)][\(j)] = \(got), expected \(want) (tolerance \(tolerance))"
            }
        }
    }
    if !cBuffer.guardsIntact { return "write outside C" }
    return nil
}
