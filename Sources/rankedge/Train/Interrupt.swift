import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

private let interruptRequested = Atomic<Bool>(false)

/// SIGINT during training: the first one asks the loop to finish its step, checkpoint and stop;
/// a second one (the default action again) ends the process at once.
enum Interrupt {
    static func install() {
        signal(SIGINT) { _ in
            interruptRequested.store(true, ordering: .relaxed)
            signal(SIGINT, SIG_DFL)
        }
    }
    static var requested: Bool { interruptRequested.load(ordering: .relaxed) }
}
