import CRankEdgeKernels
import Synchronization
#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Work a `ThreadPool` runs without allocating: `run(task:)` is called once for every index of the
/// job, possibly on several threads at once (for distinct indices).
public protocol ParallelWork: AnyObject {
    func run(task: Int)
}

/// A persistent pool of worker threads for data-parallel loops (GEMM tiles, conv rows).
///
/// Workers are created once, on first need (or by `prepare(threads:)`), and live as long as the
/// pool. Between jobs they spin briefly (a network runs its layers back to back, so the next job
/// usually comes within microseconds) and then park on a condition variable. The calling thread
/// takes part in every job, so `threads: 2` uses one worker; a worker that wakes after the caller
/// has run out of tasks stays out, so a busy machine delays a job by at most the tasks in flight.
///
/// One job runs at a time. A call made while the pool is busy — from another thread, or from inside
/// a job's body — runs its loop serially on the calling thread instead of waiting, so nested or
/// concurrent use can never deadlock.
///
/// A worker the OS deschedules in the middle of a task (its core shared with another busy process)
/// holds the caller until it runs again, a scheduler slice of milliseconds, far longer than a
/// layer. The caller cannot take over a task another thread has started, so the pool watches for
/// it instead: a job whose caller waited for its workers longer than it ran its own share (plus
/// `stallMarginNanoseconds`) has stalled, and when stalls waste a quarter of the time (of
/// `stallWindowNanoseconds`) the pool runs the following jobs on the calling thread alone for a
/// while, as one thread would (a stall now and then, such as a hypervisor taking a vCPU for a
/// moment, costs less than that period would). The while is `stallBackoffNanoseconds`,
/// doubled (up to 64 times) when the workers stall again soon after being tried again, so a core
/// that stays busy costs a few stalls per long period. On idle cores jobs do not stall, and nothing
/// changes.
public final class ThreadPool: @unchecked Sendable {
    /// The pool GEMM and the runtime use unless given another.
    public static let shared = ThreadPool()

    /// How long an idle worker spins before parking, in nanoseconds.
    public let spinNanoseconds: Int

    // Published to workers by the release store that opens a job; read by a worker only after it
    // has entered the job (an acquiring compare-and-swap on `job`).
    private var body: ((Int) -> Void)?
    /// The job's work object when it came through `parallelFor(_:threads:work:)`.
    private var work: ParallelWork?
    private var taskCount = 0
    private let nextTask = Atomic<Int>(0)

    /// The job word: generation (bits 24…), open flag (bit 23), helpers allowed (bits 12–22),
    /// helpers inside (bits 0–11). Workers enter by incrementing "inside" while the job is open and
    /// not full; the caller closes the job once it has run out of tasks and then waits only for the
    /// workers inside. A worker that wakes late finds the job closed and goes back to waiting, so
    /// a descheduled worker never holds up a job it took no part in.
    private let job = Atomic<Int>(0)
    private static let openBit = 1 << 23
    private static let insideMask = (1 << 12) - 1
    private static func generation(_ word: Int) -> Int { word >> 24 }
    private static func allowed(_ word: Int) -> Int { (word >> 12) & 0x7ff }

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
    /// Cores set by `pin(cores:)`: worker i runs on `pinnedCores[(i + 1) % count]` (the caller on
    /// the first); empty: the OS places every thread.
    private var pinnedCores: [Int] = []

    private static let maxWorkers = 1000  // must fit the 11-bit "allowed" field of `job`

    /// How much longer than its own share the caller may wait for workers before the job counts as
    /// stalled: above a parked worker's wake-up and a task's length, below a scheduler slice.
    public let stallMarginNanoseconds: Int
    /// The first period of calling-thread-only jobs after stalls.
    public let stallBackoffNanoseconds: Int
    // Guarded by `jobLock` (only the job's caller touches them).
    private var soloUntil = 0  // monotonic ns before which jobs run on the caller alone (0: none)
    private var trialStarted = 0  // when the workers were last tried again after a period (0: never)
    private var backoff: Int
    private var soloJobs = 0
    private var stalls = 0
    private var windowStart = 0  // monotonic ns where the current window of stalls began
    private var wasted = 0  // ns the caller waited in stalled jobs of the current window
    /// Stalls wasting a quarter of a window this long start a period on one thread.
    public let stallWindowNanoseconds: Int

    /// Jobs run on the calling thread alone because recent ones stalled (see the type's comment).
    public var jobsRunAloneAfterStalls: Int {
        pthread_mutex_lock(jobLock)
        defer { pthread_mutex_unlock(jobLock) }
        return soloJobs
    }

    /// Jobs whose caller waited for a slow worker (see the type's comment).
    public var stalledJobs: Int {
        pthread_mutex_lock(jobLock)
        defer { pthread_mutex_unlock(jobLock) }
        return stalls
    }

    /// Whether workers are held to cores of their own when no cores were given (`ensureWorkers`).
    public let placesWorkers: Bool

    public init(spinMicroseconds: Int = 100, stallMarginMicroseconds: Int = 200, stallWindowMilliseconds: Int = 100,
                stallBackoffMilliseconds: Int = 20, placesWorkers: Bool = true) {
        self.placesWorkers = placesWorkers
        spinNanoseconds = spinMicroseconds * 1000
        stallMarginNanoseconds = stallMarginMicroseconds * 1000
        stallBackoffNanoseconds = stallBackoffMilliseconds * 1_000_000
        stallWindowNanoseconds = stallWindowMilliseconds * 1_000_000
        backoff = stallBackoffMilliseconds * 1_000_000
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
        guard helpers > 0, !runsAlone() else {
            for index in 0..<count { body(index) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            self.body = escapable
            runJob(count: count, helpers: helpers)
            self.body = nil
        }
    }

    /// `parallelFor` for a work object instead of a closure: it allocates nothing, where handing a
    /// non-escaping closure to other threads costs a small heap box per call. The runtime's steps,
    /// which must not allocate during an inference, use this form.
    public func parallelFor(_ count: Int, threads: Int, work: ParallelWork) {
        let participants = min(threads, count, Self.maxWorkers + 1)
        guard participants > 1, pthread_mutex_trylock(jobLock) == 0 else {
            for index in 0..<max(count, 0) { work.run(task: index) }
            return
        }
        defer { pthread_mutex_unlock(jobLock) }
        ensureWorkers(participants - 1)
        let helpers = min(participants - 1, workers.count)
        guard helpers > 0, !runsAlone() else {
            for index in 0..<count { work.run(task: index) }
            return
        }
        self.work = work
        runJob(count: count, helpers: helpers)
        self.work = nil
    }

    /// Publishes the job set up in `body` or `work`, takes part in it, and waits until it is done.
    private func runJob(count: Int, helpers: Int) {
        taskCount = count
        nextTask.store(0, ordering: .relaxed)
        let generation = Self.generation(job.load(ordering: .relaxed)) &+ 1
        job.store((generation << 24) | Self.openBit | (helpers << 12), ordering: .releasing)
        pthread_mutex_lock(lock)
        if sleepers > 0 { pthread_cond_broadcast(wakeWorkers) }
        pthread_mutex_unlock(lock)

        let started = monotonicNanoseconds()
        runTasks()
        let ran = monotonicNanoseconds()
        // Close the job: no worker may enter from now on; wait for those inside to finish.
        let inside = job.bitwiseAnd(~Self.openBit, ordering: .acquiringAndReleasing).oldValue & Self.insideMask
        var waited = 0
        if inside > 0 {
            waitForWorkersInside()
            waited = monotonicNanoseconds() - ran
        }
        noteJob(stalled: waited > ran - started + stallMarginNanoseconds, waited: waited, at: ran + waited)
    }

    /// Whether this job runs on the caller alone, after recent stalls. Called with `jobLock` held.
    private func runsAlone() -> Bool {
        guard soloUntil != 0 else { return false }
        let now = monotonicNanoseconds()
        if now < soloUntil {
            soloJobs += 1
            return true
        }
        soloUntil = 0  // the period is over: the workers are tried again
        trialStarted = now
        return false
    }

    /// Starts a calling-thread-only period when stalls waste a quarter of the time
    /// (`stallWindowNanoseconds` of it within one window). Called with `jobLock` held.
    private func noteJob(stalled: Bool, waited: Int, at now: Int) {
        guard stalled else { return }
        stalls += 1
        // Stalls now and then (a hypervisor taking a vCPU for a moment) cost less than a period on
        // one thread would; a core that stays busy makes them waste much of the time.
        if now - windowStart > stallWindowNanoseconds {
            windowStart = now - waited
            wasted = 0
        }
        wasted += waited
        guard wasted * 4 > stallWindowNanoseconds else { return }
        windowStart = 0
        wasted = 0
        // Stalling again soon after the workers were tried again: the load is still there.
        if trialStarted != 0, now - trialStarted < 4 * backoff {
            backoff = min(backoff * 2, stallBackoffNanoseconds * 64)
        } else {
            backoff = stallBackoffNanoseconds
        }
        soloUntil = now + backoff
    }

    private func runTasks() {
        if let work {
            while true {
                let index = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
                if index >= taskCount { return }
                work.run(task: index)
            }
        }
        guard let body else { return }
        while true {
            let index = nextTask.wrappingAdd(1, ordering: .relaxed).oldValue
            if index >= taskCount { return }
            body(index)
        }
    }

    /// Spins, then parks, until no worker is inside the (closed) job.
    private func waitForWorkersInside() {
        let deadline = monotonicNanoseconds() + spinNanoseconds
        var spins = 0
        while job.load(ordering: .acquiring) & Self.insideMask != 0 {
            re_cpu_relax()
            spins += 1
            if spins & 63 == 0, monotonicNanoseconds() > deadline {
                pthread_mutex_lock(lock)
                callerWaiting = true
                while job.load(ordering: .acquiring) & Self.insideMask != 0 { pthread_cond_wait(wakeCaller, lock) }
                callerWaiting = false
                pthread_mutex_unlock(lock)
                return
            }
        }
    }

    private func ensureWorkers(_ wanted: Int) {
        while workers.count < min(wanted, Self.maxWorkers) {
            let start = Unmanaged.passRetained(WorkerStart(pool: self)).toOpaque()
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let start = Unmanaged<WorkerStart>.fromOpaque(raw!).takeRetainedValue()
                start.pool.workerLoop()
                return nil
            }, start)
            guard status == 0 else {
                // Out of threads: run with the workers we have.
                Unmanaged<WorkerStart>.fromOpaque(start).release()
                return
            }
            workers.append(thread)
            if !pinnedCores.isEmpty {
                _ = re_pin_thread(&thread, Int32(pinnedCores[workers.count % pinnedCores.count]))
            } else if placesWorkers, let core = Self.defaultCore(worker: workers.count, of: wanted) {
                _ = re_pin_thread(&thread, Int32(core))
            }
        }
    }

    /// The core for worker `worker` (1-based) of `count` when none were given: the allowed cores
    /// after the caller's, one worker each, or nil when they are too few for a core per thread
    /// (the OS then places every thread). A worker left free to move can be put on the caller's
    /// core when another process keeps its own busy, and the two then take turns on one core with
    /// nothing for the pool to notice; held to its core, it is descheduled mid-piece instead,
    /// which the stall guard sees (the type's comment).
    private static func defaultCore(worker: Int, of count: Int) -> Int? {
        var set = re_core_set()
        guard re_current_thread_cores(&set) == 0 else { return nil }
        let allowed = (0..<Int(re_online_cores())).filter { re_core_set_has(&set, Int32($0)) != 0 }
        guard allowed.count > count, let here = allowed.firstIndex(of: Int(re_current_core())) else { return nil }
        return allowed[(here + worker) % allowed.count]
    }

    /// Runs the calling thread on `cores[0]` and the workers on the others in turn (worker i on
    /// `cores[(i + 1) % cores.count]`), now and for workers made later. For boards whose cores are
    /// not alike: the jobs' tasks are claimed as threads finish, so a slower core takes fewer of
    /// them, and `CoreSpeed.measure(cores:)` tells which cores are worth using. An empty list
    /// returns workers made from then on to the default placement (`placesWorkers`).
    public func pin(cores: [Int]) throws(CoreAffinityError) {
        let online = Int(re_online_cores())
        for core in cores where !(0..<online).contains(core) { throw .noSuchCore(core, online: online) }
        pthread_mutex_lock(jobLock)
        defer { pthread_mutex_unlock(jobLock) }
        pinnedCores = cores
        guard let first = cores.first else { return }
        let status = re_pin_current_thread(Int32(first))
        if status != 0 { throw .cannotPin(core: first, reason: String(cString: strerror(status))) }
        for i in workers.indices {
            let core = cores[(i + 1) % cores.count]
            let status = re_pin_thread(&workers[i], Int32(core))
            if status != 0 { throw .cannotPin(core: core, reason: String(cString: strerror(status))) }
        }
    }

    fileprivate func workerLoop() {
        var seenGeneration = 0
        while true {
            guard var word = waitForJob(after: seenGeneration) else { return }
            let generation = Self.generation(word)
            seenGeneration = generation
            // Enter if the job is still open and has room.
            var entered = false
            while Self.generation(word) == generation, word & Self.openBit != 0,
                  word & Self.insideMask < Self.allowed(word) {
                let (exchanged, current) = job.compareExchange(expected: word, desired: word + 1,
                                                               ordering: .acquiringAndReleasing)
                if exchanged { entered = true; break }
                word = current
            }
            guard entered else { continue }
            runTasks()
            let left = job.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue
            if left & Self.insideMask == 0, left & Self.openBit == 0 {
                pthread_mutex_lock(lock)
                if callerWaiting { pthread_cond_signal(wakeCaller) }
                pthread_mutex_unlock(lock)
            }
        }
    }

    /// The job word of the next job, or nil when the pool is shutting down.
    private func waitForJob(after generation: Int) -> Int? {
        let deadline = monotonicNanoseconds() + spinNanoseconds
        var spins = 0
        while true {
            let word = job.load(ordering: .acquiring)
            if Self.generation(word) != generation { return word }
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
            let word = job.load(ordering: .acquiring)
            if Self.generation(word) != generation { return word }
            pthread_cond_wait(wakeWorkers, lock)
        }
    }
}

/// What a new worker thread needs; passed through pthread_create's context pointer.
private final class WorkerStart {
    // Unowned: the pool joins its workers in deinit, so it outlives them, and a strong reference
    // would keep every pool alive forever.
    unowned(unsafe) let pool: ThreadPool
    init(pool: ThreadPool) { self.pool = pool }
}

