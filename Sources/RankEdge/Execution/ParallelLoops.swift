import Synchronization

/// How a step shares its loop between threads without allocating: the step is the pool's
/// `ParallelWork` object and picks its share in `run(task:)` from the split below.
struct ChunkSplit {
    let count: Int
    let chunks: Int

    /// A few chunks per thread, so a thread slowed by another process does not hold the rest up;
    /// one chunk (run inline) when `work` (any measure of the loop's cost) is too small to share.
    init(count: Int, work: Int, threads: Int) {
        self.count = count
        let useful = work >= 1 << 15 ? min(threads, count) : 1
        chunks = useful > 1 ? min(count, useful * 4) : (count > 0 ? 1 : 0)
    }

    func range(_ chunk: Int) -> Range<Int> { (count * chunk / chunks)..<(count * (chunk + 1) / chunks) }
}

/// Below this many multiply-adds a step takes a few µs on one core and runs on the calling thread:
/// handing it over would cost more than sharing saves. (256 K kept the 150 K-MAC 1×1 convs of the
/// low-rank ResNets on one thread; at 128 K they share, docs/BENCHMARKS.md table 0.)
let minimumSharedMACs = 1 << 17

extension StepContext {
    /// Runs `work.run(task:)` for tasks 0..<tasks, on the calling thread alone when tasks ≤ 1.
    func run(_ work: ParallelWork, tasks: Int) {
        if tasks == 1 { work.run(task: 0); return }
        pool.parallelFor(tasks, threads: threads, work: work)
    }
}

/// Hands items out one at a time to the slots (threads) of a job, so each slot can own scratch.
final class ItemCounter: @unchecked Sendable {
    private let next = Atomic<Int>(0)
    func reset() { next.store(0, ordering: .relaxed) }
    /// The next unclaimed item below `count`, or nil when all are claimed.
    func claim(below count: Int) -> Int? {
        let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
        return item < count ? item : nil
    }
}

/// What every tiled step keeps between its slots: the units they claim, and whether a slot's GEMM
/// rejected its arguments (a slot cannot throw, so it records the failure and the step throws).
final class SlotUnits: @unchecked Sendable {
    private let counter = ItemCounter()
    private let failed = Atomic<Bool>(false)

    /// Runs `work.run(task:)` on `slots` slots, each claiming units with `claim(below:)` until none
    /// are left; throws for `node` when a slot called `fail()`.
    func run(_ work: ParallelWork, slots: Int, context: StepContext, node: String) throws(ExecutionError) {
        counter.reset()
        failed.store(false, ordering: .relaxed)
        context.run(work, tasks: slots)
        if failed.load(ordering: .relaxed) { throw .kernelFailed(node: node, message: "the GEMM rejected its arguments") }
    }

    func claim(below count: Int) -> Int? { counter.claim(below: count) }
    func fail() { failed.store(true, ordering: .relaxed) }
}
