import Dispatch
import Synchronization
import COpenBLAS

/// Data-parallel loops for the trainer. Work is cut into a fixed number of parts that does not
/// depend on the thread count, and partial results are reduced in part order, so a run gives
/// bit-identical results with any `--threads` (and on resume).
public enum Parallel {
    private static let threadSetting = Atomic<Int>(2)

    /// Parts a batch is cut into for convolution, pooling and normalisation work.
    public static let parts = 4

    public static var threads: Int { threadSetting.load(ordering: .relaxed) }

    /// Sets how many threads the trainer uses; OpenBLAS runs single-threaded inside each part.
    public static func setThreads(_ n: Int) {
        threadSetting.store(max(1, n), ordering: .relaxed)
        openblas_set_num_threads(1)
    }

    /// OpenBLAS must not start its own threads inside our parallel parts (oversubscription, and
    /// concurrent calls into a multi-threaded OpenBLAS are not safe): pin it to one thread on first use.
    static let singleThreadedBLAS: Void = openblas_set_num_threads(1)

    /// Runs `body(i)` for i in 0..<count, concurrently when more than one thread is allowed.
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        _ = singleThreadedBLAS
        if count <= 1 || threads <= 1 {
            for i in 0..<count { body(i) }
        } else {
            withoutActuallyEscaping(body) { b in
                let box = UnsafeSendableClosure(b)
                DispatchQueue.concurrentPerform(iterations: count) { box.f($0) }
            }
        }
    }

    /// The half-open range of part `p` when `total` items are cut into `parts` parts.
    @inline(__always)
    public static func range(part p: Int, of parts: Int, total: Int) -> Range<Int> {
        (total * p / parts)..<(total * (p + 1) / parts)
    }

    /// Splits `total` items into `parts` contiguous ranges and runs them concurrently.
    public static func forRanges(total: Int, parts: Int = Parallel.parts, _ body: (Int, Range<Int>) -> Void) {
        let n = max(1, min(parts, total))
        forEach(n) { p in body(p, range(part: p, of: n, total: total)) }
    }
}

private struct UnsafeSendableClosure: @unchecked Sendable {
    let f: (Int) -> Void
    init(_ f: @escaping (Int) -> Void) { self.f = f }
}

