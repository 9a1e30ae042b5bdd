/// C[M×N] = A[M×K] · B[K×N], then the epilogue (see `GEMMEpilogue`), all row-major with leading
/// dimensions (lda ≥ K, ldb ≥ N, ldc ≥ N; with `bTransposed`, B is given as its N × K transpose
/// and ldb ≥ K). B is packed for this call only; for a B used many times (weights), pack it once
/// with `PackedMatrixB` and call the `packedB:` overload.
///
/// - Parameters:
///   - isa: the micro-kernels to use; nil takes `RANKEDGE_ISA` or, when unset, `GEMMISA.native`.
///   - threads: how many threads may work on the call (the caller is one of them). Small problems
///     use fewer: a task must carry enough work to be worth waking a thread.
///   - pool: the persistent threads to use; nil means `ThreadPool.shared`.
/// - Throws: `GEMMError` for negative sizes, too-small leading dimensions, or an ISA this CPU
///   cannot run. Pointers are trusted to cover the sizes given; C must not overlap A, B, the bias
///   or the residual (C is written block by block while they are still being read).
public func gemm(m: Int, n: Int, k: Int,
                 a: UnsafePointer<Float>, lda: Int,
                 b: UnsafePointer<Float>, ldb: Int, bTransposed: Bool = false,
                 c: UnsafeMutablePointer<Float>, ldc: Int,
                 epilogue: GEMMEpilogue = .none, isa: GEMMISA? = nil,
                 threads: Int = 1, pool: ThreadPool? = nil) throws(GEMMError) {
    try gemm(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, bTransposed: bTransposed, c: c, ldc: ldc,
             epilogue: epilogue, isa: isa, threads: threads, pool: pool, options: GEMMOptions())
}

/// C[M×N] = A[M×K] · B (prepacked, K × N) then the epilogue; as the unpacked overload, with the
/// ISA and K blocking taken from `packedB`.
public func gemm(m: Int, n: Int, k: Int,
                 a: UnsafePointer<Float>, lda: Int,
                 packedB: PackedMatrixB,
                 c: UnsafeMutablePointer<Float>, ldc: Int,
                 epilogue: GEMMEpilogue = .none,
                 threads: Int = 1, pool: ThreadPool? = nil) throws(GEMMError) {
    try gemm(m: m, n: n, k: k, a: a, lda: lda, packedB: packedB, c: c, ldc: ldc, epilogue: epilogue,
             threads: threads, pool: pool, options: GEMMOptions())
}

func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
          b: UnsafePointer<Float>, ldb: Int, bTransposed: Bool,
          c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue, isa: GEMMISA?,
          threads: Int, pool: ThreadPool?, options: GEMMOptions) throws(GEMMError) {
    try validate(m: m, n: n, k: k, lda: lda, ldc: ldc, epilogue: epilogue, threads: threads)
    guard ldb >= max(bTransposed ? k : n, 1) else {
        throw .invalidArgument("ldb=\(ldb) < \(bTransposed ? "k=\(k) for transposed B" : "n=\(n)")")
    }
    let kernels = try GEMMKernels(GEMMISA.resolve(isa))
    if m == 0 || n == 0 { return }
    let driver = GEMMDriver(m: m, n: n, k: k, a: a, lda: lda, b: .raw(b, ld: ldb, transposed: bTransposed),
                            c: c, ldc: ldc, epilogue: epilogue, kernels: kernels, options: options)
    try driver.run(threads: threads, pool: pool ?? .shared, options: options)
}

func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packedB: PackedMatrixB,
          c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue,
          threads: Int, pool: ThreadPool?, options: GEMMOptions) throws(GEMMError) {
    try validate(m: m, n: n, k: k, lda: lda, ldc: ldc, epilogue: epilogue, threads: threads)
    guard packedB.k == k, packedB.n == n else {
        throw .packedMatrixMismatch("packed B is \(packedB.k)×\(packedB.n), the call needs \(k)×\(n)")
    }
    let kernels = try GEMMKernels(packedB.isa)
    if m == 0 || n == 0 { return }
    let driver = GEMMDriver(m: m, n: n, k: k, a: a, lda: lda, b: .packed(packedB), c: c, ldc: ldc,
                            epilogue: epilogue, kernels: kernels, options: options)
    try driver.run(threads: threads, pool: pool ?? .shared, options: options)
}

/// Rows 0..<m of C against the B panels `panels` only (columns panels·NR up to N), on the calling
/// thread: one share of a column split made by the caller, for layers with few output pixels and
/// many channels, where splitting rows would stream all of B once per share.
/// `aPanels`: A is already packed in MR-row panels over all of K (`Im2col.fillPanels`); lda is
/// then ignored.
func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, aPanels: Bool = false, packedB: PackedMatrixB,
          panels: Range<Int>, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue) throws(GEMMError) {
    try validate(m: m, n: n, k: k, lda: aPanels ? max(k, 1) : lda, ldc: ldc, epilogue: epilogue, threads: 1)
    guard packedB.k == k, packedB.n == n else {
        throw .packedMatrixMismatch("packed B is \(packedB.k)×\(packedB.n), the call needs \(k)×\(n)")
    }
    guard panels.lowerBound >= 0, panels.upperBound <= packedB.panelCount else {
        throw .invalidArgument("panels \(panels) outside 0..<\(packedB.panelCount)")
    }
    let kernels = try GEMMKernels(packedB.isa)
    if m == 0 || panels.isEmpty { return }
    let driver = GEMMDriver(m: m, n: n, k: k, a: a, lda: lda, aPanels: aPanels, b: .packed(packedB), c: c, ldc: ldc,
                            epilogue: epilogue, kernels: kernels, options: GEMMOptions())
    driver.runTask(rows: 0..<m, panels: panels)
}

private func validate(m: Int, n: Int, k: Int, lda: Int, ldc: Int, epilogue: GEMMEpilogue, threads: Int) throws(GEMMError) {
    guard m >= 0, n >= 0, k >= 0 else { throw .invalidArgument("negative size m=\(m) n=\(n) k=\(k)") }
    // lda < K is allowed: rows of A may overlap, as when a stride-1 convolution reads its padded
    // input as shifted rows (A must then cover (M − 1)·lda + K floats).
    guard lda >= 1 else { throw .invalidArgument("lda=\(lda) < 1") }
    guard ldc >= max(n, 1) else { throw .invalidArgument("ldc=\(ldc) < n=\(n)") }
    guard threads >= 1 else { throw .invalidArgument("threads=\(threads) < 1") }
    // Work and buffer sizes are computed as M·N·K and K·N products; refuse sizes where they overflow.
    let (mn, o1) = m.multipliedReportingOverflow(by: n)
    let (mnk, o2) = mn.multipliedReportingOverflow(by: max(k, 1))
    let (kn, o3) = max(k, 1).multipliedReportingOverflow(by: n + 64)
    guard !o1, !o2, !o3, !kn.multipliedReportingOverflow(by: 4).overflow, !mnk.multipliedReportingOverflow(by: 2).overflow else {
        throw .invalidArgument("sizes m=\(m) n=\(n) k=\(k) are too large")
    }
    if epilogue.residual != nil {
        let stride = epilogue.residualStride == 0 ? ldc : epilogue.residualStride
        guard stride >= n else { throw .invalidArgument("residualStride=\(stride) < n=\(n)") }
    }
}
