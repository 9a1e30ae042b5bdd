import Synchronization

extension StepContext {
    /// Runs `body` over `0..<count` in contiguous chunks on up to `threads` threads; serially when
    /// `work` (any measure of the loop's cost, e.g. elements touched) is too small to share.
    func parallelChunks(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
        let useful = work >= 1 << 15 ? min(threads, count) : 1
        guard useful > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        // A few chunks per thread, so a thread slowed by another process does not hold the rest up.
        let chunks = min(count, useful * 4)
        pool.parallelFor(chunks, threads: useful) { i in
            let lower = count * i / chunks, upper = count * (i + 1) / chunks
            if lower < upper { body(lower..<upper) }
        }
    }

    /// Calls `body(slot, item)` for every item of `0..<count`. Each slot runs on one thread and takes
    /// items one at a time, so a slot can own scratch space (its index is below `threads`).
    func parallelSlots(_ count: Int, _ body: (_ slot: Int, _ item: Int) -> Void) {
        let slots = min(threads, count)
        guard slots > 1 else {
            for i in 0..<count { body(0, i) }
            return
        }
        let next = Atomic<Int>(0)
        pool.parallelFor(slots, threads: slots) { slot in
            while true {
                let item = next.wrappingAdd(1, ordering: .relaxed).oldValue
                if item >= count { return }
                body(slot, item)
            }
        }
    }
}
