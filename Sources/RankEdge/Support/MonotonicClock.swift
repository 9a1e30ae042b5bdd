#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Nanoseconds of CLOCK_MONOTONIC: the thread pool's spin deadlines and every latency measurement.
public func monotonicNanoseconds() -> Int {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return time.tv_sec * 1_000_000_000 + time.tv_nsec
}
