import CRankEdgeKernels
#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why threads could not be placed on the cores asked for.
public enum CoreAffinityError: Error, Equatable, CustomStringConvertible {
    case noSuchCore(Int, online: Int)
    case cannotPin(core: Int, reason: String)
    case noCores
    case measurement(String)

    public var description: String {
        switch self {
        case let .noSuchCore(core, online): "core \(core) does not exist: this machine has cores 0–\(online - 1) online"
        case let .cannotPin(core, reason): "cannot run a thread on core \(core): \(reason)"
        case .noCores: "no cores given"
        case let .measurement(message): "cannot measure core speed: \(message)"
        }
    }
}

/// How fast each core runs the runtime's own work, measured rather than assumed: on a big.LITTLE
/// board the little cores may do a third of the work of the big ones, and on a shared host a core
/// may be busy with another process. Each core in turn runs the calling thread pinned to it through
/// the same one-thread GEMM the conv steps use (96 × 96 × 96, batches of 8 calls, median of 9
/// batches), and speeds are given relative to the fastest core (1.0).
public enum CoreSpeed {
    public struct Reading: Sendable, Equatable {
        public var core: Int
        /// Median microseconds of one 96³ GEMM on this core.
        public var microseconds: Double
        /// Work per second relative to the fastest core measured (1 for it).
        public var relative: Double
    }

    public static func measure(cores: [Int], isa: GEMMISA? = nil) throws(CoreAffinityError) -> [Reading] {
        guard !cores.isEmpty else { throw .noCores }
        let online = Int(re_online_cores())
        for core in cores where !(0..<online).contains(core) { throw .noSuchCore(core, online: online) }
        var saved = re_core_set()
        let readable = re_current_thread_cores(&saved) == 0
        defer { if readable { _ = re_set_current_thread_cores(&saved) } }

        let n = 96
        var rng = SeededRandom(seed: 5)
        let a = rng.uniformArray(count: n * n, bound: 1), b = rng.uniformArray(count: n * n, bound: 1)
        var c = [Float](repeating: 0, count: n * n)
        func multiply() throws(GEMMError) {
            try a.withUnsafeBufferPointer { (a) throws(GEMMError) in
                try b.withUnsafeBufferPointer { (b) throws(GEMMError) in
                    try c.withUnsafeMutableBufferPointer { (c) throws(GEMMError) in
                        try gemm(m: n, n: n, k: n, a: a.baseAddress!, lda: n, b: b.baseAddress!, ldb: n,
                                 c: c.baseAddress!, ldc: n, isa: isa)
                    }
                }
            }
        }
        do { try multiply() } catch { throw .measurement("\(error)") }
        var times: [Double] = []
        for core in cores {
            let status = re_pin_current_thread(Int32(core))
            if status != 0 { throw .cannotPin(core: core, reason: String(cString: strerror(status))) }
            var batches: [Double] = []
            for batch in 0..<10 {
                let start = monotonicNanoseconds()
                // The call above succeeded with the same arguments, so these cannot fail.
                for _ in 0..<8 { try? multiply() }
                // The first batch moves the thread and warms its caches: not counted.
                if batch > 0 { batches.append(Double(monotonicNanoseconds() - start) / 8e3) }
            }
            batches.sort()
            times.append(batches[batches.count / 2])
        }
        let fastest = times.min()!
        return zip(cores, times).map { Reading(core: $0, microseconds: $1, relative: fastest / $1) }
    }
}
