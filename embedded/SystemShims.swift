// Compiled only into the Embedded Swift build of the runtime (tools/build_embedded.sh): what the
// Glibc overlay adds on top of the C headers in the normal build, so the runtime's files read the
// same in both builds.
import CRankEdgeSystem

/// The calling thread's `errno` (a macro in C; the Glibc overlay's Swift property in the normal build).
var errno: Int32 {
    get { re_system_errno() }
    set { re_system_set_errno(newValue) }
}

/// Synchronization's `Mutex` is not in Embedded Swift's standard library; the runtime's one use
/// (`ScratchBuffers`) gets the same `withLock` over a pthread mutex.
final class Mutex<Value>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    init(_ initialValue: Value) {
        value = initialValue
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// open(2) without and with a mode, as the Glibc overlay declares them (C's `open` is variadic).
func open(_ path: UnsafePointer<CChar>, _ flags: Int32) -> Int32 { re_system_open(path, flags, 0) }
func open(_ path: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t) -> Int32 { re_system_open(path, flags, mode) }

/// The file-type bits typed as `mode_t`, as the Glibc overlay declares them (C's macros import as Int32).
let S_IFMT = mode_t(CRankEdgeSystem.S_IFMT)
let S_IFDIR = mode_t(CRankEdgeSystem.S_IFDIR)

/// The default signal action, as the Glibc overlay declares it (C's SIG_DFL is a cast of 0).
var SIG_DFL: __sighandler_t? { nil }
