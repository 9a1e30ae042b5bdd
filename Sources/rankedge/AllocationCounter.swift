#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Heap allocations counted by the malloc-counting shim (tools/malloc_count.c) when it is
/// preloaded (`LD_PRELOAD=malloc_count.so rankedge bench ...`); nil otherwise. `bench` reads it
/// around its timed loop to report allocations per inference.
func heapAllocationCount() -> UInt64? {
    guard let handle = dlopen(nil, RTLD_NOW) else { return nil }
    defer { dlclose(handle) }
    guard let symbol = dlsym(handle, "rankedge_malloc_count") else { return nil }
    let count = unsafeBitCast(symbol, to: (@convention(c) () -> UInt64).self)
    return count()
}
