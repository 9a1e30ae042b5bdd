import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
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

    /// A worker that is slow inside its task (as one descheduled by the OS is) makes jobs stall;
    /// once the stalls waste a quarter of the window (5 of 20 ms: one or two 5 ms stalls) the next
    /// jobs run on the caller alone for the backoff period, then workers are tried again.
    /// Every index still runs exactly once.
    @Test func stalledJobsRunOnTheCallerAloneForAWhile() {
        let pool = ThreadPool(spinMicroseconds: 1000, stallMarginMicroseconds: 200, stallWindowMilliseconds: 20,
                              stallBackoffMilliseconds: 300)
        pool.prepare(threads: 2)
        let caller = pthread_self()
        let onWorker = Counter(), done = Counter()
        // Two tasks: the worker's takes 5 ms, the caller's 0.3 ms (long enough for the worker to
        // claim the other), so the caller waits.
        func job(slowWorker: Bool) {
            pool.parallelFor(2, threads: 2) { _ in
                if pthread_equal(pthread_self(), caller) == 0 {
                    onWorker.value.add(1)
                    if slowWorker { usleep(5000) }
                } else if slowWorker {
                    usleep(300)
                }
                done.value.add(1)
            }
        }
        var stalls = 0
        while pool.jobsRunAloneAfterStalls == 0, stalls < 50 {  // a worker slow to wake may miss a job
            job(slowWorker: true)
            stalls += 1
        }
        #expect(pool.jobsRunAloneAfterStalls == 1, "no period of caller-only jobs after \(stalls) stalled jobs")
        let workerTasks = onWorker.value.load(ordering: .relaxed)
        for _ in 0..<20 { job(slowWorker: false) }
        #expect(onWorker.value.load(ordering: .relaxed) == workerTasks, "a worker ran a task during the period")
        #expect(pool.jobsRunAloneAfterStalls == 21)
        usleep(400_000)  // past the period: the workers are used again
        var tries = 0
        while onWorker.value.load(ordering: .relaxed) == workerTasks, tries < 1000 {
            pool.parallelFor(64, threads: 2) { _ in
                if pthread_equal(pthread_self(), caller) == 0 { onWorker.value.add(1) }
                usleep(20)
                done.value.add(1)
            }
            tries += 1
        }
        #expect(onWorker.value.load(ordering: .relaxed) > workerTasks, "workers never used after the period")
        #expect(done.value.load(ordering: .relaxed) == 2 * stalls + 40 + 64 * tries)
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
