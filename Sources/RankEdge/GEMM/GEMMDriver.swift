import CRankEdgeKernels

/// Knobs below the public API. The defaults are the tuned heuristics; tests override them to reach
/// every path (several K blocks, packed and unpacked A, both ways of packing B, threading on small
/// problems).
struct GEMMOptions {
    /// nil: derived from the cache sizes.
    var blocking: GEMMBlocking?
    /// nil: decided per call (see `GEMMDriver.shouldPackA`); true / false forces it.
    var packA: Bool?
    /// For an unpacked B: nil decides per call; true packs all of B before the tasks start (shared
    /// by them), false has each task pack the B blocks it needs just before using them.
    var packBUpfront: Bool?
    /// Multiply-adds below which splitting off another task costs more than it saves.
    var minMACsPerTask = 1 << 17
}

/// Where the driver finds B.
enum GEMMOperandB {
    case packed(PackedMatrixB)
    /// Row-major K × N (or N × K when transposed) with leading dimension `ld`, packed block by block.
    case raw(UnsafePointer<Float>, ld: Int, transposed: Bool)
}

/// The loops around the micro-kernel for one C = A·B (+ epilogue).
///
/// `run` splits C into tasks (rows, or columns when M is small) for the thread pool. Each task runs
/// the BLIS loop nest over its share of C:
///
///     for jc in columns, step NC            B block kc × NC: L3 (packed here unless B came packed)
///       for k0 in 0..<K, step KC            (the epilogue is applied on the last K block only)
///         for ic in rows, step MC           A block MC × KC: packed into L2-sized scratch, or read in place
///           for jr in jc block, step NR     B micro-panel: stays in L1 across the ir loop
///             for ir in ic block, step MR   micro-kernel (re_gemm_panel runs this loop in C and
///                                           prefetches the next B micro-panel meanwhile)
///
/// Two shapes reorder it. When the task's rows fit one MC block (small M: late conv layers), the
/// K loop goes outside and B is cut into L2-sized blocks, so A is packed once per K block instead
/// of once per B block. When a B block fits in L1 (thin N: low-rank layers), ir goes outside jr,
/// so each A row is read once.
struct GEMMDriver {
    let m: Int, n: Int, k: Int
    let a: UnsafePointer<Float>, lda: Int
    let b: GEMMOperandB
    let c: UnsafeMutablePointer<Float>, ldc: Int
    let epilogue: GEMMEpilogue
    let residualStride: Int
    let kernels: GEMMKernels
    let blocking: GEMMBlocking
    let packA: Bool
    /// A arrived packed: MR-row panels over all of K (panel q at a + q·MR·K, as `Im2col.fillPanels`
    /// writes them), so a K block is a slice of every panel and nothing is packed here.
    let aPanels: Bool
    let panelCount: Int

    init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, aPanels: Bool = false, b: GEMMOperandB,
         c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue, kernels: GEMMKernels, options: GEMMOptions) {
        var blocking = options.blocking ?? GEMMBlocking.forKernel(mr: kernels.mr, nr: kernels.nr)
        if case .packed(let packed) = b {
            blocking.kc = packed.kc  // B's panels were cut at this depth
        } else if options.blocking == nil {
            blocking.kc = GEMMBlocking.balancedKC(k: k, maxKC: blocking.kc)
        }
        blocking.kc = max(1, blocking.kc)
        blocking.mc = max(kernels.mr, blocking.mc / kernels.mr * kernels.mr)
        blocking.nc = max(kernels.nr, blocking.nc / kernels.nr * kernels.nr)
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda
        self.b = b
        self.c = c; self.ldc = ldc
        self.epilogue = epilogue
        self.residualStride = epilogue.residualStride == 0 ? ldc : epilogue.residualStride
        self.kernels = kernels
        self.blocking = blocking
        self.aPanels = aPanels
        self.packA = !aPanels && (options.packA ?? Self.shouldPackA(n: n, nr: kernels.nr))
        self.panelCount = (n + kernels.nr - 1) / kernels.nr
    }

    /// Packing A costs a pass over it; it pays when each A panel is reused by many B panels.
    /// For thin outputs (the N = 16…64 of low-rank layers) the kernel reads A in place instead.
    /// Measured on Zen 3: reading A in place wins up to 4 panels (N ≤ 64) and is even beyond.
    static func shouldPackA(n: Int, nr: Int) -> Bool {
        let panels = (n + nr - 1) / nr
        return panels > 4
    }

    /// Splits C into tasks and runs them on `threads` threads of `pool`.
    func run(threads: Int, pool: ThreadPool, options: GEMMOptions) throws(GEMMError) {
        let mr = kernels.mr
        let mTiles = (m + mr - 1) / mr
        let macs = m * n * max(k, 1)
        let maxTasks = max(1, macs / max(options.minMACsPerTask, 1))
        let threadsUsed = min(threads, maxTasks, mTiles * panelCount)
        // Two tasks per thread where the work allows, so a thread slowed by other load takes fewer.
        let tasks = min(threadsUsed > 1 ? 2 * threadsUsed : 1, maxTasks, mTiles * panelCount)
        var (tm, tn) = Self.grid(tasks: tasks, mTiles: mTiles, nPanels: panelCount, m: m, n: n, k: k, mc: blocking.mc)
        if tm > 1, tn == 1 {
            // Row tasks cost nothing extra (each packs only its own A rows): no larger than MC.
            let perThread = (m + blocking.mc * threadsUsed - 1) / (blocking.mc * threadsUsed)
            tm = min(mTiles, max(tm, threadsUsed * perThread))
        }

        // Tasks that split M all need every B block: pack B once, together, before they start.
        // Otherwise each task packs its own B blocks as it goes, so they are hot in cache when used.
        if case .raw(let bRaw, let ldb, let transposed) = b, options.packBUpfront ?? (tm > 1) {
            let packed = try PackedMatrixB(k: k, n: n, b: bRaw, ldb: ldb, transposed: transposed, isa: kernels.isa,
                                           blocking: blocking, threads: threads, pool: pool, scratch: true)
            var options = options
            options.packBUpfront = false
            let driver = GEMMDriver(m: m, n: n, k: k, a: a, lda: lda, aPanels: aPanels, b: .packed(packed), c: c, ldc: ldc,
                                    epilogue: epilogue, kernels: kernels, options: options)
            driver.runTasks(tm: tm, tn: tn, threads: threads, pool: pool)
            return
        }
        runTasks(tm: tm, tn: tn, threads: threads, pool: pool)
    }

    private func runTasks(tm: Int, tn: Int, threads: Int, pool: ThreadPool) {
        let mTiles = (m + kernels.mr - 1) / kernels.mr
        let rowsPerTask = (mTiles + tm - 1) / tm * kernels.mr
        let panelsPerTask = (panelCount + tn - 1) / tn
        let rowTasks = (m + rowsPerTask - 1) / rowsPerTask
        let colTasks = (panelCount + panelsPerTask - 1) / panelsPerTask
        pool.parallelFor(rowTasks * colTasks, threads: threads) { task in
            let row0 = (task % rowTasks) * rowsPerTask
            let panel0 = (task / rowTasks) * panelsPerTask
            runTask(rows: row0..<min(m, row0 + rowsPerTask),
                    panels: panel0..<min(panelCount, panel0 + panelsPerTask))
        }
    }

    /// The tm × tn split of C into `tasks` pieces that moves the least memory: each column split
    /// re-reads (and re-packs) all of A, each row split beyond the MC blocks re-streams all of B.
    static func grid(tasks: Int, mTiles: Int, nPanels: Int, m: Int, n: Int, k: Int, mc: Int) -> (Int, Int) {
        guard tasks > 1 else { return (1, 1) }
        var best = (1, 1), bestCost = Int.max, bestCount = 0
        for tm in 1...tasks where tm <= mTiles {
            let tn = min((tasks + tm - 1) / tm, nPanels)
            let count = min(tm * tn, tasks)
            let aTraffic = tn * m * k
            let bTraffic = max(tm, (m + mc - 1) / mc) * k * n
            let cost = aTraffic + bTraffic
            // Prefer using every thread; among full splits, the cheapest.
            if count > bestCount || (count == bestCount && cost < bestCost) {
                best = (tm, tn); bestCost = cost; bestCount = count
            }
        }
        return best
    }

    /// What the micro-kernel calls of one (K block, MC block) share.
    struct KBlock {
        let kc: Int
        let flags: UInt32
        let last: Bool
        /// The packed A block, or nil when A is read in place from `aRows`.
        var a: UnsafePointer<Float>?
        /// Floats between the block's A panels (0: kc·MR, a block packed here).
        var aPanelStride = 0
        let aRows: UnsafePointer<Float>
        let ic: Int
        let mc: Int
        /// Panel `firstPanel` of the K block; the following ones are kc·NR floats apart.
        let b: UnsafePointer<Float>
        let firstPanel: Int
    }

    /// One rectangle of C: rows `rows`, columns of B panels `panels`.
    func runTask(rows: Range<Int>, panels: Range<Int>) {
        let (mr, nr) = (kernels.mr, kernels.nr)
        let kcMax = blocking.kc
        let kcCap = min(kcMax, max(k, 1))
        // Balanced MC blocks: 256 rows become 132 + 124, not 252 + 4.
        let mBlocks = (rows.count + blocking.mc - 1) / blocking.mc
        let mc = ((rows.count + mBlocks - 1) / mBlocks + mr - 1) / mr * mr
        // With a single MC block nothing reuses a B block across row blocks, so B is cut into
        // blocks small enough to stay in L2 next to the A block, and A is packed once per K block.
        let ncPanels = mBlocks == 1
            ? max(1, CPUCaches.current.l2 / 4 / (kcCap * nr * MemoryLayout<Float>.size))
            : blocking.nc / nr
        let aScratch: AlignedFloatBuffer? = packA ? ScratchBuffers.shared.take(count: mc * kcCap) : nil
        var bScratch: AlignedFloatBuffer?
        if case .raw = b { bScratch = ScratchBuffers.shared.take(count: min(ncPanels, panels.count) * nr * kcCap) }
        defer {
            if let aScratch { ScratchBuffers.shared.give(aScratch) }
            if let bScratch { ScratchBuffers.shared.give(bScratch) }
        }

        if mBlocks == 1 {
            forEachKBlock { k0, kc, flags, last in
                let aRows = a + rows.lowerBound * lda + k0
                if let aScratch { kernels.packA(rows.count, kc, aRows, lda, aScratch.pointer) }
                var jc = panels.lowerBound
                while jc < panels.upperBound {
                    let jcEnd = min(jc + ncPanels, panels.upperBound)
                    var block = KBlock(kc: kc, flags: flags, last: last, a: aScratch.map { UnsafePointer($0.pointer) },
                                       aRows: aRows, ic: rows.lowerBound, mc: rows.count,
                                       b: bBlock(k0: k0, kc: kc, panels: jc..<jcEnd, scratch: bScratch), firstPanel: jc)
                    if aPanels { (block.a, block.aPanelStride) = panelSlice(firstRow: rows.lowerBound, k0: k0) }
                    computeBlock(block, panels: jc..<jcEnd)
                    jc = jcEnd
                }
            }
            return
        }

        var jc = panels.lowerBound
        while jc < panels.upperBound {
            let jcEnd = min(jc + ncPanels, panels.upperBound)
            forEachKBlock { k0, kc, flags, last in
                let bPanels = bBlock(k0: k0, kc: kc, panels: jc..<jcEnd, scratch: bScratch)
                var ic = rows.lowerBound
                while ic < rows.upperBound {
                    let rowsHere = min(mc, rows.upperBound - ic)
                    let aRows = a + ic * lda + k0
                    if let aScratch { kernels.packA(rowsHere, kc, aRows, lda, aScratch.pointer) }
                    var block = KBlock(kc: kc, flags: flags, last: last, a: aScratch.map { UnsafePointer($0.pointer) },
                                       aRows: aRows, ic: ic, mc: rowsHere, b: bPanels, firstPanel: jc)
                    if aPanels { (block.a, block.aPanelStride) = panelSlice(firstRow: ic, k0: k0) }
                    computeBlock(block, panels: jc..<jcEnd)
                    ic += rowsHere
                }
            }
            jc = jcEnd
        }
    }

    /// With `aPanels`: where K block k0 of the panels from row `firstRow` (a multiple of MR) starts,
    /// and the distance between those panels.
    @inline(__always)
    private func panelSlice(firstRow: Int, k0: Int) -> (UnsafePointer<Float>?, Int) {
        (a + firstRow * k + k0 * kernels.mr, kernels.mr * k)
    }

    /// Calls `body(k0, kc, flags, isLast)` for each K block, at least once (with K = 0 the epilogue
    /// still defines C). Only the last block applies the epilogue; every block after the first
    /// accumulates into C.
    @inline(__always)
    private func forEachKBlock(_ body: (Int, Int, UInt32, Bool) -> Void) {
        let actBits = epilogue.activation.cValue << UInt32(RE_FLAGS_ACTIVATION_SHIFT)
        var k0 = 0
        repeat {
            let kc = min(blocking.kc, k - k0)
            let last = k0 + kc >= k
            var flags: UInt32 = (k0 > 0 || epilogue.accumulate) ? UInt32(RE_FLAG_ACCUMULATE) : 0
            if last { flags |= UInt32(RE_FLAG_EPILOGUE) | actBits }
            body(k0, kc, flags, last)
            k0 += blocking.kc
        } while k0 < k
    }

    /// The first of `panels` in K block k0 (the others follow, kc·NR floats apart): from the
    /// prepacked B, or packed now into `scratch`.
    @inline(__always)
    private func bBlock(k0: Int, kc: Int, panels: Range<Int>, scratch: AlignedFloatBuffer?) -> UnsafePointer<Float> {
        switch b {
        case .packed(let packed):
            return packed.panel(k0: k0, panel: panels.lowerBound)
        case .raw(let bRaw, let ldb, let transposed):
            let nr = kernels.nr
            let j0 = panels.lowerBound * nr, cols = min(panels.upperBound * nr, n) - j0
            let dst = scratch!.pointer
            if transposed {
                re_pack_b_transposed(nr, kc, cols, bRaw + j0 * ldb + k0, ldb, dst)
            } else {
                kernels.packB(kc, cols, bRaw + k0 * ldb + j0, ldb, dst)
            }
            return UnsafePointer(dst)
        }
    }

    /// Every tile of one (K block, row block) against `panels`.
    @inline(__always)
    private func computeBlock(_ block: KBlock, panels: Range<Int>) {
        let nr = kernels.nr
        let (a, aStride) = block.a.map { ($0, 0) } ?? (block.aRows, lda)
        let cRow = c + block.ic * ldc
        let residualRow = block.last ? epilogue.residual.map { $0 + block.ic * residualStride } : nil
        // When the B panels fit in L1 (thin N), sweep them inside each row tile: every A row is
        // then read once, while B stays in L1 regardless.
        let bBytes = block.kc * panels.count * nr * MemoryLayout<Float>.size
        if bBytes <= CPUCaches.current.l1d / 2 {
            let j = panels.lowerBound * nr
            re_gemm_block_by_rows(kernels.table, block.kc, block.mc, a, aStride, block.aPanelStride, block.b, min(panels.upperBound * nr, n) - j,
                                  cRow + j, ldc, block.flags, block.last ? epilogue.bias.map { $0 + j } : nil,
                                  residualRow.map { $0 + j }, residualStride)
        } else {
            // One C call per panel runs its row tiles and prefetches the next panel meanwhile.
            for panel in panels {
                let j = panel * nr
                let bPanel = block.b + (panel - block.firstPanel) * block.kc * nr
                let bNext = panel + 1 < panels.upperBound ? bPanel + block.kc * nr : nil
                re_gemm_panel(kernels.table, block.kc, block.mc, a, aStride, block.aPanelStride, bPanel, bNext, cRow + j, ldc,
                              min(nr, n - j), block.flags, block.last ? epilogue.bias.map { $0 + j } : nil,
                              residualRow.map { $0 + j }, residualStride)
            }
        }
        // The block of C is finished and still in L1/L2: the activation function goes over it now.
        if block.last, let f = epilogue.activation.function {
            let j0 = panels.lowerBound * nr, j1 = min(panels.upperBound * nr, n)
            for row in 0..<block.mc { f.apply(cRow + row * ldc + j0, cRow + row * ldc + j0, count: j1 - j0, isa: kernels.isa) }
        }
    }
}
