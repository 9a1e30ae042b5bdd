/// Caller-owned scratch for GEMM calls, so that a runtime which calls GEMM many times per inference
/// allocates it once (an inference then makes no heap allocation at all).
public enum GEMMWorkspace {
    /// Floats one task packs A into: one MC × KC block.
    static func floatsPerTask(_ blocking: GEMMBlocking) -> Int { blocking.mc * blocking.kc }

    /// Floats a workspace must hold for a call with `packedB` on up to `threads` threads. A call
    /// splits into at most 2·threads − 1 tasks (see `GEMMDriver.run`), each with its own block.
    public static func floats(threads: Int, packedB: PackedMatrixB) throws(GEMMError) -> Int {
        let kernels = try GEMMKernels(packedB.isa)
        var blocking = GEMMBlocking.forKernel(mr: kernels.mr, nr: kernels.nr)
        blocking.kc = packedB.kc
        blocking.mc = max(kernels.mr, blocking.mc / kernels.mr * kernels.mr)
        return max(1, 2 * threads - 1) * floatsPerTask(blocking)
    }
}

/// C[M×N] = A[M×K] · B (prepacked) then the epilogue, packing A (when it pays) into `workspace`
/// instead of allocating: `workspace` must hold `GEMMWorkspace.floats(threads:packedB:)` floats and
/// must not be used by another call at the same time.
public func gemm(m: Int, n: Int, k: Int,
                 a: UnsafePointer<Float>, lda: Int,
                 packedB: PackedMatrixB,
                 c: UnsafeMutablePointer<Float>, ldc: Int,
                 epilogue: GEMMEpilogue = .none,
                 threads: Int = 1, pool: ThreadPool? = nil,
                 workspace: UnsafeMutablePointer<Float>) throws(GEMMError) {
    var options = GEMMOptions()
    options.workspace = workspace
    try gemm(m: m, n: n, k: k, a: a, lda: lda, packedB: packedB, c: c, ldc: ldc, epilogue: epilogue,
             threads: threads, pool: pool, options: options)
}
