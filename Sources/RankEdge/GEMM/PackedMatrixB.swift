import CRankEdgeKernels

/// The B operand of C = A·B packed once into the micro-kernel's NR-wide, zero-padded panels, for
/// operands used many times (weights). Packing costs one pass over B; a GEMM with a prepacked B
/// skips it, which matters most for the thin, small-M GEMMs of low-rank layers.
///
/// Layout: K is cut into blocks of `kc` rows; block b (rows k0..<k0+kcb) holds ceil(N/NR) panels,
/// each kcb × NR floats, element (p, j) at p·NR + j. Immutable after init, so it may be shared
/// between threads.
public final class PackedMatrixB: @unchecked Sendable {
    public let k: Int
    public let n: Int
    public let isa: GEMMISA
    /// The K block depth the panels were cut at (the GEMM uses the same).
    public let kc: Int
    let nr: Int
    let panelCount: Int
    private let storage: AlignedFloatBuffer
    private let fromScratch: Bool

    /// Packs B, a K × N row-major matrix with leading dimension `ldb` (≥ N); or, with `transposed`,
    /// B stored as its N × K transpose with leading dimension `ldb` (≥ K), which is how conv and
    /// linear weights are stored ([out channels × in features]).
    /// - Parameters:
    ///   - isa: the kernels this packing is for (nil: `RANKEDGE_ISA` or the native ISA).
    ///   - blocking: overrides the cache-derived blocking (tests use it to force several K blocks).
    ///   - threads, pool: packing a large B is split over K blocks and runs of panels.
    public convenience init(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transposed: Bool = false,
                            isa: GEMMISA? = nil, blocking: GEMMBlocking? = nil,
                            threads: Int = 1, pool: ThreadPool? = nil) throws(GEMMError) {
        try self.init(k: k, n: n, b: b, ldb: ldb, transposed: transposed, isa: isa, blocking: blocking,
                      threads: threads, pool: pool, scratch: false)
    }

    /// `scratch`: storage comes from (and returns to) `ScratchBuffers`, for a B packed for one call.
    init(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transposed: Bool,
         isa: GEMMISA?, blocking: GEMMBlocking?, threads: Int, pool: ThreadPool?, scratch: Bool) throws(GEMMError) {
        guard k >= 0, n >= 0 else { throw .invalidArgument("negative size k=\(k) n=\(n)") }
        if transposed {
            guard ldb >= max(k, 1) else { throw .invalidArgument("ldb=\(ldb) < k=\(k) for transposed B") }
        } else {
            guard ldb >= max(n, 1) else { throw .invalidArgument("ldb=\(ldb) < n=\(n)") }
        }
        let (kn, overflow) = max(k, 1).multipliedReportingOverflow(by: n + 64)
        guard !overflow, !kn.multipliedReportingOverflow(by: 4).overflow else {
            throw .invalidArgument("sizes k=\(k) n=\(n) are too large")
        }
        let resolved = try GEMMISA.resolve(isa)
        let kernels = try GEMMKernels(resolved)
        self.k = k
        self.n = n
        self.isa = resolved
        self.nr = kernels.nr
        if let blocking {
            self.kc = max(1, blocking.kc)
        } else {
            let maxKC = GEMMBlocking.forKernel(mr: kernels.mr, nr: kernels.nr).kc
            self.kc = max(1, GEMMBlocking.balancedKC(k: k, maxKC: maxKC))
        }
        self.panelCount = (n + kernels.nr - 1) / kernels.nr
        let floats = k * panelCount * kernels.nr
        storage = scratch ? ScratchBuffers.shared.take(count: floats) : AlignedFloatBuffer(count: floats)
        fromScratch = scratch

        let blockCount = (k + kc - 1) / kc
        // One task per (K block, run of panels); runs of at least 8 panels keep tasks worth a wake-up.
        let panelsPerTask = max(8, (panelCount + 3) / 4)
        let runsPerBlock = max(1, (panelCount + panelsPerTask - 1) / panelsPerTask)
        let taskCount = blockCount * runsPerBlock
        let work = k * n
        let pool = pool ?? .shared
        let useThreads = work >= 1 << 16 ? threads : 1
        let (kc, nr, dst, packB) = (self.kc, self.nr, storage.pointer, kernels.packB)
        pool.parallelFor(taskCount, threads: useThreads) { task in
            let block = task / runsPerBlock, run = task % runsPerBlock
            let k0 = block * kc, kcb = min(kc, k - k0)
            let firstPanel = run * panelsPerTask
            let panels = min(panelsPerTask, panelCount - firstPanel)
            guard panels > 0 else { return }
            let j0 = firstPanel * nr, cols = min(panels * nr, n - j0)
            let out = dst + k0 * panelCount * nr + firstPanel * kcb * nr
            if transposed {
                re_pack_b_transposed(nr, kcb, cols, b + j0 * ldb + k0, ldb, out)
            } else {
                packB(kcb, cols, b + k0 * ldb + j0, ldb, out)
            }
        }
    }

    /// Adopts panels packed earlier (by the initializer above, on any machine, for the same ISA
    /// and `kc`), as a compiled model stores them: loading then moves bytes but transforms nothing.
    /// `packed` must hold `PackedMatrixB.packedCount(k:n:isa:)` floats.
    public init(prepacked packed: UnsafeBufferPointer<Float>, k: Int, n: Int, kc: Int, isa: GEMMISA) throws(GEMMError) {
        guard k >= 0, n >= 0, kc >= 1 else { throw .invalidArgument("invalid packed sizes k=\(k) n=\(n) kc=\(kc)") }
        let kernels = try GEMMKernels(isa)
        let panelCount = (n + kernels.nr - 1) / kernels.nr
        guard packed.count == k * panelCount * kernels.nr else {
            throw .packedMatrixMismatch("\(packed.count) packed floats for k=\(k) n=\(n), expected \(k * panelCount * kernels.nr)")
        }
        self.k = k
        self.n = n
        self.isa = isa
        self.nr = kernels.nr
        self.kc = kc
        self.panelCount = panelCount
        storage = AlignedFloatBuffer(count: packed.count)
        fromScratch = false
        if let base = packed.baseAddress { storage.pointer.update(from: base, count: packed.count) }
    }

    /// Floats the packed panels of a K × N matrix take for `isa`'s kernels (N padded to NR).
    public static func packedCount(k: Int, n: Int, isa: GEMMISA) throws(GEMMError) -> Int {
        let nr = try GEMMKernels(isa).nr
        return k * ((n + nr - 1) / nr) * nr
    }

    /// The packed panels, for storing in a compiled model.
    public var packedFloats: UnsafeBufferPointer<Float> {
        UnsafeBufferPointer(start: storage.pointer, count: k * panelCount * nr)
    }
    /// Bytes of packed storage (K × N rounded up to whole panels), for memory planning.
    public var byteCount: Int { k * panelCount * nr * MemoryLayout<Float>.size }

    deinit {
        if fromScratch { ScratchBuffers.shared.give(storage) } else { storage.deallocate() }
    }

    /// The panel holding columns panel·NR ..< panel·NR + NR of the K block starting at row k0; the
    /// block's following panels come after it, kcb·NR floats apart.
    @inline(__always)
    func panel(k0: Int, panel: Int) -> UnsafePointer<Float> {
        let kcb = min(kc, k - k0)
        return UnsafePointer(storage.pointer + k0 * panelCount * nr + panel * kcb * nr)
    }
}
