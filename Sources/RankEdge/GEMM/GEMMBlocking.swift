/// Cache blocking of the five GEMM loops (BLIS naming): a kc × NR micro-panel of B stays in L1 while
/// the micro-kernel sweeps the mc × kc block of A held in L2; a kc × nc block of B lives in L3.
public struct GEMMBlocking: Sendable, Equatable {
    /// Rows of A per packed block (a multiple of MR).
    public var mc: Int
    /// Depth of one K block.
    public var kc: Int
    /// Columns of B per outer block (a multiple of NR).
    public var nc: Int

    public init(mc: Int, kc: Int, nc: Int) {
        self.mc = mc
        self.kc = kc
        self.nc = nc
    }

    /// Blocking for an MR × NR kernel on caches `caches`:
    /// - kc: the B micro-panel (kc·NR floats) takes half of L1, the rest is for A's micro-panel and C;
    /// - mc: the A block (mc·kc floats) takes half of L2, leaving room for B panels passing through;
    /// - nc: the B block (kc·nc floats) takes half of this core's L3 share.
    public static func forKernel(mr: Int, nr: Int, caches: CPUCaches = .current) -> GEMMBlocking {
        let floatBytes = MemoryLayout<Float>.size
        var kc = caches.l1d / 2 / (nr * floatBytes)
        kc = min(max(kc / 8 * 8, 64), 512)
        var mc = caches.l2 / 2 / (kc * floatBytes)
        mc = min(max(mc / mr * mr, mr), 1024 / mr * mr)
        var nc = caches.l3PerCore / 2 / (kc * floatBytes)
        nc = min(max(nc / nr * nr, nr), 4096 / nr * nr)
        return GEMMBlocking(mc: mc, kc: kc, nc: nc)
    }

    /// The depth of K blocks cutting K into near-equal blocks of at most `maxKC`: 576 becomes
    /// 3 × 192 rather than 256 + 256 + 64, so no block is too shallow to pay for loading and storing
    /// its C tiles. Rounded up to a multiple of 4 (the kernels' unrolling) while the last block
    /// stays over half deep. K that fits one block keeps `maxKC`.
    public static func balancedKC(k: Int, maxKC: Int) -> Int {
        guard k > maxKC, maxKC >= 4 else { return maxKC }
        let blocks = (k + maxKC - 1) / maxKC
        let even = (k + blocks - 1) / blocks
        let rounded = min(maxKC, (even + 3) / 4 * 4)
        return k - (blocks - 1) * rounded > rounded / 2 ? rounded : even
    }
}
