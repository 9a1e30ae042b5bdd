#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's peak resident set size in bytes (getrusage's ru_maxrss: kilobytes on Linux,
/// bytes on Darwin), or nil where the call fails. `bench` reports it beside the arena and weights.
func peakResidentBytes() -> Int? {
    var usage = rusage()
    #if canImport(Darwin)
    guard getrusage(RUSAGE_SELF, &usage) == 0 else { return nil }
    return Int(usage.ru_maxrss)
    #else
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
    return Int(usage.ru_maxrss) * 1024
    #endif
}
