import Synchronization
#if hasFeature(Embedded)
import CRankEdgeSystem  // no Glibc overlay in Embedded Swift: libc from its headers (embedded/)
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bit i: slot i is taken by a writer.
private let claimed = Atomic<UInt64>(0)
/// Bit i: slot i holds a whole path the signal handler may unlink.
private let live = Atomic<UInt64>(0)

/// The temporary files `FileIO.writeAtomically` has created and not yet renamed, kept where a
/// signal handler can reach them. A rename over the destination is atomic, so an interrupted write
/// never leaves a partial output, but the process dying between creating the temporary file and
/// renaming it would leave the `.NAME.tmp-*` file behind; `signalHandler` unlinks every one first.
///
/// A signal handler may only do async-signal-safe things: no allocation, no locks, no Swift
/// arrays. So the paths live in one fixed block of C strings allocated up front, and which slots
/// hold a path is one atomic bit mask the handler reads without waiting.
public enum PendingTemporaryFiles {
    static let slotCount = 64
    /// PATH_MAX on Linux; a longer path is written without a slot (and so not cleaned on a signal).
    static let pathCapacity = 4096

    nonisolated(unsafe) private static let paths: UnsafeMutablePointer<CChar> = {
        let p = UnsafeMutablePointer<CChar>.allocate(capacity: slotCount * pathCapacity)
        p.initialize(repeating: 0, count: slotCount * pathCapacity)
        return p
    }()

    /// Records `path` before the file is created (so no instant exists where the file is there and
    /// unrecorded); returns the slot to `remove` once renamed or unlinked, nil when every slot is taken.
    static func add(_ path: String) -> Int? {
        let utf8 = Array(path.utf8)
        guard utf8.count < pathCapacity, !utf8.contains(0) else { return nil }
        var slot = -1
        var current = claimed.load(ordering: .relaxed)
        while current != .max {
            let free = (~current).trailingZeroBitCount
            let (exchanged, original) = claimed.compareExchange(expected: current, desired: current | (1 << UInt64(free)),
                                                                ordering: .acquiringAndReleasing)
            if exchanged { slot = free; break }
            current = original
        }
        guard slot >= 0 else { return nil }
        let base = paths + slot * pathCapacity
        for (i, byte) in utf8.enumerated() { base[i] = CChar(bitPattern: byte) }
        base[utf8.count] = 0
        live.bitwiseOr(1 << UInt64(slot), ordering: .releasing)
        return slot
    }

    /// The file at `slot` is renamed or unlinked: the handler must no longer touch the name.
    static func remove(_ slot: Int?) {
        guard let slot else { return }
        live.bitwiseAnd(~(1 << UInt64(slot)), ordering: .releasing)
        claimed.bitwiseAnd(~(1 << UInt64(slot)), ordering: .releasing)
    }

    /// Paths recorded now (for tests).
    static var current: [String] {
        let mask = live.load(ordering: .acquiring)
        return (0..<slotCount).filter { mask & (1 << UInt64($0)) != 0 }.map { String(cString: paths + $0 * pathCapacity) }
    }

    /// Unlinks every recorded temporary file; async-signal-safe (atomic loads and unlink only).
    static func unlinkAll() {
        let mask = live.load(ordering: .acquiring)
        for slot in 0..<slotCount where mask & (1 << UInt64(slot)) != 0 { _ = unlink(paths + slot * pathCapacity) }
    }

    /// For SIGINT, SIGTERM, SIGHUP: unlink the pending temporary files, then die of the signal as
    /// if no handler were installed (the default action, so the exit status still says which signal).
    public static let signalHandler: @convention(c) (Int32) -> Void = { signo in
        PendingTemporaryFiles.unlinkAll()
        signal(signo, SIG_DFL)
        raise(signo)
    }

    /// Installs `signalHandler` for SIGINT, SIGTERM and SIGHUP. A program that writes files calls
    /// this once at start; the runtime itself installs no handler, since a library must not take
    /// over its host's signals.
    public static func cleanUpOnSignals() {
        // Touch the lazily initialised statics here, not first inside the handler.
        _ = paths
        _ = claimed.load(ordering: .relaxed)
        _ = live.load(ordering: .relaxed)
        for s in [SIGINT, SIGTERM, SIGHUP] { signal(s, signalHandler) }
    }
}
