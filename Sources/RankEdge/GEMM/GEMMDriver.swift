import CRankEdgeKernels

/// Knobs below the public API. The defaults are the tuned heuristics; tests override them to reach
/// every path (several K blocks, packed and unpacked A, threading on small problems).
struct GEMMOptions {
    /// nil: derived from the cache sizes.
    var blocking: GEMMBlocking?
    /// nil: decided per call (see `GEMMDriver.shouldPackA`); true / false forces it.
    var packA: Bool?
    /// Multiply-adds below which splitting off another task costs more than it saves.
    var minMACsPerTask = 1 << 17
    /// Caller-owned space for packing A, `GEMMWorkspace.floatsPerTask` floats per task; nil: each
    /// task allocates its own. The runtime passes one so that an inference allocates nothing.
    var workspace: UnsafeMutablePointer<Float>?
}

/// The loops around the micro-kernel for one C = A·B (+ epilogue) with B already packed.
///
/// Loop nest per task (BLIS order; rows and columns are the task's share of C):
///
///     for jc in columns, step NC            B block kc × NC: L3
///       for k0 in 0..<K, step KC            (the epilogue is applied on the last K block only)
///         for ic in rows, step MC           A block MC × KC: packed into L2-sized scratch, or read in place
///           for jr in jc block, step NR     B micro-panel: stays in L1 across the ir loop
///             for ir in ic block, step MR   micro-kernel: MR × NR tile of C in registers
struct GEMMDriver {
    let m: Int, n: Int, k: Int
    let a: UnsafePointer<Float>, lda: Int
    let packedB: PackedMatrixB
    let c: UnsafeMutablePointer<Float>, ldc: Int
    let epilogue: GEMMEpilogue
    let residualStride: Int
    let kernels: GEMMKernels
    let blocking: GEMMBlocking
    let packA: Bool
    let workspace: UnsafeMutablePointer<Float>?

    init(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, packedB: PackedMatrixB,
         c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GEMMEpilogue, options: GEMMOptions) throws(GEMMError) {
        let kernels = try GEMMKernels(packedB.isa)
        var blocking = options.blocking ?? GEMMBlocking.forKernel(mr: kernels.mr, nr: kernels.nr)
        blocking.kc = packedB.kc  // B's panels were cut at this depth
        blocking.mc = max(kernels.mr, blocking.mc / kernels.mr * kernels.mr)
        blocking.nc = max(kernels.nr, blocking.nc / kernels.nr * kernels.nr)
        self.m = m; self.n = n; self.k = k
        self.a = a; self.lda = lda
        self.packedB = packedB
        self.c = c; self.ldc = ldc
        self.epilogue = epilogue
        self.residualStride = epilogue.residualStride == 0 ? ldc : epilogue.residualStride
        self.kernels = kernels
        self.blocking = blocking
        self.packA = options.packA ?? Self.shouldPackA(n: n, nr: kernels.nr, lda: lda)
        self.workspace = options.workspace
    }

    /// Packing A costs a pass over it; it pays when each A panel is reused by many B panels.
    /// For thin outputs (the N = 16…64 of low-rank layers) the kernel reads A in place instead.
    static func shouldPackA(n: Int, nr: Int, lda: Int) -> Bool {
        let panels = (n + nr - 1) / nr
        return panels > 4
    }

    /// Splits C into tasks and runs them on `threads` threads of `pool`.
    func run(threads: Int, pool: ThreadPool, minMACsPerTask: Int) {
        let mr = kernels.mr
        let mTiles = (m + mr - 1) / mr, nPanels = packedB.panelCount
        let macs = m * n * max(k, 1)
        let wanted = min(threads, max(1, macs / max(minMACsPerTask, 1)), mTiles * nPanels)
        let (tm, tn) = Self.grid(tasks: wanted, mTiles: mTiles, nPanels: nPanels, m: m, n: n, k: k, mc: blocking.mc)
        let rowsPerTask = (mTiles + tm - 1) / tm * mr
        let panelsPerTask = (nPanels + tn - 1) / tn
        let rowTasks = (m + rowsPerTask - 1) / rowsPerTask
        let colTasks = (nPanels + panelsPerTask - 1) / panelsPerTask
        pool.parallelFor(rowTasks * colTasks, threads: threads) { task in
            let row0 = (task % rowTasks) * rowsPerTask
            let panel0 = (task / rowTasks) * panelsPerTask
            runTask(task: task, rows: row0..<min(m, row0 + rowsPerTask),
                    panels: panel0..<min(nPanels, panel0 + panelsPerTask))
        }
    }

    /// The tm × tn split of C into `tasks` pieces that moves the least memory: each column split
    /// re-reads (and re-packs) all of A, each row split beyond the MC blocks re-streams all of B.
    static func grid(tasks: Int, mTiles: Int, nPanels: Int, m: Int, n: Int, k: Int, mc: Int) -> (Int, Int) {
        guard tasks > 1 else { return (1, 1) }
        var best = (1, 1), bestCost = Int.max, bestCount = 0
        for tm in 1...tasks where tm <= mTiles {
            let tn = min((tasks + tm - 1) / tm, nPanels)
            let count = tm * tn
            let aTraffic = tn * m * k
            let bTraffic = max(tm, (m + mc - 1) / mc) * k * n
            let cost = aTraffic + bTraffic
            // Prefer using every thread; among full splits, the cheapest.
            if min(count, tasks) > bestCount || (min(count, tasks) == bestCount && cost < bestCost) {
                best = (tm, tn); bestCost = cost; bestCount = min(count, tasks)
            }
        }
        return best
    }

    /// One rectangle of C: rows `rows`, columns of B panels `panels`.
    func runTask(task: Int, rows: Range<Int>, panels: Range<Int>) {
        let (mr, nr) = (kernels.mr, kernels.nr)
        let (mcMax, kcMax) = (blocking.mc, blocking.kc)
        let ncPanels = blocking.nc / nr
        let actBits = epilogue.activation.cValue << UInt32(RE_FLAGS_ACTIVATION_SHIFT)
        let accumulateBit = UInt32(RE_FLAG_ACCUMULATE)
        let epilogueBit = UInt32(RE_FLAG_EPILOGUE)
        let owned: AlignedFloatBuffer? = packA && workspace == nil
            ? AlignedFloatBuffer(count: min(mcMax, (rows.count + mr - 1) / mr * mr) * min(kcMax, max(k, 1)))
            : nil
        defer { owned?.deallocate() }
        let scratch: UnsafeMutablePointer<Float>? = packA
            ? (workspace.map { $0 + task * GEMMWorkspace.floatsPerTask(blocking) } ?? owned?.pointer)
            : nil

        var jcPanel = panels.lowerBound
        while jcPanel < panels.upperBound {
            let jcEnd = min(jcPanel + ncPanels, panels.upperBound)
            var k0 = 0
            repeat {  // at least once: with K = 0 the epilogue still defines C
                let kc = min(kcMax, k - k0)
                let lastBlock = k0 + kc >= k
                var flags: UInt32 = (k0 > 0 || epilogue.accumulate) ? accumulateBit : 0
                if lastBlock { flags |= epilogueBit | actBits }
                var ic = rows.lowerBound
                while ic < rows.upperBound {
                    let mc = min(mcMax, rows.upperBound - ic)
                    let aBlock = a + ic * lda + k0
                    if let scratch { re_pack_a(mr, mc, kc, aBlock, lda, scratch) }
                    for panel in jcPanel..<jcEnd {
                        let j = panel * nr
                        let cols = min(nr, n - j)
                        let bPanel = packedB.panel(k0: k0, panel: panel)
                        let bias = lastBlock ? epilogue.bias.map { $0 + j } : nil
                        var ir = 0
                        while ir < mc {
                            let tileRows = min(mr, mc - ir)
                            let row = ic + ir
                            let residual = lastBlock ? epilogue.residual.map { $0 + row * residualStride + j } : nil
                            if let scratch {
                                kernels.packed(kc, scratch + ir * kc, bPanel, c + row * ldc + j, ldc,
                                               tileRows, cols, flags, bias, residual, residualStride)
                            } else {
                                kernels.rowA(kc, aBlock + ir * lda, lda, bPanel, c + row * ldc + j, ldc,
                                             tileRows, cols, flags, bias, residual, residualStride)
                            }
                            ir += mr
                        }
                    }
                    ic += mc
                }
                k0 += kcMax
            } while k0 < k
            jcPanel = jcEnd
        }
    }
}
