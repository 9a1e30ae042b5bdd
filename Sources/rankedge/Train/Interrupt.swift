import RankEdge
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let interruptRequested = Atomic<Bool>(false)

/// SIGINT during training: the first one asks the loop to finish its step, checkpoint and stop;
/// a second one ends the process at once, through the handler that first unlinks any temporary
/// file a write left open (`PendingTemporaryFiles`), so even then no partial file stays.
enum Interrupt {
    static func install() {
        signal(SIGINT) { _ in
            interruptRequested.store(true, ordering: .relaxed)
            signal(SIGINT, PendingTemporaryFiles.signalHandler)
        }
    }
    static var requested: Bool { interruptRequested.load(ordering: .relaxed) }
}
