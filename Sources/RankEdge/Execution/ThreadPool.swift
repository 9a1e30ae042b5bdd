import CRankEdgeKernels
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A persistent pool of worker threads for data-parallel loops (GEMM tiles, conv rows).
///
/// Workers are created once, on first need (or by `prepare(threads:)`), and live as long as the
/// pool. Between jobs they spin briefly (a network runs its layers back to back, so the next job
/// usually comes within microseconds) and then park on a condition variable. The calling thread
/// takes part in every job, so `threads: 2` uses one worker.
///
/// One job runs at a time. A call made while the pool is busy — from another thread, or from inside
/// a job's body — runs its loop serially on the calling thread instead of waiting, so nested or
/// concurrent use can never deadlock.
public final class ThreadPool: @unchecked Sendable {
    /// The pool GEMM and the runtime use unless given another.
    public static let shared = ThreadPool()

    /// How long an idle worker spins before parking, in nanoseconds.
    public let spinNanoseconds: Int

    // Published to workers by a release store of `state`; read by them only after an acquire load.
    private var body: ((Int) -> Void)?
    private var taskCount = 0

    /// (job generation << 8) | number of workers taking part; one word so a worker reads both at once.
    private let state = Atomic<Int>(0)
    private let nextTask = Atomic<Int>(0)
    /// Workers of the current job that have finished with it (the caller waits for all of them).
    private let workersDone = Atomic<Int>(0)

    // `lock` guards `sleepers`, `callerWaiting` and `stopping`; `jobLock` admits one job at a time
    // and guards `workers`.
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wakeWorkers = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let wakeCaller = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let jobLock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var sleepers = 0
    private var callerWaiting = false
    private var stopping = false
    private var workers: [pthread_t] = []

    private static let maxWorkers = 255  // the worker count must fit the low byte of `state`

    public init(spinMicroseconds: Int = 200) {
        spinNanoseconds = spinMicroseconds * 1000
        pthread_mutex_init(lock, nil)
        pthread_mutex_init(jobLock, nil)
        pthread_cond_init(wakeWorkers, nil)
        pthread_cond_init(wakeCaller, nil)
    }

    deinit {
        pthread_mutex_lock(lock)
        stopping = true
        pthread_cond_broadcast(wakeWorkers)
        pthread_mutex_unlock(lock)
        for thread in workers { pthread_join(thread, nil) }
        pthread_cond_destroy(wakeWorkers)
        pthread_cond_destroy(wakeCaller)
        pthread_mutex_destroy(lock)
        pthread_mutex_destroy(jobLock)
        lock.deallocate()
        jobLock.deallocate()
        wakeWorkers.deallocate()
        wakeCaller.deallocate()
    }

    /// Worker threads created so far (the caller is not counted).
    public var workerCount: Int {
        pthread_mutex_lock(jobLock)
        defer { pthread_mutex_unlock(jobLock) }
        return workers.count
    }

    /// Creates workers now so that jobs using up to `threads` threads do not pay for thread creation.
    public func prepare(threads: Int) {
        pthread_mutex_lock(jobLock)
        defer { pthread_mutex_unlock(jobLock) }
        ensureWorkers(threads - 1)
    }

    /// Runs `body(0..<count)` on up to `threads` threads (the caller included) and returns when every
    /// index is done. Indices are handed out dynamically, so uneven tasks or a busy core balance out.
    /// `body` must be safe to call concurrently for distinct indices.
    public func parallelFor(_ count: Int, threads: Int, _ body: (Int) -> Void) {
        let participants = min(threads, count, Self.maxWorkers + 1)
        guard participants > 1, pthread_mutex_trylock(jobLock) == 0 else {
            for index in 0..<max(count, 0) { body(index) }
            return
        }
        defer { pthread_mutex_unlock(jobLock) }
        ensureWorkers(participants - 1)
        let helpers = min(participants - 1, workers.count)
        guard helpers > 0 else {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            self.body = escapable
            taskCount = count
            nextTask.store(0, ordering: .relaxed)
            workersDone.store(0, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) >> 8) &+ 1
            state.store((generation << 8) | helpers, ordering: .releasing)
            pthread_mutex_lock(lock)
            if sleepers > 0 { pthread_cond_broadcast(wakeWorkers) }
            pthread_mutex_unlock(lock)

            runTasks()
            waitForWorkers(helpers)
            self.body = nil
        }
    }

    private func runTasks() {
        guard let body else { return }
        while true {
            let index = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if index >= taskCount { return }
            body(index)
        }
    }

    /// Spins, then parks, until `helpers` workers have left the job; only then may the job's state change.
    private func waitForWorkers(_ helpers: Int) {
        let deadline = monotonicNanoseconds() + spinNanoseconds
        var spins = 0
        while workersDone.load(ordering: .acquiring) < helpers {
            re_cpu_relax()
            spins += 1
            if spins & 63 == 0, monotonicNanoseconds() > deadline {
                pthread_mutex_lock(lock)
                callerWaiting = true
                while workersDone.load(ordering: .acquiring) < helpers { pthread_cond_wait(wakeCaller, lock) }
                callerWaiting = false
                pthread_mutex_unlock(lock)
                return
            }
        }
    }

    private func ensureWorkers(_ wanted: Int) {
        while workers.count < min(wanted, Self.maxWorkers) {
            let start = Unmanaged.passRetained(WorkerStart(pool: self, index: workers.count)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, start)
            guard status == 0 else {
                // Out of threads: run with the workers we have.
                Unmanaged<WorkerStart>.fromOpaque(start).release()
                return
            }
            workers.append(thread)
        }
    }

    fileprivate func workerLoop(index: Int) {
        var seenGeneration = 0
        while true {
            guard let word = waitForJob(after: seenGeneration) else { return }
            seenGeneration = word >> 8
            let helpers = word & 0xff
            guard index < helpers else { continue }
            runTasks()
            if workersDone.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == helpers {
                pthread_mutex_lock(lock)
                if callerWaiting { pthread_cond_signal(wakeCaller) }
                pthread_mutex_unlock(lock)
            }
        }
    }

    /// The next job's state word, or nil when the pool is shutting down.
    private func waitForJob(after generation: Int) -> Int? {
        let deadline = monotonicNanoseconds() + spinNanoseconds
        var spins = 0
        while true {
            let word = state.load(ordering: .acquiring)
            if word >> 8 != generation { return word }
            re_cpu_relax()
            spins += 1
            if spins & 63 == 0, monotonicNanoseconds() > deadline { break }
        }
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        sleepers += 1
        defer { sleepers -= 1 }
        while true {
            if stopping { return nil }
            let word = state.load(ordering: .acquiring)
            if word >> 8 != generation { return word }
            pthread_cond_wait(wakeWorkers, lock)
        }
    }
}

/// What a new worker thread needs; passed through pthread_create's context pointer.
private final class WorkerStart {
    // Unowned: the pool joins its workers in deinit, so it outlives them, and a strong reference
    // would keep every pool alive forever.
    unowned(unsafe) let pool: ThreadPool
    let index: Int
    init(pool: ThreadPool, index: Int) {
        self.pool = pool
        self.index = index
    }
}

func monotonicNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}
