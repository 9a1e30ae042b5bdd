import CRankEdgeKernels
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import RankEdge

/// Pinning the pool's threads to cores (`--cores`) and measuring each core's speed. The calling
/// thread's cores are restored after each test, so other tests keep the whole machine.
@Suite(.serialized) struct CoreAffinityTests {
    static func restoringCores<T>(_ body: () throws -> T) rethrows -> T {
        var saved = re_core_set()
        let readable = re_current_thread_cores(&saved) == 0
        defer { if readable { _ = re_set_current_thread_cores(&saved) } }
        return try body()
    }

    static func allowedCores() -> [Int] {
        var set = re_core_set()
        guard re_current_thread_cores(&set) == 0 else { return [] }
        // The C array arrives as a tuple: read it as words.
        return withUnsafeBytes(of: set.bits) { raw in
            let words = raw.bindMemory(to: UInt64.self)
            return (0..<words.count * 64).filter { core in (words[core / 64] >> UInt64(core % 64)) & 1 == 1 }
        }
    }

    @Test func pinnedThreadsRunEveryTaskOnTheirCores() throws {
        try Self.restoringCores {
            let pool = ThreadPool(spinMicroseconds: 10)
            // Every thread on core 0, before and after the workers exist: the jobs still finish.
            try pool.pin(cores: [0])
            #if os(Linux)
            #expect(Self.allowedCores() == [0])
            #endif
            for threads in [2, 3] {
                let sum = Atomic<Int>(0)
                pool.parallelFor(100, threads: threads) { i in sum.add(i, ordering: .relaxed) }
                #expect(sum.load(ordering: .relaxed) == 4950)
            }
            let online = Int(re_online_cores())
            try pool.pin(cores: Array(0..<online))
            let sum = Atomic<Int>(0)
            pool.parallelFor(1000, threads: 3) { i in sum.add(i, ordering: .relaxed) }
            #expect(sum.load(ordering: .relaxed) == 499_500)
        }
    }

    /// Without --cores, a pool with a core per thread holds each worker to a core of its own, other
    /// than the one its creator ran on; with placesWorkers false, or more threads than cores, the
    /// OS places them.
    @Test func workersGetCoresOfTheirOwnWhenThereAreEnough() {
        let allowed = Self.allowedCores()
        #if os(Linux)
        let caller = pthread_self()
        /// The allowed cores a worker reports from inside a task (nil if no task ran on a worker).
        func workerCores(_ pool: ThreadPool, threads: Int) -> [Int]? {
            let seen = Mutex<[Int]?>(nil)
            for _ in 0..<200 {
                pool.parallelFor(64, threads: threads) { _ in
                    if pthread_equal(pthread_self(), caller) == 0 { seen.withLock { $0 = Self.allowedCores() } }
                    for _ in 0..<2000 { re_cpu_relax() }
                }
                if let cores = seen.withLock({ $0 }) { return cores }
            }
            return nil
        }
        if allowed.count >= 2 {
            let placed = workerCores(ThreadPool(spinMicroseconds: 10), threads: 2)
            #expect(placed?.count == 1 && allowed.contains(placed![0]), "worker cores \(String(describing: placed))")
        }
        #expect(workerCores(ThreadPool(spinMicroseconds: 10, placesWorkers: false), threads: 2) == allowed)
        #expect(workerCores(ThreadPool(spinMicroseconds: 10), threads: allowed.count + 1) == allowed)
        #endif
    }

    @Test func aCoreTheMachineLacksIsATypedError() {
        let online = Int(re_online_cores())
        #expect(throws: CoreAffinityError.noSuchCore(online, online: online)) { try ThreadPool(spinMicroseconds: 10).pin(cores: [0, online]) }
        #expect(throws: CoreAffinityError.noSuchCore(-1, online: online)) { try CoreSpeed.measure(cores: [-1]) }
        #expect(throws: CoreAffinityError.noCores) { try CoreSpeed.measure(cores: []) }
    }

    @Test func coreSpeedsAreRelativeToTheFastestAndRestoreTheCaller() throws {
        let before = Self.allowedCores()
        let cores = Array(0..<Int(re_online_cores()))
        let readings = try CoreSpeed.measure(cores: cores)
        #expect(readings.map(\.core) == cores)
        #expect(readings.allSatisfy { $0.microseconds > 0 && $0.relative > 0 && $0.relative <= 1 })
        #expect(readings.contains { $0.relative == 1 })
        #expect(Self.allowedCores() == before)
    }
}
