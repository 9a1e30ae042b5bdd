import Synchronization
import Testing
@testable import RankEdge

@Suite struct ThreadPoolTests {
    @Test(arguments: [1, 2, 3, 8])
    func everyIndexRunsExactlyOnce(threads: Int) {
        let pool = ThreadPool(spinMicroseconds: 10)
        let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 1000)
        for i in 0..<1000 { (counts + i).initialize(to: Atomic(0)) }
        defer { counts.deallocate() }
        // Repeated jobs: workers park and wake between them (10 µs of spinning is soon over).
        for round in 0..<20 {
            let count = [0, 1, 2, 7, 1000][round % 5]
            pool.parallelFor(count, threads: threads) { i in _ = counts[i].wrappingAdd(1, ordering: .relaxed) }
        }
        // Each count in the cycle runs 4 times; index i is in every job with count > i.
        for i in 0..<1000 {
            let jobs = [0, 1, 2, 7, 1000].filter { $0 > i }.count * 4
            #expect(counts[i].load(ordering: .relaxed) == jobs, "index \(i)")
        }
        #expect(pool.workerCount == threads - 1)
    }

    @Test func nestedAndConcurrentJobsRunSeriallyInsteadOfDeadlocking() async {
        let pool = ThreadPool()
        let counter = Counter()
        // Nested: the inner parallelFor finds the pool busy and runs on the calling thread.
        pool.parallelFor(4, threads: 2) { _ in
            pool.parallelFor(5, threads: 2) { _ in counter.value.add(1) }
        }
        #expect(counter.value.load(ordering: .relaxed) == 20)
        // Concurrent callers: one gets the workers, the others run serially; all finish.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask { pool.parallelFor(100, threads: 2) { _ in counter.value.add(1) } }
            }
        }
        #expect(counter.value.load(ordering: .relaxed) == 420)
    }

    /// Workers that never spin park after every job and often wake after the caller has finished
    /// and closed it; they must stay out of it (the caller would otherwise be running a stale body
    /// or waiting on them) and still take part in later jobs.
    @Test func workersWakingLateNeitherRunStaleJobsNorBlockTheCaller() {
        let pool = ThreadPool(spinMicroseconds: 0)
        let counter = Counter()
        for job in 0..<3000 {
            let tasks = 1 + job % 4
            pool.parallelFor(tasks, threads: 3) { _ in counter.value.add(1) }
        }
        #expect(counter.value.load(ordering: .relaxed) == (0..<3000).reduce(0) { $0 + 1 + $1 % 4 })
    }

    @Test func prepareCreatesWorkersOnce() {
        let pool = ThreadPool()
        pool.prepare(threads: 3)
        #expect(pool.workerCount == 2)
        pool.prepare(threads: 2)
        #expect(pool.workerCount == 2)
    }
}

final class Counter: Sendable {
    let value = Atomic<Int>(0)
}

extension Atomic where Value == Int {
    func add(_ value: Int) { _ = wrappingAdd(value, ordering: .relaxed) }
}
