import Foundation
import Testing
@testable import RankEdge

@Suite struct CPUCachesTests {
    @Test func parsesSysfsSizesAndCPULists() {
        #expect(CPUCaches.parseCacheSize("32K") == 32 << 10)
        #expect(CPUCaches.parseCacheSize("1M") == 1 << 20)
        #expect(CPUCaches.parseCacheSize("4096") == 4096)
        #expect(CPUCaches.parseCacheSize("") == nil)
        #expect(CPUCaches.parseCacheSize("abcK") == nil)
        #expect(CPUCaches.countCPUs("0-3,8,10-11") == 7)
        #expect(CPUCaches.countCPUs("0") == 1)
    }

    @Test func readsACacheDirectoryAndKeepsDefaultsForMissingLevels() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("rankedge-caches-\(UInt64.random(in: 0...UInt64.max))")
        defer { try? FileManager.default.removeItem(at: root) }
        func level(_ index: Int, _ level: Int, _ type: String, _ size: String, shared: String = "0") throws {
            let dir = root.appendingPathComponent("index\(index)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, value) in [("level", "\(level)"), ("type", type), ("size", size), ("shared_cpu_list", shared)] {
                try (value + "\n").write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
        }
        try level(0, 1, "Data", "48K")
        try level(1, 1, "Instruction", "32K")
        try level(2, 2, "Unified", "2048K")
        try level(3, 3, "Unified", "32768K", shared: "0-7")
        let caches = CPUCaches.detect(root: root.path)
        #expect(caches == CPUCaches(l1d: 48 << 10, l2: 2 << 20, l3PerCore: 4 << 20))
        #expect(CPUCaches.detect(root: root.path + "/missing") == CPUCaches(l1d: 32 << 10, l2: 256 << 10, l3PerCore: 1 << 20))
    }

    @Test func blockingIsAWholeNumberOfTilesAndFitsTheCaches() {
        for (mr, nr) in [(6, 16), (8, 12), (4, 4)] {
            for caches in [CPUCaches.defaults, CPUCaches(l1d: 32 << 10, l2: 512 << 10, l3PerCore: 16 << 20), CPUCaches(l1d: 1024, l2: 1024, l3PerCore: 1024)] {
                let b = GEMMBlocking.forKernel(mr: mr, nr: nr, caches: caches)
                #expect(b.mc % mr == 0 && b.mc >= mr)
                #expect(b.nc % nr == 0 && b.nc >= nr)
                #expect(b.kc >= 64 && b.kc <= 512)
            }
        }
        let zen = GEMMBlocking.forKernel(mr: 6, nr: 16, caches: CPUCaches(l1d: 32 << 10, l2: 512 << 10, l3PerCore: 16 << 20))
        #expect(zen.kc * 16 * 4 <= 16 << 10)  // B micro-panel in half of L1
        #expect(zen.mc * zen.kc * 4 <= 256 << 10)  // A block in half of L2
    }

    @Test func kBlocksAreBalanced() {
        // 576 = 3 × 192 rather than 256 + 256 + 64; depths that fit one block keep the maximum.
        #expect(GEMMBlocking.balancedKC(k: 576, maxKC: 256) == 192)
        #expect(GEMMBlocking.balancedKC(k: 1152, maxKC: 256) == 232)
        #expect(GEMMBlocking.balancedKC(k: 10007, maxKC: 256) == 252)
        #expect(GEMMBlocking.balancedKC(k: 2304, maxKC: 256) == 256)
        #expect(GEMMBlocking.balancedKC(k: 147, maxKC: 256) == 256)
        for k in [257, 300, 513, 4608, 10007] {
            let kc = GEMMBlocking.balancedKC(k: k, maxKC: 256)
            let blocks = (k + kc - 1) / kc
            #expect(kc <= 256 && blocks == (k + 255) / 256, "k=\(k) kc=\(kc)")
            #expect(k - (blocks - 1) * kc > kc / 2 || blocks == 1, "k=\(k): last block too shallow")
        }
    }
}
